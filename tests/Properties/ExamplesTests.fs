module Hybrid.Tests.ExamplesTests

// The scripts in docs/examples run end to end under `dotnet fsi` in their quick mode
// (HYBRID_EXAMPLES_QUICK=1: fewer iterations, no PNG written), against the Release build of the
// core that they reference (built here first, incrementally). Each run has a 120 s limit; the
// tests are skipped, visibly, only when no `dotnet` executable is on PATH.

open System
open System.Diagnostics
open System.IO
open System.Text.RegularExpressions
open Xunit

/// The `dotnet` executable on PATH (the one these scripts are documented to run with), if any.
let dotnetPath =
    let exe = if OperatingSystem.IsWindows() then "dotnet.exe" else "dotnet"
    (Environment.GetEnvironmentVariable "PATH" |> string).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
    |> Array.map (fun dir -> Path.Combine(dir, exe))
    |> Array.tryFind File.Exists

/// A fact that is skipped, with the reason shown, when `dotnet` is not on PATH.
type DotnetFactAttribute() as this =
    inherit FactAttribute()
    do if dotnetPath.IsNone then this.Skip <- "dotnet is not on PATH: the docs/examples scripts cannot be run"

/// The repository root (the directory holding Hybrid.sln), found upwards from the test binaries.
let repoRoot =
    let rec up (d: DirectoryInfo) =
        if isNull d then failwith "examples tests: no Hybrid.sln above the test directory"
        elif File.Exists(Path.Combine(d.FullName, "Hybrid.sln")) then d.FullName
        else up d.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

/// Run `dotnet <args>` in the repository root; (exit code, stdout + stderr). Kills it after `timeoutS`.
let runDotnet (args: string list) (env: (string * string) list) (timeoutS: int) =
    let psi = ProcessStartInfo(dotnetPath.Value, WorkingDirectory = repoRoot, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    for a in args do psi.ArgumentList.Add a
    for k, v in env do psi.Environment.[k] <- v
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if not (p.WaitForExit(timeoutS * 1000)) then
        p.Kill true
        failwithf "dotnet %s: still running after %d s" (String.Join(" ", args)) timeoutS
    p.WaitForExit()
    p.ExitCode, out.Result + err.Result

/// `dotnet build src/Core -c Release` once per test run (the scripts `#r` its output).
let releaseCore =
    lazy (
        let code, output = runDotnet [ "build"; "src/Core"; "-c"; "Release"; "--nologo"; "-v"; "q" ] [] 300
        if code <> 0 then failwithf "examples tests: building src/Core in Release failed (exit %d):\n%s" code output)

/// Run docs/examples/<script> in quick mode; returns its output after checking it exited with 0
/// and left every PNG in docs/img/examples untouched.
let runQuick (script: string) =
    releaseCore.Force()
    let imgDir = Path.Combine(repoRoot, "docs", "img", "examples")
    let stamps () =
        if Directory.Exists imgDir then Directory.GetFiles(imgDir, "*.png") |> Array.map (fun f -> f, File.GetLastWriteTimeUtc f) else [||]
    let before = stamps ()
    let code, output = runDotnet [ "fsi"; "--quiet"; Path.Combine("docs", "examples", script) ] [ "HYBRID_EXAMPLES_QUICK", "1" ] 120
    Assert.True((code = 0), sprintf "dotnet fsi %s exited with %d:\n%s" script code output)
    Assert.Equal<(string * DateTime)[]>(before, stamps ())
    output

/// The first capture group of a multi-line regex match in the output, or a failure quoting the output.
let capture (pattern: string) (output: string) =
    let m = Regex.Match(output, pattern, RegexOptions.Multiline)
    Assert.True(m.Success, sprintf "no line matches /%s/ in:\n%s" pattern output)
    m.Groups.[1].Value

let parse (s: string) = Double.Parse(s, Globalization.CultureInfo.InvariantCulture)

[<DotnetFact>]
let ``rosenbrock example runs and BFGS and Newton reach the tolerance within their quick budget`` () =
    let output = runQuick "rosenbrock.fsx"
    let iterations name = int (capture (sprintf @"^%s\s.*?\s(\d+)\s+\d\.\d{3}e[-+]\d\d" name) output)
    // quasi-Newton and Newton converge in tens of iterations; the first-order methods need thousands
    Assert.InRange(iterations "BFGS", 5, 100)
    Assert.InRange(iterations "Newton", 5, 100)
    Assert.True(iterations "Newton" <= iterations "BFGS", output)
    Assert.Matches(@"(?m)^GD\s.*>\s*300", output)
    Assert.Contains("quick mode: rosenbrock.png not written", output)

[<DotnetFact>]
let ``lasso example runs and FISTA's objective gap after 100 iterations is below ISTA's`` () =
    let output = runQuick "lasso.fsx"
    let row = capture @"^\s+100\s+(\S+\s+\S+)" output
    let gaps = row.Split(' ', StringSplitOptions.RemoveEmptyEntries) |> Array.map parse
    let ista, fista = gaps.[0], gaps.[1]
    Assert.True(fista >= 0.0 && fista < ista, sprintf "FISTA gap %g, ISTA gap %g" fista ista)
    // the path starts at λ_max, where the Lasso solution is exactly zero
    Assert.Matches(@"(?m)^\s+\d+\.\d+\s+0\s", output)
    Assert.Contains("quick mode: lasso_gap.png not written", output)

[<DotnetFact>]
let ``lr range test example runs and suggests a learning rate inside the swept range`` () =
    let output = runQuick "lr_range_test.fsx"
    let lr = parse (capture @"^suggested lr \(steepest.*\): (\S+)$" output)
    Assert.InRange(lr, 1e-6, 1.0)
    Assert.Contains("quick mode: lr_range_test.png not written", output)
