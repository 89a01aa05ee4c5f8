#!/usr/bin/env bash
# Sampler quality (Branin, Hartmann-6, noisy quadratic; 20 seeds; median best after 25/50/100 trials) and TPE speed at
# 1,000 stored trials (sampler alone, and through the SQLite study database): Hybrid and Optuna 3.1 (Debian's python3-optuna) in the same run. Not part of CI.
# Run from the repository root: bash bench/search/run.sh
set -euo pipefail
# SPEED_ONLY=1 skips the quality runs; SEEDS, SEED0 and ONLY (a function) narrow them.
if ! /usr/bin/python3 -c "import optuna" 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y python3-optuna >/dev/null; else echo "bench/search: python3-optuna missing (apt-get install python3-optuna as root)"; exit 1; fi
fi
dotnet build src/Core/Core.fsproj -c Release -nologo -v q >/dev/null
/usr/bin/python3 -c "import optuna; print('optuna', optuna.__version__)"
dotnet fsi --optimize+ bench/search/bench.fsx
dotnet fsi --optimize+ bench/search/speed.fsx
/usr/bin/python3 bench/search/optuna_bench.py 2>/dev/null
