namespace Hybrid.Core.Durability

open System
open System.IO

/// How a run folder is claimed: a new run (the folder must not exist), a resumed one (it must), or a
/// new run that replaces an existing one's contents (the user asked for it by name).
type ClaimMode =
    | New
    | Resume
    | Overwrite

/// A run folder held by this process: its lock file is open with FileShare.None (an exclusive flock
/// on POSIX) until Dispose, so a second process claiming the same folder is refused while this one lives.
type RunClaim(path: string, lockStream: FileStream) =
    /// The claimed folder (full path).
    member _.Path = path
    /// Releases the lock (the lock file stays: it marks the folder as a run's).
    member _.Dispose() = lockStream.Dispose()
    interface IDisposable with
        member c.Dispose() = c.Dispose()

/// Claims run folders (training runs, search trials, ranks of a distributed job) so that no run
/// overwrites or interleaves with another. A new claim creates the folder's lock file with an
/// exclusive create (FileMode.CreateNew: exactly one process ever succeeds for a folder), then keeps
/// it open with FileShare.None for the run's lifetime; resume and overwrite open the existing lock
/// file exclusively, so they are refused while another process holds the run.
module RunFolder =
    /// The lock file's name inside a run folder.
    let lockName = ".lock"

    /// A unique default run name: `prefix-yyyyMMdd-HHmmss-fff-xxxx` (local time to the millisecond
    /// plus 4 random hex digits), so jobs started in the same millisecond still differ.
    let uniqueName (prefix: string) =
        let suffix = Random.Shared.Next(0x10000).ToString("x4")
        sprintf "%s-%s-%s" prefix (DateTime.Now.ToString("yyyyMMdd-HHmmss-fff")) suffix

    let private refuse (msg: string) : 'a = raise (IOException msg)

    /// Creates `runs` (the parent of run folders) or explains in one line why it cannot be used.
    let private ensureParent (dir: string) =
        let parent = Path.GetDirectoryName(Path.GetFullPath dir)
        if File.Exists parent then refuse (sprintf "runs folder %s is a file, not a folder" parent)
        try Directory.CreateDirectory parent |> ignore
        with :? IOException | :? UnauthorizedAccessException as e ->
            refuse (sprintf "cannot create the runs folder %s: %s" parent (e.Message.TrimEnd '.'))

    let private openLock (full: string) (mode: FileMode) =
        let lockPath = Path.Combine(full, lockName)
        try new FileStream(lockPath, mode, FileAccess.ReadWrite, FileShare.None)
        with
        | :? UnauthorizedAccessException as e -> refuse (sprintf "run folder %s is not writable: %s" full (e.Message.TrimEnd '.'))
        | :? IOException when mode = FileMode.CreateNew && File.Exists lockPath ->
            refuse (sprintf "run folder %s was claimed by another run started at the same time (choose another --name)" full)
        | :? IOException -> refuse (sprintf "run folder %s is in use by another running process (its %s is locked)" full lockName)

    /// Writes the claimant's process id into the lock file (for people looking at a folder in use).
    let private stamp (s: FileStream) =
        s.SetLength 0L
        let b = Text.Encoding.ASCII.GetBytes(sprintf "%d\n" Environment.ProcessId)
        s.Write(b, 0, b.Length)
        s.Flush true

    /// Claims the run folder `dir` for this process, or raises one IOException saying why not:
    /// New refuses an existing folder (naming --resume and --overwrite), Resume refuses a missing one,
    /// and every mode refuses a folder another living process holds. Overwrite deletes the folder's
    /// previous contents only once the lock is held.
    let claim (mode: ClaimMode) (dir: string) : RunClaim =
        let full = Path.GetFullPath dir
        match mode with
        | New ->
            if Directory.Exists full || File.Exists full then
                refuse (sprintf "run folder %s already exists: pass --resume %s to continue it, or --overwrite to replace it" full dir)
            ensureParent full
            try Directory.CreateDirectory full |> ignore
            with :? IOException | :? UnauthorizedAccessException as e ->
                refuse (sprintf "cannot create the run folder %s: %s" full (e.Message.TrimEnd '.'))
            let s = openLock full FileMode.CreateNew
            // another claimant may have created the folder first and already written into it
            let others = Directory.EnumerateFileSystemEntries full |> Seq.filter (fun p -> Path.GetFileName p <> lockName) |> Seq.isEmpty |> not
            if others then
                s.Dispose()
                refuse (sprintf "run folder %s was claimed by another run started at the same time (choose another --name)" full)
            stamp s
            new RunClaim(full, s)
        | Resume ->
            if not (Directory.Exists full) then refuse (sprintf "run folder %s does not exist (nothing to resume)" full)
            let s = openLock full FileMode.OpenOrCreate
            stamp s
            new RunClaim(full, s)
        | Overwrite ->
            if File.Exists full then refuse (sprintf "run folder %s is a file, not a folder" full)
            ensureParent full
            (try Directory.CreateDirectory full |> ignore
             with :? IOException | :? UnauthorizedAccessException as e ->
                 refuse (sprintf "cannot create the run folder %s: %s" full (e.Message.TrimEnd '.')))
            let s = openLock full FileMode.OpenOrCreate
            try
                for p in Directory.EnumerateFileSystemEntries full |> Seq.toArray do
                    if Path.GetFileName p <> lockName then
                        if Directory.Exists p then Directory.Delete(p, true) else File.Delete p
            with :? IOException | :? UnauthorizedAccessException as e ->
                s.Dispose()
                refuse (sprintf "--overwrite: cannot clear run folder %s: %s" full (e.Message.TrimEnd '.'))
            stamp s
            new RunClaim(full, s)
