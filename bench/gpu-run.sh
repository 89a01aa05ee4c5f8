#!/usr/bin/env bash
# On a GPU machine (CUDA, no .NET), after bench/gpu-bundle.sh here: the ILGPU test module on cuda:0 (with cuBLAS,
# then with the tiled matmul kernel), gpu-bench's figures, and one Fashion-MNIST epoch of each model on the GPU,
# ours then PyTorch's (when python3 has torch) in the same run. Logs go to $OUT (or /tmp/gpu-out).
# Usage, through the device tool: run(command="bash bench/gpu-run.sh", carry=[".gpu"])
set -u
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/gpu-out}"
mkdir -p "$out" /tmp/hybrid /tmp/fmnist
tar -xJf .gpu/hybrid.tar.xz -C /tmp/hybrid
tar -xJf .gpu/data.tar.xz -C /tmp/fmnist
export DOTNET_ROOT=/tmp/hybrid/dotnet DOTNET_CLI_TELEMETRY_OPTOUT=1
dotnet=/tmp/hybrid/dotnet/dotnet
app=/tmp/hybrid/app
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
ldconfig -p | grep -E "libcuda\.so|libcublas\.so" || echo "ldconfig: no libcuda/libcublas in the loader's cache"
cublas="$(find / -xdev \( -name 'libcublas.so.1[0-9]*' \) -not -path '/proc/*' 2>/dev/null | sort | head -5)"
echo "libcublas found: ${cublas:-none}"
# cuBLAS outside the loader's path (pip's nvidia-cublas, a toolkit not in ld.so.conf): point the loader at it
for lib in $cublas; do export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; break; done
step() { echo; echo "== $1"; shift; timeout "${STEP_TIMEOUT:-240}" "$@" 2>&1 | tee -a "$out/gpu-run.log"; }
step "check on cuda:0 (cuBLAS)" "$dotnet" "$app/gpu-bench.dll" check cuda:0
step "check on cuda:0 (tiled matmul kernel)" env HYBRID_NO_CUBLAS=1 "$dotnet" "$app/gpu-bench.dll" check cuda:0
step "gpu-bench" "$dotnet" "$app/gpu-bench.dll"
if python3 -c "import torch" 2>/dev/null; then
  # the cuBLAS figure gpu-bench's matmul is judged by: the same float32 8192^3 product through PyTorch (TF32 off)
  step "torch float32 matmul 8192^3 (cuBLAS reference)" python3 - <<'PY'
import time, torch
torch.backends.cuda.matmul.allow_tf32 = False
a = torch.full((8192, 8192), 0.001, device="cuda"); b = torch.full((8192, 8192), 0.002, device="cuda")
for _ in range(2): a @ b
ts = []
for _ in range(5):
    torch.cuda.synchronize(); t = time.perf_counter(); a @ b; torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
s = sorted(ts)[2]
print(f"torch {torch.__version__} matmul float32 8192^3: {s * 1e3:8.2f} ms  {2 * 8192 ** 3 / s / 1e12:6.1f} TFLOP/s")
PY
fi
for model in ${MODELS:-mlp cnn}; do
  step "hybrid train --model $model --device cuda" "$dotnet" "$app/Hybrid.Cli.dll" train --model "$model" --epochs "${EPOCHS:-1}" \
      --device cuda --val-split 0 --data /tmp/fmnist/data --runs /tmp/runs --name "$model" --log-every 200
  if python3 -c "import torch" 2>/dev/null; then
    step "torch $model cuda" python3 bench/train_torch.py --model "$model" --epochs "${EPOCHS:-1}" --device cuda --data /tmp/fmnist/data
  fi
done
