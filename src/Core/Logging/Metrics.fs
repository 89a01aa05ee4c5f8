namespace Hybrid.Core.Logging

open System
open System.Globalization
open System.IO

/// One line of a training run's metrics; NaN where a value was not measured at that step
/// (e.g. val_loss between evaluations), written as an empty field.
type MetricsRow =
    { Step: int64
      Epoch: int
      TrainLoss: float
      ValLoss: float
      Accuracy: float
      Lr: float
      /// Seconds since the run started.
      Seconds: float }

/// CSV metrics files: header `step,epoch,train_loss,val_loss,accuracy,lr,seconds`, invariant culture,
/// round-trippable numbers ("R"), empty fields for NaN.
module Metrics =
    /// The header line.
    let header = "step,epoch,train_loss,val_loss,accuracy,lr,seconds"

    let private num (v: float) = if Double.IsNaN v then "" else v.ToString("R", CultureInfo.InvariantCulture)

    /// One row as a CSV line.
    let format (r: MetricsRow) =
        String.Join(",", [| string r.Step; string r.Epoch; num r.TrainLoss; num r.ValLoss; num r.Accuracy; num r.Lr; num r.Seconds |])

    /// Parses one CSV line; `where` names the line in errors.
    let parse (where: string) (line: string) : MetricsRow =
        let f = line.Split ','
        if f.Length <> 7 then
            raise (InvalidDataException(sprintf "metrics: %s: %d fields (expected 7: %s)" where f.Length header))
        let fail (col: string) (v: string) : 'a = raise (InvalidDataException(sprintf "metrics: %s: %s = '%s' is not a number" where col v))
        let flt (i: int) (col: string) =
            if f[i] = "" then nan
            else match Double.TryParse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture) with
                 | true, v -> v
                 | _ -> fail col f[i]
        let step = match Int64.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture) with | true, v -> v | _ -> fail "step" f[0]
        let epoch = match Int32.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture) with | true, v -> v | _ -> fail "epoch" f[1]
        { Step = step; Epoch = epoch; TrainLoss = flt 2 "train_loss"; ValLoss = flt 3 "val_loss"
          Accuracy = flt 4 "accuracy"; Lr = flt 5 "lr"; Seconds = flt 6 "seconds" }

    /// Reads a metrics file (header checked).
    let read (path: string) : MetricsRow[] =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "metrics: file not found: %s" path, path))
        let lines = File.ReadAllLines path
        if lines.Length = 0 || lines[0].Trim() <> header then
            raise (InvalidDataException(sprintf "metrics: %s: first line must be '%s'" path header))
        lines[1..]
        |> Array.mapi (fun i l -> i, l)
        |> Array.filter (fun (_, l) -> l.Trim() <> "")
        |> Array.map (fun (i, l) -> parse (sprintf "%s line %d" path (i + 2)) l)

/// Resuming a run: its metrics file cut back to a checkpoint.
module MetricsPurge =
    /// Rewrites the CSV (atomically) keeping the header and the rows up to `step`: the rows past a
    /// checkpoint, and a torn last line, would otherwise appear twice once the resumed run logs them.
    let purgeAfter (path: string) (step: int64) =
        let lines = File.ReadAllLines path
        let keep (l: string) =
            try (Metrics.parse path l).Step <= step with _ -> false
        let rows = lines |> Array.skip (min 1 lines.Length) |> Array.filter keep
        Hybrid.Core.Durability.AtomicFile.writeAllText "the metrics file" path (String.Join("\n", Array.append [| Metrics.header |] rows) + "\n")

/// Appends metrics rows to a CSV file (header written when the file is new or empty); each row is
/// flushed so the file can be watched while training runs.
type MetricsWriter(path: string) =
    do
        let dir = Path.GetDirectoryName(Path.GetFullPath path)
        Directory.CreateDirectory dir |> ignore
    let writer = new StreamWriter(path, true)
    do
        if writer.BaseStream.Length = 0L then
            writer.WriteLine Metrics.header
            writer.Flush()
    /// The CSV file.
    member _.Path = path
    /// Appends one row.
    member _.Append(row: MetricsRow) =
        lock writer (fun () ->
            writer.WriteLine(Metrics.format row)
            writer.Flush())
    /// Closes the file.
    member _.Dispose() = writer.Dispose()
    interface IDisposable with
        member w.Dispose() = w.Dispose()
