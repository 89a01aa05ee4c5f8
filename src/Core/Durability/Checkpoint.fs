namespace Hybrid.Core.Durability

open System
open System.IO
open System.Security.Cryptography
open System.Text.Json
open System.Text.Json.Nodes

/// One file of a committed checkpoint, as its manifest records it.
type ManifestFile = { Name: string; Size: int64; Sha256: string }

/// The commit record of a checkpoint: written last, after every file it lists is durable. A
/// checkpoint folder without a manifest that parses and matches its files does not exist.
type Manifest = { Step: int64; Epoch: int; Files: ManifestFile list }

/// Committed checkpoints in step-numbered folders `<root>/step-<step>`, as Orbax and SQLite's journal
/// commit: the files are written (each atomically) into a staging folder, read back and hashed into
/// manifest.json, which is written last; the staging folder is then renamed to its step name, and all
/// but the newest `keep` committed checkpoints are deleted. A crash at any moment leaves every
/// previously committed checkpoint intact, and at most a staging folder that `latest` ignores.
module Checkpoint =
    /// The manifest's file name inside a checkpoint folder.
    let manifestName = "manifest.json"

    /// The folder name of the checkpoint at a step (zero-padded so names sort as steps do).
    let folderName (step: int64) = sprintf "step-%012d" step

    let private stepOf (folder: string) =
        let name = Path.GetFileName folder
        match name.StartsWith "step-", Int64.TryParse(name.Substring(min 5 name.Length)) with
        | true, (true, s) when name.Length = 17 -> Some s
        | _ -> None

    let private sha256 (path: string) =
        use s = File.OpenRead path
        Convert.ToHexString(SHA256.HashData s).ToLowerInvariant()

    let private manifestJson (m: Manifest) =
        let o = JsonObject()
        o["step"] <- JsonValue.Create m.Step
        o["epoch"] <- JsonValue.Create m.Epoch
        let files = JsonArray()
        for f in m.Files do
            let e = JsonObject()
            e["name"] <- JsonValue.Create f.Name
            e["size"] <- JsonValue.Create f.Size
            e["sha256"] <- JsonValue.Create f.Sha256
            files.Add e
        o["files"] <- files
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true))

    /// Parses a manifest, or says in a few words why it is not one.
    let parseManifest (text: string) : Result<Manifest, string> =
        try
            match JsonNode.Parse text with
            | :? JsonObject as o ->
                let files =
                    o["files"].AsArray()
                    |> Seq.map (fun f -> { Name = f["name"].GetValue<string>(); Size = f["size"].GetValue<int64>(); Sha256 = f["sha256"].GetValue<string>() })
                    |> Seq.toList
                Ok { Step = o["step"].GetValue<int64>(); Epoch = o["epoch"].GetValue<int>(); Files = files }
            | _ -> Error "the manifest is not a JSON object"
        with
        | :? JsonException -> Error "the manifest is not valid JSON"
        | :? InvalidOperationException | :? FormatException | :? NullReferenceException -> Error "the manifest lacks step, epoch or files"

    /// Checks a checkpoint folder against its manifest: Ok the manifest, or Error why it is damaged.
    let verify (folder: string) : Result<Manifest, string> =
        let mpath = Path.Combine(folder, manifestName)
        if not (File.Exists mpath) then Error "no manifest (the write never committed)"
        else
            match parseManifest (try File.ReadAllText mpath with :? IOException as e -> e.Message) with
            | Error e -> Error e
            | Ok m when stepOf folder <> Some m.Step -> Error(sprintf "the manifest says step %d" m.Step)
            | Ok m ->
                m.Files
                |> List.tryPick (fun f ->
                    let p = Path.Combine(folder, f.Name)
                    if not (File.Exists p) then Some(sprintf "%s is missing" f.Name)
                    elif FileInfo(p).Length <> f.Size then Some(sprintf "%s holds %d bytes, the manifest says %d" f.Name (FileInfo(p).Length) f.Size)
                    elif sha256 p <> f.Sha256 then Some(sprintf "%s does not match its SHA-256" f.Name)
                    else None)
                |> function
                    | Some e -> Error e
                    | None -> Ok m

    /// The committed checkpoint folders under root, newest step first.
    let private stepFolders (root: string) =
        if not (Directory.Exists root) then [||]
        else
            Directory.GetDirectories root
            |> Array.choose (fun d -> stepOf d |> Option.map (fun s -> s, d))
            |> Array.sortByDescending fst

    /// The newest checkpoint under root whose manifest verifies, with one message for each newer one
    /// that did not ("checkpoint step-… is damaged (why); falling back to the previous one").
    let latest (root: string) : (string * Manifest) option * string list =
        let mutable notes = []
        let found =
            stepFolders root
            |> Array.tryPick (fun (_, d) ->
                match verify d with
                | Ok m -> Some(d, m)
                | Error why ->
                    notes <- notes @ [ sprintf "checkpoint %s is damaged (%s); falling back to the previous one" d why ]
                    None)
        found, notes

    /// Commits a checkpoint at `step`: `write folder` writes the files into a staging folder and
    /// returns their names; then the manifest is written last, the folder renamed to its step name,
    /// and all but the newest `keep` committed checkpoints removed. Returns the committed folder.
    /// An I/O error raises one IOException naming the path; committed checkpoints stay untouched.
    let commit (root: string) (step: int64) (epoch: int) (keep: int) (write: string -> string list) : string =
        if keep < 1 then invalidArg "keep" (sprintf "checkpoint: keep %d must be at least 1" keep)
        try Directory.CreateDirectory root |> ignore
        with :? UnauthorizedAccessException as e -> raise (IOException(sprintf "could not create the checkpoint folder %s: %s" root e.Message, e))
        let final = Path.Combine(root, folderName step)
        let staging = Path.Combine(root, sprintf ".%s.%s.tmp" (folderName step) (Guid.NewGuid().ToString("N").Substring(0, 8)))
        let cleanup (d: string) = try (if Directory.Exists d then Directory.Delete(d, true)) with _ -> ()
        try
            Directory.CreateDirectory staging |> ignore
            let names = write staging
            let files = [ for n in names -> let p = Path.Combine(staging, n) in { Name = n; Size = FileInfo(p).Length; Sha256 = sha256 p } ]
            AtomicFile.writeAllText "the checkpoint manifest" (Path.Combine(staging, manifestName)) (manifestJson { Step = step; Epoch = epoch; Files = files })
            // a checkpoint at this step already committed (a resumed run that stops at once) is replaced:
            // moved aside first, so that the moment between the two renames still holds one committed copy
            let aside = final + ".old"
            cleanup aside
            if Directory.Exists final then Directory.Move(final, aside)
            Directory.Move(staging, final)
            AtomicFile.syncFolder root
            cleanup aside
        with
        | :? IOException | :? UnauthorizedAccessException as e ->
            cleanup staging
            match e with
            | :? IOException when e.Message.StartsWith "could not write" -> raise (IOException(e.Message, e))
            | _ -> raise (IOException(sprintf "could not write the checkpoint %s: %s" final (e.Message.TrimEnd '.'), e))
        // retention: the newest `keep` committed checkpoints stay, with stale staging folders removed
        for _, d in stepFolders root |> Array.skip (min keep (stepFolders root).Length) do cleanup d
        for d in Directory.GetDirectories root do
            if Path.GetFileName(d).StartsWith "." then cleanup d
        final
