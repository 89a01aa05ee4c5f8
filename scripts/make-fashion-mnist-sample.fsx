// Builds data/fashion-mnist-sample/ (the sample embedded in Hybrid.Core) from the system copy of
// Fashion-MNIST: the first 2,000 training and 1,000 test images and labels, gzip IDX.
// Run from the repository root after `dotnet build src/Core`:
//   dotnet fsi scripts/make-fashion-mnist-sample.fsx [SOURCE_DIR]
#r "../src/Core/bin/Debug/net10.0/Hybrid.Core.dll"
open Hybrid.Core.Data

let source = if fsi.CommandLineArgs.Length > 1 then fsi.CommandLineArgs[1] else FashionMnist.systemDir
FashionMnist.writeSample source "data/fashion-mnist-sample" 2000 1000
printfn "wrote data/fashion-mnist-sample from %s" source
