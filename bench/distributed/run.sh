#!/usr/bin/env bash
# Data-parallel step times on this machine (issue 14): the CLI's mlp and cnn, SGD with momentum, 32 samples per
# rank (weak scaling, as the DDP paper), for 1, 2 and 4 ranks over shared memory; 1-rank DDP against plain
# training; the wait for communication with and without overlap (small buckets so that there are several);
# bytes per step against 2(N-1)/N x gradient bytes; then the ring-allreduce model projected to 8-64 nodes.
# Run once: bash bench/distributed/run.sh (about 3-5 minutes on 2 loaded cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build src/Cli -c Release -nologo -v q >/dev/null
CLI=src/Cli/bin/Release/net10.0/Hybrid.Cli.dll
export OMPI_MCA_btl_vader_single_copy_mechanism=none
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

run() { # ranks case -> prints rank 0's key=value pairs on one line
  local n=$1 c=$2 d="$OUT/$RANDOM$RANDOM"
  mkdir -p "$d"
  mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -np "$n" dotnet "$CLI" dist-selftest "$c" "$d" >/dev/null 2>&1
  awk '{printf "%s=%s ", $1, $2} END {print ""}' "$d/rank-0.txt"
}
get() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k {print $2}'; }

echo "# nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
echo
echo "| model | mode | ranks | ms/step | wait ms/step | allreduce ms/step | buckets | gradient bytes | bytes sent/step | 2(N-1)/N x grad |"
echo "|---|---|---|---|---|---|---|---|---|---|"
declare -A T
for m in mlp cnn; do
  for spec in "plain 1 25" "ddp 1 25" "ddp 2 25" "ddp 4 25" "ddp 2 0.25" "nooverlap 2 0.25"; do
    set -- $spec
    r=$(run "$2" "stepbench:$m:$1:$3")
    ms=$(get "$r" ms-per-step); w=$(get "$r" wait-ms-per-step); c=$(get "$r" comm-ms-per-step)
    g=$(get "$r" gradient-bytes); b=$(get "$r" bytes-sent-per-step); k=$(get "$r" buckets)
    T[$m-$1-$2-$3]=$ms
    ring=$(awk -v n="$2" -v g="$g" 'BEGIN {printf "%.0f", 2*(n-1)/n*g}')
    printf "| %s | %s (cap %s MB) | %s | %.2f | %.2f | %.2f | %s | %s | %s | %s |\n" "$m" "$1" "$3" "$2" "$ms" "$w" "$c" "$k" "$g" "$b" "$ring"
  done
  awk -v p="${T[$m-plain-1-25]}" -v d="${T[$m-ddp-1-25]}" -v m="$m" 'BEGIN {printf "\n%s: 1-rank DDP overhead against plain training: %+.1f%%\n\n", m, 100*(d-p)/p}'
done

# ring allreduce model: t = 2(N-1) alpha + 2(N-1)/N * bytes / beta, with alpha = 20 us per message (a stated
# assumption for TCP over Ethernet) and the measured 1-rank compute time per step; efficiency = T/(T + t) with no
# overlap and T/max(T, t) with full overlap
echo "| model | link | nodes | allreduce ms | efficiency no overlap | efficiency full overlap |"
echo "|---|---|---|---|---|---|"
for m in mlp cnn; do
  r=$(run 1 "stepbench:$m:plain:25"); t=$(get "$r" ms-per-step); g=$(get "$r" gradient-bytes)
  for gbps in 10 100; do
    for n in 8 16 32 64; do
      awk -v t="$t" -v g="$g" -v n="$n" -v gb="$gbps" -v m="$m" 'BEGIN {
        beta = gb * 1e9 / 8; a = 20e-6
        c = 1000 * (2*(n-1)*a + 2*(n-1)/n * g / beta)
        e1 = t / (t + c); e2 = t / (t > c ? t : c)
        printf "| %s (%.1f ms compute, %d B) | %d Gb/s | %d | %.3f | %.1f%% | %.1f%% |\n", m, t, g, gb, n, c, 100*e1, 100*e2 }'
    done
  done
done
