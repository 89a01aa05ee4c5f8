#!/usr/bin/env bash
# Runs Hybrid.Bench and the PyTorch reference back to back and prints one table:
# ratios are throughputs ours/reference (1.00 = parity, 0.67 = 1.5x slower), elementwise and
# reductions also as % of the triad bandwidth measured in the same run.
# Usage: bash bench/compare.sh [--full]   (default: the quick configuration, a few minutes)
#        bash bench/compare.sh --training [epochs]   one Fashion-MNIST epoch of the MLP and the CNN, ours and
#                                                    PyTorch's, with the ratio (bench/compare-training.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--training" ]; then shift; exec bash bench/compare-training.sh "$@"; fi
mode=--quick
[ "${1:-}" = "--full" ] && mode=
out=bench/results
mkdir -p "$out"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); cores: $(nproc); load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/run.txt"
dotnet build bench -c Release -nologo -v q >/dev/null
dotnet bench/bin/Release/net10.0/Hybrid.Bench.dll $mode --out "$out/ours.csv" > "$out/ours.log" 2>&1 \
  || { tail -30 "$out/ours.log"; exit 1; }
/usr/bin/python3 bench/torch_ref.py $mode --out "$out/torch.csv" > "$out/torch.log" 2>&1 \
  || { tail -30 "$out/torch.log"; exit 1; }
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/run.txt"
/usr/bin/python3 - "$out/ours.csv" "$out/torch.csv" <<'PY' | tee "$out/table.txt"
import csv, sys
def load(p):
    return {(r["class"], r["case"], r["size"], r["dtype"]): r for r in csv.DictReader(open(p))}
ours, ref = load(sys.argv[1]), load(sys.argv[2])
def v(d, k, col):
    r = d.get(k)
    return float(r[col]) if r else float("nan")
def ratio(a, b):
    return "%6.2f" % (a / b) if b == b and a == a and b > 0 else "   n/a"
print("\nMatmul, GFLOP/s (best iteration); ratios are ours/reference throughput")
print("%-5s %-4s %8s %8s %8s %8s | %9s %9s %9s %9s" % ("size", "type", "core", "managed", "OpenBLAS", "torch",
      "core/OBL", "mgd/OBL", "core/tch", "mgd/tch"))
for s in ("256", "512", "1024", "2048"):
    for t in ("f32", "f64"):
        c, m, o = (v(ours, ("Matmul", x, s, t), "gflops") for x in ("Core", "Managed", "OpenBlas"))
        tt = v(ref, ("Matmul", "Torch", s, t), "gflops")
        print("%-5s %-4s %8.1f %8.1f %8.1f %8.1f | %9s %9s %9s %9s" % (s, t, c, m, o, tt, ratio(c, o), ratio(m, o), ratio(c, tt), ratio(m, tt)))
mem = v(ours, ("Elementwise", "Triad", "16777216", "f32"), "gbs")
print("\nElementwise and reductions, float32, GB/s (best iteration). triad = a = b + s*c into a preallocated array,")
print("same run: 'triad n' at the same size (best of one core and both cores: the caches' bandwidth below 16M),")
print("'mem' = the 16M triad, this machine's memory bandwidth (%.1f GB/s)" % mem)
print("%-12s %-8s %9s %8s %8s %9s %8s %9s %8s %9s" % ("class", "case", "n", "ours", "torch", "ours/tch", "triad n", "%triad n", "%mem", "tch%mem"))
for cls, cases in (("Elementwise", ("Add", "Mul", "Exp", "Relu")), ("Reductions", ("SumAll", "SumDim0", "SumDim1"))):
    for n in ("65536", "262144", "1048576", "4194304", "16777216"):
        tri = max(v(ours, ("Elementwise", "Triad", n, "f32"), "gbs"), v(ours, ("Elementwise", "TriadInline", n, "f32"), "gbs"))
        for c in cases:
            a, b = v(ours, (cls, c, n, "f32"), "gbs"), v(ref, (cls, c, n, "f32"), "gbs")
            print("%-12s %-8s %9s %8.1f %8.1f %9s %8.1f %8.0f%% %8.0f%% %8.0f%%" % (cls, c, n, a, b, ratio(a, b), tri, 100 * a / tri, 100 * a / mem, 100 * b / mem))
PY
