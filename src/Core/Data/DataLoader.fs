namespace Hybrid.Core.Data

open System
open System.Collections.Concurrent
open System.Runtime.ExceptionServices
open System.Threading
open Hybrid.Core

/// Indexable (x, y) pairs over two arrays: `Count` samples of shape `SampleShape` stored one after
/// another in `inputs`, and one int64 target per sample.
type Dataset(inputs: float32[], targets: int64[], sampleShape: int[]) =
    let sampleSize = Shape.numel sampleShape
    do
        if inputs.Length <> targets.Length * sampleSize then
            invalidArg "inputs" (sprintf "dataset: %d input values do not hold %d samples of shape %s (%d values expected)" inputs.Length targets.Length (Shape.show sampleShape) (targets.Length * sampleSize))
    /// Number of samples.
    member _.Count = targets.Length
    /// Shape of one input sample, e.g. [1,28,28].
    member _.SampleShape = Array.copy sampleShape
    /// Values per input sample.
    member _.SampleSize = sampleSize
    /// Sample i as (a copy of its input values, its target).
    member _.Item
        with get (i: int) =
            if i < 0 || i >= targets.Length then
                raise (ArgumentOutOfRangeException("i", sprintf "dataset: index %d outside 0..%d" i (targets.Length - 1)))
            inputs[i * sampleSize .. (i + 1) * sampleSize - 1], targets[i]
    /// Copies sample i's input values into `dst` (no allocation).
    member internal _.CopyInput(i: int, dst: Span<float32>) =
        ReadOnlySpan(inputs, i * sampleSize, sampleSize).CopyTo dst
    /// The target of sample i.
    member internal _.Target(i: int) = targets[i]
    /// A split of Fashion-MNIST as a dataset of [1,rows,cols] images.
    static member OfSplit(split: ImageSplit) = Dataset(split.Images, split.Labels, [| 1; split.Rows; split.Cols |])

/// An image augmentation: from a generator, the sample's shape (last two axes are height and width)
/// and its values, new values of the same shape. The input array is never modified.
type Augment = Generator -> int[] -> float32[] -> float32[]

/// Seeded image augmentations; each consumes draws from the generator it is given, so the same seed
/// gives the same augmented batch.
module Augment =
    let private hw (op: string) (shape: int[]) =
        if shape.Length < 2 then invalidArg "shape" (sprintf "augment.%s: sample shape %s needs at least 2 axes (height, width)" op (Shape.show shape))
        shape[shape.Length - 2], shape[shape.Length - 1]

    /// Mirror left-right: x'[.., i, j] = x[.., i, W-1-j].
    let flipHorizontal (shape: int[]) (x: float32[]) : float32[] =
        let h, w = hw "flipHorizontal" shape
        let planes = x.Length / (h * w)
        let y = Array.zeroCreate x.Length
        for p in 0 .. planes * h - 1 do
            let row = p * w
            for j in 0 .. w - 1 do y[row + j] <- x[row + w - 1 - j]
        y

    /// Shift by (dy, dx) filling with `fill`: x'[.., i, j] = x[.., i+dy, j+dx] inside, `fill` outside.
    let translate (shape: int[]) (dy: int) (dx: int) (fill: float32) (x: float32[]) : float32[] =
        let h, w = hw "translate" shape
        let planes = x.Length / (h * w)
        let y = Array.create x.Length fill
        for p in 0 .. planes - 1 do
            let plane = p * h * w
            for i in max 0 (-dy) .. min (h - 1) (h - 1 - dy) do
                for j in max 0 (-dx) .. min (w - 1) (w - 1 - dx) do
                    y[plane + i * w + j] <- x[plane + (i + dy) * w + j + dx]
        y

    /// No change.
    let identity : Augment = fun _ _ x -> x

    /// Flips left-right with probability p (one uniform draw per sample).
    let randomHorizontalFlip (p: float) : Augment =
        if p < 0.0 || p > 1.0 then invalidArg "p" (sprintf "augment.randomHorizontalFlip: p must be in [0,1] (got %g)" p)
        fun gen shape x -> if gen.NextDouble() < p then flipHorizontal shape x else x

    /// Random crop of the image padded by `padding` on each side with `fill` (torchvision's
    /// RandomCrop(size, padding)): a translation by (dy, dx) uniform in [-padding, padding]².
    let randomCrop (padding: int) (fill: float32) : Augment =
        if padding < 0 then invalidArg "padding" (sprintf "augment.randomCrop: padding must be >= 0 (got %d)" padding)
        fun gen shape x ->
            let dy = gen.NextInt(-padding, padding + 1)
            let dx = gen.NextInt(-padding, padding + 1)
            translate shape dy dx fill x

    /// Adds independent Gaussian noise: x' = x + sigma * N(0,1).
    let gaussianNoise (sigma: float) : Augment =
        if sigma < 0.0 then invalidArg "sigma" (sprintf "augment.gaussianNoise: sigma must be >= 0 (got %g)" sigma)
        fun gen _ x -> x |> Array.map (fun v -> v + float32 (sigma * gen.NextNormal()))

    /// Applies augmentations left to right.
    let compose (augments: Augment list) : Augment =
        let composed gen shape x = augments |> List.fold (fun x a -> a gen shape x) x
        composed

    /// The training command's augmentation: a horizontal flip with probability p, then a random crop
    /// after `padding` pixels of `fill` on each side.
    let flipAndCrop (p: float) (padding: int) (fill: float32) : Augment =
        compose [ randomHorizontalFlip p; randomCrop padding fill ]

