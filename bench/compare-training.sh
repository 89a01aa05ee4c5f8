#!/usr/bin/env bash
# One Fashion-MNIST epoch (batch 64, Adam 1e-3, full 60,000 images) of each model, ours and PyTorch's, in the same
# session, with the ratios. PyTorch runs three ways (bench/train_torch.py --loader; same model, optimizer and step):
#   lean        slices of tensors converted once, no DataLoader: the fastest PyTorch loop, the strictest reference;
#   dataloader  DataLoader(TensorDataset) over the same tensors: like for like with `hybrid train`'s DataLoader;
#   tutorial    torchvision's FashionMNIST + ToTensor + Normalize + DataLoader: PyTorch's quickstart pipeline, the one
#               whose epochs match the training issue's reference figures (about 8.7 s MLP, 16-22 s CNN).
# Usage: bash bench/compare-training.sh [epochs] [loaders...]   (default: 1 epoch, all three loaders)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-1}"
shift || true
loaders="${*:-lean dataloader tutorial}"
need=()
/usr/bin/python3 -c "import torch" 2>/dev/null || need+=(python3-torch)
case "$loaders" in *tutorial*) /usr/bin/python3 -c "import torchvision" 2>/dev/null || need+=(python3-torchvision) ;; esac
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "compare-training: needs ${need[*]} (apt-get install, as root)" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
dotnet build src/Cli -c Release -nologo -v q > /dev/null
runs="$(mktemp -d)"
trap 'rm -rf "$runs"' EXIT
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-11s %9s %9s %8s %9s %9s\n" model "torch loop" "ours (s)" "torch (s)" ratio "ours acc" "torch acc"
for model in mlp cnn; do
  ours=$(dotnet src/Cli/bin/Release/net10.0/Hybrid.Cli.dll train --model "$model" --epochs "$epochs" --val-split 0 \
           --runs "$runs" --name "$model" --log-every 100000 | grep -E "^epoch" | tail -1)
  ours_s=$(echo "$ours" | sed -E 's/.* ([0-9.]+) s$/\1/')
  ours_acc=$(echo "$ours" | sed -E 's/.*test acc ([0-9.]+).*/\1/')
  for loader in $loaders; do
    ref=$(/usr/bin/python3 bench/train_torch.py --model "$model" --epochs "$epochs" --loader "$loader" | tail -1)
    ref_s=$(echo "$ref" | awk '{print $6}')
    ref_acc=$(echo "$ref" | awk '{print $8}')
    printf "%-6s %-11s %9s %9s %7.2fx %9s %9s\n" "$model" "$loader" "$ours_s" "$ref_s" \
      "$(awk -v a="$ref_s" -v b="$ours_s" 'BEGIN { print a / b }')" "$ours_acc" "$ref_acc"
  done
done
