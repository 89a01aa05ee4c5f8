#!/usr/bin/env bash
# One Fashion-MNIST epoch (batch 64, Adam 1e-3, full 60,000 images) of each model, ours and PyTorch's,
# in the same session, with the ratio. Usage: bash bench/compare-training.sh [epochs]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-1}"
dotnet build src/Cli -c Release -nologo -v q > /dev/null
runs="$(mktemp -d)"
printf "%-6s %12s %12s %8s %10s %10s\n" model "ours (s)" "torch (s)" ratio "ours acc" "torch acc"
for model in mlp cnn; do
  ours=$(dotnet src/Cli/bin/Release/net10.0/Hybrid.Cli.dll train --model "$model" --epochs "$epochs" --val-split 0 \
           --runs "$runs" --name "$model" --log-every 100000 | grep -E "^epoch" | tail -1)
  ours_s=$(echo "$ours" | sed -E 's/.* ([0-9.]+) s$/\1/')
  ours_acc=$(echo "$ours" | sed -E 's/.*test acc ([0-9.]+).*/\1/')
  ref=$(/usr/bin/python3 bench/train_torch.py --model "$model" --epochs "$epochs" | tail -1)
  ref_s=$(echo "$ref" | awk '{print $6}')
  ref_acc=$(echo "$ref" | awk '{print $8}')
  printf "%-6s %12s %12s %7.2fx %10s %10s\n" "$model" "$ours_s" "$ref_s" "$(awk -v a="$ref_s" -v b="$ours_s" 'BEGIN { print a / b }')" "$ours_acc" "$ref_acc"
done
rm -rf "$runs"