/// One mini-batch: inputs float32 [B, ..sample shape], targets int64 [B], and the dataset indices used.
type Batch = { Inputs: Tensor; Targets: Tensor; Indices: int[] }

/// How a DataLoader batches a dataset.
type DataLoaderOptions =
    { /// Samples per batch.
      BatchSize: int
      /// Visit the samples in a seeded random order each epoch.
      Shuffle: bool
      /// Seed of the shuffle and of the augmentations.
      Seed: int
      /// Drop the last batch when it is smaller than BatchSize.
      DropLast: bool
      /// Batches prepared ahead on a background thread (0 = none, prepare on the caller's thread).
      Prefetch: int
      /// Shape of one sample in the batch tensor (None = the dataset's SampleShape; e.g. [784] to flatten).
      SampleShape: int[] option
      /// Augmentation applied to each sample (None = none).
      Augment: Augment option
      /// Visit only these dataset indices (a train/validation split without copying images; None = all).
      Subset: int[] option }
    /// Batch size `batchSize`, shuffled with seed 0, last batch kept, one batch prefetched, no augmentation.
    static member Default(batchSize: int) =
        { BatchSize = batchSize; Shuffle = true; Seed = 0; DropLast = false; Prefetch = 1; SampleShape = None; Augment = None; Subset = None }

