#!/usr/bin/env bash
# Runs every test project of the solution (F# properties, C# facade tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet build Hybrid.sln -c Release -nologo -v q
dotnet test Hybrid.sln -c Release --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee /tmp/hybrid-test.log \
  | grep -E "^\s+(Passed|Failed|Skipped) |^Total tests|^\s+(Passed|Failed|Skipped): |error" || true
# the plain closing line CI reads, summed over every test assembly's totals block
awk '/^ +Passed: [0-9]+$/ { p += $2 } /^ +Failed: [0-9]+$/ { f += $2 } /^ +Skipped: [0-9]+$/ { s += $2 }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s; exit (f > 0 || p == 0) }' /tmp/hybrid-test.log
