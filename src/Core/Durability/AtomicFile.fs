namespace Hybrid.Core.Durability

open System
open System.IO
open System.Runtime.InteropServices

/// Writes a file so that a reader sees either the old content or the complete new content, never a
/// part: the bytes go to a temporary name in the same folder, are flushed and fsynced, then renamed
/// over the real name (rename within a folder is atomic on POSIX and NTFS); the folder is fsynced too
/// so that the rename itself survives a power loss. On any I/O error the temporary file is deleted
/// and one IOException names the path and what was being written; the real name is untouched.
module AtomicFile =
    [<DllImport("libc", SetLastError = true, EntryPoint = "open")>]
    extern int private sysOpen(string path, int flags)

    [<DllImport("libc", SetLastError = true, EntryPoint = "fsync")>]
    extern int private sysFsync(int fd)

    [<DllImport("libc", SetLastError = true, EntryPoint = "close")>]
    extern int private sysClose(int fd)

    /// Fsyncs a folder so that renames and creations inside it are durable (POSIX only: Windows
    /// cannot open a folder for flushing, and NTFS journals renames itself). Best effort: a file
    /// system that refuses (some network mounts) leaves the rename as durable as it makes it.
    let syncFolder (folder: string) =
        if not (OperatingSystem.IsWindows()) then
            try
                let fd = sysOpen (folder, 0) // O_RDONLY
                if fd >= 0 then
                    sysFsync fd |> ignore
                    sysClose fd |> ignore
            with :? DllNotFoundException | :? EntryPointNotFoundException -> ()

    /// The temporary name beside `path`: hidden, unique per writer, recognisable as `*.tmp`.
    let tempName (path: string) =
        let full = Path.GetFullPath path
        Path.Combine(Path.GetDirectoryName full, sprintf ".%s.%s.tmp" (Path.GetFileName full) (Guid.NewGuid().ToString("N").Substring(0, 8)))

    // how many writes of the seam's file this process has made (the seam's only state)
    let mutable private seamWrites = 0

    /// The test seam for crash tests: when $HYBRID_TEST_KILL_DURING_CHECKPOINT is `name` or `name:n`,
    /// the process kills itself (SIGKILL on POSIX) halfway through its n-th write (default the first)
    /// of a file called `name`, as a kill -9 or a power loss would. Unset in normal runs.
    let private killSeam (path: string) =
        match Environment.GetEnvironmentVariable "HYBRID_TEST_KILL_DURING_CHECKPOINT" with
        | null | "" -> false
        | spec ->
            let name, nth =
                match spec.LastIndexOf ':' with
                | i when i > 0 && fst (Int32.TryParse(spec.Substring(i + 1))) -> spec.Substring(0, i), Int32.Parse(spec.Substring(i + 1))
                | _ -> spec, 1
            if String.Equals(name, Path.GetFileName path, StringComparison.Ordinal) then
                seamWrites <- seamWrites + 1
                seamWrites = nth
            else false

    let private describe (e: exn) =
        match e with
        | :? IOException when e.HResult = 28 || e.Message.Contains "No space left" -> "no space left on the device"
        | _ -> e.Message.TrimEnd('.')

    /// Writes `bytes` to `path` atomically; `what` says what is written ("model checkpoint") in errors.
    let writeBytes (what: string) (path: string) (bytes: ReadOnlySpan<byte>) =
        let full = Path.GetFullPath path
        let tmp = tempName full
        try
            try
                use s = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 <<< 16)
                if killSeam full then
                    s.Write(bytes.Slice(0, bytes.Length / 2))
                    s.Flush(true)
                    Diagnostics.Process.GetCurrentProcess().Kill()
                    Threading.Thread.Sleep Threading.Timeout.Infinite
                s.Write bytes
                // Flush(true) is fsync (FlushFileBuffers on Windows): the data is on the disk before the rename
                s.Flush true
            with _ ->
                (try File.Delete tmp with _ -> ())
                reraise ()
            try File.Move(tmp, full, true)
            with _ ->
                (try File.Delete tmp with _ -> ())
                reraise ()
            syncFolder (Path.GetDirectoryName full)
        with
        | :? IOException | :? UnauthorizedAccessException as e ->
            raise (IOException(sprintf "could not write %s to %s: %s" what full (describe e), e))

    /// Writes an array atomically.
    let writeAllBytes (what: string) (path: string) (bytes: byte[]) = writeBytes what path (ReadOnlySpan bytes)

    /// Writes UTF-8 text atomically.
    let writeAllText (what: string) (path: string) (text: string) =
        writeAllBytes what path (Text.Encoding.UTF8.GetBytes text)