/// Batches of a dataset as tensors, in a seeded order that depends only on (seed, epoch), with an
/// optional background thread preparing the next batch while the current one trains.
type DataLoader(dataset: Dataset, options: DataLoaderOptions) =
    do
        if options.BatchSize <= 0 then invalidArg "options" (sprintf "dataloader: BatchSize must be > 0 (got %d)" options.BatchSize)
        if options.Prefetch < 0 then invalidArg "options" (sprintf "dataloader: Prefetch must be >= 0 (got %d)" options.Prefetch)
    let sampleShape = defaultArg options.SampleShape dataset.SampleShape
    do
        if Shape.numel sampleShape <> dataset.SampleSize then
            invalidArg "options" (sprintf "dataloader: SampleShape %s holds %d values but the dataset's samples %s hold %d" (Shape.show sampleShape) (Shape.numel sampleShape) (Shape.show dataset.SampleShape) dataset.SampleSize)
    let subset = options.Subset |> Option.map Array.copy
    do
        subset |> Option.iter (Array.iter (fun i ->
            if i < 0 || i >= dataset.Count then
                invalidArg "options" (sprintf "dataloader: Subset index %d is outside the dataset (0..%d)" i (dataset.Count - 1))))
    let n = match subset with Some s -> s.Length | None -> dataset.Count
    let batchCount =
        if options.DropLast then n / options.BatchSize else (n + options.BatchSize - 1) / options.BatchSize

    // splitmix64 (Steele, Lea, Flood 2014) of (seed, stream, index): independent seeds per epoch and batch
    static let derive (seed: int) (stream: int) (index: int) =
        let mutable z = (uint64 (uint32 seed) <<< 32 ||| uint64 (uint32 index)) + uint64 stream * 0x9E3779B97F4A7C15UL
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        int (uint32 (z ^^^ (z >>> 31)))

    /// The dataset.
    member _.Dataset = dataset
    /// The options.
    member _.Options = options
    /// Batches per epoch.
    member _.BatchCount = batchCount

    /// The order in which epoch `epoch` visits the samples (a seeded permutation when shuffling).
    member _.Order(epoch: int) : int[] =
        let positions = if options.Shuffle then Generator(derive options.Seed 1 epoch).Permutation n else Array.init n id
        match subset with
        | Some s -> positions |> Array.map (fun k -> s.[k])
        | None -> positions

    /// Builds batch `b` of an epoch from its order.
    member private _.MakeBatch(order: int[], epoch: int, b: int) : Batch =
        let start = b * options.BatchSize
        let indices = order[start .. min n (start + options.BatchSize) - 1]
        let size = dataset.SampleSize
        // every value is written below (a copied sample, or an augmented one of checked length): not zeroed first
        let x = GC.AllocateUninitializedArray<float32> (indices.Length * size)
        match options.Augment with
        | None ->
            indices |> Array.iteri (fun k i -> dataset.CopyInput(i, Span(x, k * size, size)))
        | Some augment ->
            let gen = Generator(derive options.Seed (2 + epoch) b)
            indices |> Array.iteri (fun k i ->
                let sample = fst dataset[i]
                let y = augment gen sampleShape sample
                if y.Length <> size then
                    invalidOp (sprintf "dataloader: an augmentation returned %d values for a sample of shape %s (%d expected)" y.Length (Shape.show sampleShape) size)
                Array.blit y 0 x (k * size) size)
        let y = indices |> Array.map dataset.Target
        // x and y are fresh and owned by the batch: wrapped, not copied again
        { Inputs = Tensor(Create.cpu.FromFloat32(x, Array.append [| indices.Length |] sampleShape))
          Targets = Tensor(Create.cpu.FromInt64(y, [| indices.Length |]))
          Indices = indices }

    /// The batches of epoch `epoch` (0-based): the same (seed, epoch) gives the same batches with or
    /// without prefetching. Stopping the enumeration early stops the prefetch thread.
    member this.Batches(epoch: int) : seq<Batch> =
        let order = this.Order epoch
        if options.Prefetch = 0 then
            seq { for b in 0 .. batchCount - 1 -> this.MakeBatch(order, epoch, b) }
        else
            seq {
                use queue = new BlockingCollection<Choice<Batch, exn>>(options.Prefetch)
                use cts = new CancellationTokenSource()
                let produce () =
                    try
                        try
                            for b in 0 .. batchCount - 1 do
                                queue.Add(Choice1Of2(this.MakeBatch(order, epoch, b)), cts.Token)
                        with
                        | :? OperationCanceledException -> ()
                        | e -> try queue.Add(Choice2Of2 e, cts.Token) with _ -> ()
                    finally
                        queue.CompleteAdding()
                let producer = Thread(produce, IsBackground = true, Name = "hybrid-dataloader-prefetch")
                producer.Start()
                try
                    for item in queue.GetConsumingEnumerable() do
                        match item with
                        | Choice1Of2 batch -> yield batch
                        | Choice2Of2 e -> ExceptionDispatchInfo.Capture(e).Throw()
                finally
                    cts.Cancel()
                    producer.Join()
            }
