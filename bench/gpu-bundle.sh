#!/usr/bin/env bash
# Packs what bench/gpu-run.sh needs on a GPU machine that has CUDA but no .NET, into .gpu/ (git-ignored):
#   .gpu/hybrid.tar.xz  the `hybrid` CLI and gpu-bench (framework-dependent, linux-x64) and the .NET runtime
#                       this SDK runs on (Microsoft.NETCore.App only, without its debugger helpers);
#   .gpu/data.tar.xz    Fashion-MNIST (plain IDX files: xz packs them tighter than the .gz originals).
# Together about 60 MB, under the 64 MiB that the device tool carries. Usage: bash bench/gpu-bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
for project in src/Cli bench/GpuBench; do
  dotnet publish "$project" -c Release -r linux-x64 --self-contained false -o "$stage/app" -nologo -v q
done
# test-platform plumbing (gpu-bench calls the test methods itself), satellite resources, symbols and docs
( cd "$stage/app" && rm -rf cs de es fr it ja ko pl pt-BR ru tr zh-Hans zh-Hant ./*.pdb ./*.xml \
    Microsoft.TestPlatform.* Microsoft.VisualStudio.* testhost.dll xunit.runner.visualstudio.* Newtonsoft.Json.dll )
root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime="$(ls -d "$root"/shared/Microsoft.NETCore.App/* | sort -V | tail -1)"
mkdir -p "$stage/dotnet/shared/Microsoft.NETCore.App"
cp -a "$root/dotnet" "$root/host" "$stage/dotnet/"
cp -a "$runtime" "$stage/dotnet/shared/Microsoft.NETCore.App/"
rm -f "$stage"/dotnet/shared/Microsoft.NETCore.App/*/{createdump,libmscordbi.so,libmscordaccore.so}
mkdir -p .gpu "$stage/data"
tar -cf - -C "$stage" dotnet app | xz -9 -T0 > .gpu/hybrid.tar.xz
data="${HYBRID_DATA:-/usr/share/datasets/fashion-mnist}"
for stem in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ -f "$data/$stem" ]; then cp "$data/$stem" "$stage/data/"; else gunzip -c "$data/$stem.gz" > "$stage/data/$stem"; fi
done
tar -cf - -C "$stage" data | xz -9 -T0 > .gpu/data.tar.xz
du -b .gpu/*.tar.xz
