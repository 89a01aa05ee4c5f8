module Hybrid.Tests.ArchitectureTests

// The backend seam, read from the sources: the op vocabulary and the shared pure helpers compile before any backend,
// nothing above the backends names one (but the registry, and the files of the allow-list below), and neither
// backend names the other.

open System.IO
open System.Text.RegularExpressions
open Xunit

let private srcRoot = Path.Combine(ExamplesTests.repoRoot, "src")

/// Path relative to src/, with forward slashes.
let private rel (path: string) = Path.GetRelativePath(srcRoot, path).Replace('\\', '/')

/// Every F# and C# source file of the core, the facade and the CLI (build outputs excluded).
let private sources =
    [ "Core"; "Facade.CSharp"; "Cli" ]
    |> List.collect (fun project ->
        [ "*.fs"; "*.cs" ]
        |> List.collect (fun pattern -> Directory.GetFiles(Path.Combine(srcRoot, project), pattern, SearchOption.AllDirectories) |> List.ofArray))
    |> List.filter (fun p -> let r = rel p in not (r.Contains "/obj/" || r.Contains "/bin/"))

/// The code of a file without its comments (// to the end of a line, /// doc lines, (* *) and /* */ blocks).
let private code (path: string) =
    let text = File.ReadAllText path
    let noBlocks = Regex.Replace(text, @"\(\*[\s\S]*?\*\)|/\*[\s\S]*?\*/", "")
    Regex.Replace(noBlocks, @"//.*", "")

/// The lines of `path` that open or name the backend namespace `backend` ("Cpu" or "Ilgpu"): `open
/// Hybrid.Core.Backends.Cpu`, `Backends.Cpu.X`, or `Cpu.X` from inside the Backends namespace.
let private naming (backend: string) (path: string) =
    let pattern = Regex(sprintf @"\bBackends\.%s\b|^\s*open\s+%s\b|(?<![\w.])%s\.[A-Z]" backend backend backend, RegexOptions.Multiline)
    (code path).Split('\n')
    |> Array.filter (fun line -> pattern.IsMatch line)
    |> Array.map (fun line -> sprintf "%s: %s" (rel path) (line.Trim()))

/// Files above the seam that may name a backend, each with why.
let private allowed =
    Map.ofList
        [ // the registry: the one place that maps a Device to the Backend that creates its tensors
          "Core/Backends/Registry.fs", set [ "Cpu"; "Ilgpu" ]
          // the unfused transforms still build CPU buffers directly
          "Core/Optim/Transform.fs", set [ "Cpu" ]
          // the fused optimizer drivers, one per backend: they apply the rules of Optim/Rule.fs, compiled above the
          // backends, to that backend's storage in place
          "Core/Optim/FusedCpu.fs", set [ "Cpu" ]
          "Core/Optim/FusedIlgpu.fs", set [ "Ilgpu" ] ]

let private inBackend (backend: string) (path: string) = (rel path).StartsWith(sprintf "Core/Backends/%s/" backend)

[<Theory>]
[<InlineData("Cpu")>]
[<InlineData("Ilgpu")>]
let ``no file outside a backend names it, but the registry and the allow-list`` (backend: string) =
    let offenders =
        sources
        |> List.filter (fun p -> not (inBackend backend p))
        |> List.filter (fun p -> not ((allowed.TryFind(rel p) |> Option.defaultValue Set.empty).Contains backend))
        |> List.collect (fun p -> naming backend p |> List.ofArray)
    Assert.True(List.isEmpty offenders, sprintf "outside Backends/%s/, these lines name it:\n%s" backend (String.concat "\n" offenders))

[<Theory>]
[<InlineData("Cpu", "Ilgpu")>]
[<InlineData("Ilgpu", "Cpu")>]
let ``neither backend names the other`` (backend: string) (other: string) =
    let offenders = sources |> List.filter (inBackend backend) |> List.collect (fun p -> naming other p |> List.ofArray)
    Assert.True(List.isEmpty offenders, sprintf "Backends/%s/ names Backends.%s (shared helpers belong below both):\n%s" backend other (String.concat "\n" offenders))

[<Fact>]
let ``the vocabulary, the shared helpers and RawTensor compile before either backend`` () =
    let compiled =
        Regex.Matches(File.ReadAllText(Path.Combine(srcRoot, "Core", "Core.fsproj")), "<Compile Include=\"([^\"]+)\"")
        |> Seq.map (fun m -> m.Groups.[1].Value)
        |> List.ofSeq
    let at (file: string) =
        let i = List.tryFindIndex ((=) file) compiled
        Assert.True(i.IsSome, sprintf "Core.fsproj does not compile %s" file)
        i.Value
    let firstBackend = compiled |> List.findIndex (fun f -> f.StartsWith "Backends/Cpu/" || f.StartsWith "Backends/Ilgpu/")
    for seam in [ "Backends/Ops.fs"; "Backends/Geometry.fs"; "Backends/ScalarMath.fs"; "Backends/RawTensor.fs" ] do
        Assert.True(at seam < firstBackend, sprintf "%s compiles after %s: the seam must not see a backend" seam compiled.[firstBackend])
    // the registry comes after both backends and before the first file above them
    let lastBackend = compiled |> List.findIndexBack (fun f -> f.StartsWith "Backends/Cpu/" || f.StartsWith "Backends/Ilgpu/")
    Assert.Equal(lastBackend + 1, at "Backends/Registry.fs")

[<Fact>]
let ``the rule finds a backend named above the seam`` () =
    // the detector itself, on a file written for the purpose: an open, a qualified name and a comment that must not count
    let path = Path.Combine(Path.GetTempPath(), sprintf "arch-%s.fs" (System.Guid.NewGuid().ToString "N"))
    File.WriteAllText(path, "open Hybrid.Core.Backends.Cpu\nlet a = Hybrid.Core.Backends.Ilgpu.Runtime.cudaCount ()\n// Backends.Cpu in a comment\nlet b = Cpu.Par.grain\n")
    try
        Assert.Equal(2, (naming "Cpu" path).Length)
        Assert.Equal(1, (naming "Ilgpu" path).Length)
    finally File.Delete path
