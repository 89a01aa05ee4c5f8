#!/usr/bin/env bash
# Installs everything beyond the .NET SDK: Debian packages (as root, when missing), paket, NuGet packages.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || need+=(libopenblas0-pthread)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
# the independent TensorBoard reader of tests/Properties/golden/check_tfevents.py
/usr/bin/python3 -c "import google.protobuf" 2>/dev/null || need+=(python3-protobuf)
# the PostgreSQL study storage tests start a throwaway server from Debian's binaries
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# Open MPI 4.1 for the distributed tests (mpirun and libmpi.so.40)
command -v mpirun >/dev/null || need+=(openmpi-bin)
[ -e /usr/lib/x86_64-linux-gnu/libmpi.so ] || need+=(libopenmpi-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null) \
      || echo "setup: could not install ${need[*]}; the managed matmul and the embedded data sample will be used, the TensorBoard interop tests skipped" >&2
  else
    echo "setup: ${need[*]} missing and not root; the managed matmul and the embedded data sample will be used, the TensorBoard interop tests skipped" >&2
  fi
fi
dotnet tool restore >/dev/null
dotnet paket restore >/dev/null
