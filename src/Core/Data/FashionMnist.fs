namespace Hybrid.Core.Data

open System
open System.IO

/// Where the Fashion-MNIST files were found, in the order they are looked for.
type DataSource =
    /// A directory given explicitly (`--data DIR`).
    | ExplicitDir of dir: string
    /// The directory in the HYBRID_DATA environment variable.
    | EnvironmentDir of dir: string
    /// The system-wide copy (Debian's `dataset-fashion-mnist` package).
    | SystemDir of dir: string
    /// The 2,000 train / 1,000 test sample embedded in Hybrid.Core.
    | EmbeddedSample
    override s.ToString() =
        match s with
        | ExplicitDir d -> sprintf "directory %s (explicit)" d
        | EnvironmentDir d -> sprintf "directory %s (HYBRID_DATA)" d
        | SystemDir d -> sprintf "directory %s (system package)" d
        | EmbeddedSample -> "embedded sample (2,000 train / 1,000 test images)"

/// One split of an image classification set: `Count` images of `Rows` x `Cols`, float32 in [0,1]
/// (or standardised), and int64 class labels.
type ImageSplit =
    { Count: int
      Rows: int
      Cols: int
      /// Count * Rows * Cols values, image-major then row-major.
      Images: float32[]
      /// Count labels in 0..9.
      Labels: int64[] }

/// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 60,000 train and 10,000 test 28x28 grey images, 10 classes.
type FashionMnistData = { Source: DataSource; Train: ImageSplit; Test: ImageSplit }

/// Locating and loading Fashion-MNIST.
module FashionMnist =
    /// Mean of the training pixels scaled to [0,1].
    let mean = 0.2860f
    /// Standard deviation of the training pixels scaled to [0,1].
    let std = 0.3530f
    /// The environment variable naming a data directory.
    let envVar = "HYBRID_DATA"
    /// Where Debian's `dataset-fashion-mnist` package installs the files.
    let systemDir = "/usr/share/datasets/fashion-mnist"
    /// The class names, by label.
    let classNames =
        [| "T-shirt/top"; "Trouser"; "Pullover"; "Dress"; "Coat"; "Sandal"; "Shirt"; "Sneaker"; "Bag"; "Ankle boot" |]
    /// The four file stems (each may be plain or end in ".gz").
    let fileStems =
        [| "train-images-idx3-ubyte"; "train-labels-idx1-ubyte"; "t10k-images-idx3-ubyte"; "t10k-labels-idx1-ubyte" |]

    /// The path of a stem in a directory: the plain file if present, else the .gz one, else None.
    let private find (dir: string) (stem: string) =
        [ Path.Combine(dir, stem); Path.Combine(dir, stem + ".gz") ] |> List.tryFind File.Exists

    /// The stems a directory lacks (empty when it holds the whole data set).
    let missingIn (dir: string) =
        fileStems |> Array.filter (fun s -> (find dir s).IsNone)

    let private holds (dir: string) = Directory.Exists dir && (missingIn dir).Length = 0

    let private require (what: string) (dir: string) =
        if not (Directory.Exists dir) then
            raise (DirectoryNotFoundException(sprintf "fashion-mnist: %s directory %s does not exist" what dir))
        let missing = missingIn dir
        if missing.Length > 0 then
            raise (FileNotFoundException(sprintf "fashion-mnist: %s directory %s lacks %s (plain or .gz)" what dir (String.Join(", ", missing))))

    /// Chooses the source: an explicit directory, then `envValue` (HYBRID_DATA), then `systemDir`,
    /// then the embedded sample. An explicit or environment directory that lacks a file is an error
    /// (the user asked for it); a system directory that lacks one is passed over.
    let locateWith (explicitDir: string option) (envValue: string option) (systemDir: string) : DataSource =
        match explicitDir, envValue |> Option.filter (String.IsNullOrWhiteSpace >> not) with
        | Some d, _ -> require "explicit (--data)" d; ExplicitDir d
        | None, Some d -> require "HYBRID_DATA" d; EnvironmentDir d
        | None, None -> if holds systemDir then SystemDir systemDir else EmbeddedSample

    /// Chooses the source from an explicit directory, the HYBRID_DATA variable, the system directory,
    /// and last the embedded sample.
    let locate (explicitDir: string option) : DataSource =
        locateWith explicitDir (Option.ofObj (Environment.GetEnvironmentVariable envVar)) systemDir

    let private sampleResource (stem: string) =
        let name = "fashion-mnist-sample/" + stem + ".gz"
        let asm = typeof<DataSource>.Assembly
        use s = asm.GetManifestResourceStream name
        if isNull s then invalidOp (sprintf "fashion-mnist: the embedded sample %s is missing from %s" name asm.FullName)
        use m = new MemoryStream()
        s.CopyTo m
        "embedded:" + name, m.ToArray()

    /// The named bytes of one file of a source.
    let private fileBytes (source: DataSource) (stem: string) =
        match source with
        | ExplicitDir d | EnvironmentDir d | SystemDir d ->
            match find d stem with
            | Some p -> p, Idx.readBytes p
            | None -> raise (FileNotFoundException(sprintf "fashion-mnist: %s lacks %s (plain or .gz)" d stem))
        | EmbeddedSample -> sampleResource stem

    // x = byte / 255, then (x - mean) / std when standardised
    let private toFloats (standardize: bool) (pixels: byte[]) =
        if standardize then pixels |> Array.map (fun b -> (float32 b / 255.0f - mean) / std)
        else pixels |> Array.map (fun b -> float32 b / 255.0f)

    let private split (source: DataSource) (standardize: bool) (imagesStem: string) (labelsStem: string) =
        let images = fileBytes source imagesStem ||> Idx.parseImages
        let labelsName, labelBytes = fileBytes source labelsStem
        let labels = Idx.parseLabels labelsName labelBytes
        if labels.Length <> images.Count then
            raise (InvalidDataException(sprintf "fashion-mnist: %s holds %d labels but its images file holds %d images" labelsName labels.Length images.Count))
        { Count = images.Count; Rows = images.Rows; Cols = images.Cols
          Images = toFloats standardize images.Pixels
          Labels = labels |> Array.map int64 }

    /// Loads both splits from a source, pixels scaled to [0,1] and standardised when `standardize`.
    let loadFrom (source: DataSource) (standardize: bool) : FashionMnistData =
        { Source = source
          Train = split source standardize fileStems[0] fileStems[1]
          Test = split source standardize fileStems[2] fileStems[3] }

    /// Locates (see `locate`) and loads the data set; `Source` says where it came from.
    let load (explicitDir: string option) (standardize: bool) : FashionMnistData =
        loadFrom (locate explicitDir) standardize

    /// Writes the first `nTrain` training and `nTest` test images and labels of the data set in
    /// `sourceDir` to `targetDir` as gzip IDX files (how data/fashion-mnist-sample was made).
    let writeSample (sourceDir: string) (targetDir: string) (nTrain: int) (nTest: int) =
        require "source" sourceDir
        Directory.CreateDirectory targetDir |> ignore
        let copy (stem: string) (n: int) (isImages: bool) =
            let src = (find sourceDir stem).Value
            let dst = Path.Combine(targetDir, stem + ".gz")
            if isImages then Idx.writeImages dst (Idx.takeImages n (Idx.readImages src))
            else Idx.writeLabels dst (Idx.readLabels src |> Array.truncate n)
        copy fileStems[0] nTrain true
        copy fileStems[1] nTrain false
        copy fileStems[2] nTest true
        copy fileStems[3] nTest false
