// Shared setup for the example scripts in docs/examples (loaded with `#load "common.fsx"`).
//
// - references the built core (`dotnet build src/Core -c Release` first), its one package
//   dependency (System.Numerics.Tensors) and ScottPlot 5 for the figures;
// - `quick`: true when HYBRID_EXAMPLES_QUICK=1 (fewer iterations, no PNG written): the mode the
//   test tests/Properties/ExamplesTests.fs runs each script in;
// - helpers to write a PNG into docs/img/examples and to label an axis holding log10 values.
//
// Packages resolve from the local NuGet cache (~/.nuget/packages) after `dotnet paket restore`.

#r "nuget: System.Numerics.Tensors, 10.0.0"
#r "nuget: ScottPlot, 5.1.59"
#r "nuget: ILGPU, 1.5.3"
#r "nuget: ILGPU.Algorithms, 1.5.3"
#r "nuget: MathNet.Numerics, 5.0.0"
#r "../../src/Core/bin/Release/net10.0/Hybrid.Core.dll"

open System
open System.IO

/// True when HYBRID_EXAMPLES_QUICK=1: short runs, no figures.
let quick = Environment.GetEnvironmentVariable "HYBRID_EXAMPLES_QUICK" = "1"

/// docs/img/examples, where the figures go.
let imgDir = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, "..", "img", "examples"))

/// Render a plot to docs/img/examples/<name> (skipped in quick mode) and print its path and size.
let savePng (plt: ScottPlot.Plot) (name: string) (width: int) (height: int) =
    if quick then printfn "quick mode: %s not written" name
    else
        Directory.CreateDirectory imgDir |> ignore
        let path = Path.Combine(imgDir, name)
        plt.SavePng(path, width, height) |> ignore
        printfn "wrote %s (%d KB)" (Path.GetRelativePath(Path.Combine(__SOURCE_DIRECTORY__, "..", ".."), path)) ((FileInfo path).Length / 1024L)

/// Label an axis whose data are log10 values as powers of ten, with log-spaced minor ticks
/// (ScottPlot 5 has no log scale: plot log10 v and relabel).
let logAxis (axis: ScottPlot.IAxis) =
    let ticks = ScottPlot.TickGenerators.NumericAutomatic()
    ticks.MinorTickGenerator <- ScottPlot.TickGenerators.LogMinorTickGenerator()
    ticks.IntegerTicksOnly <- true
    ticks.LabelFormatter <- Func<float, string>(fun e -> sprintf "1e%d" (int (Math.Round e)))
    axis.TickGenerator <- ticks

/// A number in scientific notation with a two-digit exponent (1.234e-05).
let sci (v: float) = v.ToString("0.000e+00", Globalization.CultureInfo.InvariantCulture)

/// A fixed, colour-blind-friendly palette (Okabe–Ito, then a wine red) for up to 8 curves in one figure.
let palette =
    [| "#0072B2"; "#D55E00"; "#009E73"; "#CC79A7"; "#E69F00"; "#56B4E9"; "#000000"; "#882255" |]
    |> Array.map ScottPlot.Color.FromHex
