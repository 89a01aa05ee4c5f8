#!/usr/bin/env bash
# Meets the library as a user would: packs Hybrid.Core, Hybrid and the Hybrid.Cli tool into a temporary folder,
# then, taking Hybrid's packages from that folder only (NuGet's mirror serves their dependencies),
#   1. `dotnet new console` + `dotnet add package Hybrid`, with docs/csharp-quickstart.md's first C# block as
#      Program.cs (it trains a model and saves it): built and run as written, its output checked;
#   2. an F# script `#r "nuget: Hybrid.Core"` that takes a gradient and a Hessian;
#   3. `dotnet tool install Hybrid.Cli` into a temporary tool path: `hybrid --help` says `hybrid`.
# Uses the Release build in the work tree when there is one (scripts/test.sh makes it), else builds.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
work="$(mktemp -d "${TMPDIR:-/tmp}/hybrid-package-test.XXXXXX")"
# a version of its own, so that NuGet's global package cache never serves a package packed by an earlier run
ver="0.1.0-test.$(date +%s).$$"
cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
cleanup() {
  rm -rf "$work"
  for id in hybrid hybrid.core hybrid.cli; do rm -rf "${cache%/}/$id/$ver"; rmdir "${cache%/}/$id" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() { echo "  Failed package test: $*"; exit 1; }
step() { echo "package test: $*"; }

build=(--no-build)
[ -f src/Cli/bin/Release/net10.0/Hybrid.Cli.dll ] && [ -f src/Facade.CSharp/bin/Release/net10.0/Hybrid.dll ] || build=()
step "packing $ver into $work/packages"
for p in src/Core src/Facade.CSharp src/Cli; do
  dotnet pack "$p" -c Release "${build[@]}" -nologo -v q -p:Version="$ver" -o "$work/packages" > "$work/pack.log" 2>&1 \
    || { cat "$work/pack.log"; fail "dotnet pack $p"; }
done
for f in Hybrid.Core Hybrid Hybrid.Cli; do
  [ -f "$work/packages/$f.$ver.nupkg" ] || fail "no $f.$ver.nupkg"
  [ -f "$work/packages/$f.$ver.snupkg" ] || fail "no symbols package $f.$ver.snupkg"
done
# repository metadata (src/Directory.Build.props): type git always, the commit when this is a git clone, and the URL
# from `git remote get-url origin` when that is a network address (the SDK's SourceLink reads it; it ignores a local
# path); without one, `dotnet pack -p:RepositoryUrl=...` sets it
origin="$(git remote get-url origin 2>/dev/null || true)"
head="$(git rev-parse HEAD 2>/dev/null || true)"
for f in Hybrid.Core Hybrid Hybrid.Cli; do
  repo_line="$(unzip -p "$work/packages/$f.$ver.nupkg" "$f.nuspec" | grep '<repository ' || true)"
  echo "$repo_line" | grep -q 'type="git"' || fail "$f.nuspec has no <repository type=\"git\">: '$repo_line'"
  [ -z "$head" ] || echo "$repo_line" | grep -q "commit=\"$head\"" || fail "$f.nuspec does not record commit $head: '$repo_line'"
  if echo "$origin" | grep -qE '^(https?|ssh|git)://|^[^/@]+@[^:]+:'; then
    echo "$repo_line" | grep -q ' url="' || fail "$f.nuspec has no repository url although origin is $origin: '$repo_line'"
  fi
done
echo "  Passed package test: repository metadata ${origin:+(origin $origin)}: $(unzip -p "$work/packages/Hybrid.$ver.nupkg" Hybrid.nuspec | grep -o '<repository [^>]*>')"

# Hybrid* from the folder only; everything else from the sources this machine's NuGet config lists
{
  echo '<?xml version="1.0" encoding="utf-8"?>'
  echo '<configuration>'
  echo '  <packageSources>'
  echo '    <clear />'
  echo "    <add key=\"hybrid-local\" value=\"$work/packages\" />"
  i=0
  dotnet nuget list source --format short | awk '$1 == "E" { print $2 }' | while read -r src; do
    [ "$src" = "$work/packages" ] && continue
    echo "    <add key=\"upstream$i\" value=\"$src\" />"; i=$((i + 1))
  done
  echo '  </packageSources>'
  echo '  <packageSourceMapping>'
  echo '    <packageSource key="hybrid-local"><package pattern="Hybrid" /><package pattern="Hybrid.*" /></packageSource>'
  i=0
  dotnet nuget list source --format short | awk '$1 == "E" { print $2 }' | while read -r src; do
    echo "    <packageSource key=\"upstream$i\"><package pattern=\"*\" /></packageSource>"; i=$((i + 1))
  done
  echo '  </packageSourceMapping>'
  echo '</configuration>'
} > "$work/nuget.config.xml"   # copied into each project folder (NuGet reads nuget.config upwards from there)

# ---------------------------------------------------------------- 1. a C# console app, the quick start as written
step "C#: dotnet new console, dotnet add package Hybrid, the quick start as Program.cs"
mkdir -p "$work/app"
cp "$work/nuget.config.xml" "$work/app/nuget.config"
(cd "$work/app" && dotnet new console -n QuickStart -o . > "$work/new.log" 2>&1) || { cat "$work/new.log"; fail "dotnet new console"; }
(cd "$work/app" && dotnet add package Hybrid --version "$ver" > "$work/add.log" 2>&1) || { cat "$work/add.log"; fail "dotnet add package Hybrid"; }
# the first ```csharp block of the quick start, exactly as the page shows it
awk '/^```csharp$/ { if (!done) { on = 1; next } } /^```$/ { if (on) { on = 0; done = 1 } } on' \
  docs/csharp-quickstart.md > "$work/app/Program.cs"
[ -s "$work/app/Program.cs" ] || fail "no \`\`\`csharp block in docs/csharp-quickstart.md"
# the page's other C# blocks are compiled with it (not run): statements inside a method, declarations as they are
awk -v dir="$work/blocks" 'BEGIN { system("mkdir -p " dir) } /^```csharp$/ { n++; on = (n > 1); next } /^```$/ { on = 0 } on { print > (dir "/" n ".cs") }' \
  docs/csharp-quickstart.md
{
  echo "using Hybrid; using Hybrid.Data; using Hybrid.Nn; using Hybrid.Optim; using Hybrid.Optim.LrScheduler;"
  for f in "$work"/blocks/*.cs; do
    [ -e "$f" ] || continue
    if grep -qE '^(public |internal )?(sealed |abstract |static )?(class|record|struct) ' "$f"; then cat "$f"
    else echo "static class QuickStartBlock$(basename "$f" .cs) { static void Run() {"; cat "$f"; echo "} }"; fi
  done
} > "$work/app/QuickStartBlocks.cs"
(cd "$work/app" && dotnet run -c Release > "$work/run.log" 2>&1) || { cat "$work/run.log"; fail "the quick start did not build or run"; }
cat "$work/run.log"
grep -qE "^epoch 3 " "$work/run.log" || fail "the quick start printed no 'epoch 3' line"
[ -s "$work/app/model.safetensors" ] || fail "the quick start wrote no model.safetensors"
# the packages came from the folder: the restored Hybrid is the version packed above
grep -q "\"Hybrid/$ver\"" "$work/app/obj/project.assets.json" || fail "Hybrid $ver was not restored from $work/packages"
echo "  Passed package test: C# quick start (dotnet new console + Hybrid $ver) trained and saved a model"

# ---------------------------------------------------------------- 2. an F# script
step "F#: #r \"nuget: Hybrid.Core\""
mkdir -p "$work/fsx"
cp "$work/nuget.config.xml" "$work/fsx/nuget.config"
cat > "$work/fsx/check.fsx" <<EOF
#r "nuget: Hybrid.Core, $ver"
open Hybrid.Core
let x = Create.ofFloat64 [| 1.0; 2.0 |] [| 2 |]
let g = Tape.grad (fun x -> Reduction.sum (x * x * x)) x      // 3x² = [3; 12]
let h = Tape.hessian (fun x -> Reduction.sum (x * x * x)) x   // diag(6x) = [[6; 0]; [0; 12]]
printfn "grad %A" (g.ToArray())
printfn "hessian %A" (h.ToArray())
EOF
(cd "$work/fsx" && dotnet fsi check.fsx > "$work/fsx.log" 2>&1) || { cat "$work/fsx.log"; fail "dotnet fsi check.fsx"; }
cat "$work/fsx.log"
grep -qF "grad [|3.0; 12.0|]" "$work/fsx.log" || fail "the F# script's gradient is not [3; 12]"
grep -qF "hessian [|6.0; 0.0; 0.0; 12.0|]" "$work/fsx.log" || fail "the F# script's Hessian is not diag(6, 12)"
echo "  Passed package test: F# script #r \"nuget: Hybrid.Core\" took a gradient and a Hessian"

# ---------------------------------------------------------------- 3. the dotnet tool
step "tool: dotnet tool install Hybrid.Cli"
# as the README says: --add-source (which NuGet refuses beside a source mapping, so from a folder without one)
mkdir -p "$work/toolcwd"
(cd "$work/toolcwd" && dotnet tool install --tool-path "$work/tools" Hybrid.Cli --version "$ver" --add-source "$work/packages" > "$work/tool.log" 2>&1) \
  || { cat "$work/tool.log"; fail "dotnet tool install Hybrid.Cli"; }
[ -x "$work/tools/hybrid" ] || fail "the tool installed no 'hybrid' command"
"$work/tools/hybrid" --help > "$work/help.log" 2>&1 || { cat "$work/help.log"; fail "hybrid --help"; }
grep -q "^  hybrid \[command\] \[options\]" "$work/help.log" || { cat "$work/help.log"; fail "hybrid --help does not show 'hybrid [command] [options]'"; }
if grep -q "Hybrid.Cli" "$work/help.log"; then cat "$work/help.log"; fail "hybrid --help says Hybrid.Cli"; fi
"$work/tools/hybrid" train --no-such-option > "$work/err.log" 2>&1 && fail "hybrid train --no-such-option exited 0"
grep -q "hybrid train \[options\]" "$work/err.log" || { cat "$work/err.log"; fail "the usage after a bad option does not say 'hybrid train'"; }
echo "  Passed package test: dotnet tool install Hybrid.Cli gives a 'hybrid' command"
