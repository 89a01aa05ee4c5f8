/// A throwaway PostgreSQL server for the storage tests: Debian's postgresql (15) binaries, run as the `postgres`
/// user (initdb and postgres refuse root) through runuser, in a temporary data directory, on a free loopback port,
/// with trust authentication; stopped (and its directory removed) when the test process exits.
module Hybrid.Tests.PostgresServer

open System
open System.Diagnostics
open System.IO
open System.Net
open System.Net.Sockets

let private binDir =
    [ "/usr/lib/postgresql/15/bin"; "/usr/lib/postgresql/16/bin"; "/usr/lib/postgresql/17/bin" ]
    |> List.tryFind (fun d -> File.Exists(Path.Combine(d, "initdb")))

let private isRoot = Environment.UserName = "root"

let private run (exe: string) (args: string list) =
    let psi =
        if isRoot then ProcessStartInfo("runuser", [ "-u"; "postgres"; "--"; exe ] @ args)
        else ProcessStartInfo(exe, args)
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEnd()
    p.WaitForExit()
    if p.ExitCode <> 0 then failwithf "%s %s failed (%d): %s %s" exe (String.Join(" ", args)) p.ExitCode out.Result err

let private freePort () =
    let l = new TcpListener(IPAddress.Loopback, 0)
    l.Start()
    let port = (l.LocalEndpoint :?> IPEndPoint).Port
    l.Stop()
    port

/// A running server: its URL (postgresql://postgres@127.0.0.1:port/db) or why there is none.
let server : Lazy<Result<string, string>> =
    lazy
        match binDir with
        | None -> Error "PostgreSQL binaries (Debian's postgresql package) are not installed: the PostgreSQL storage is untested here"
        | Some bin ->
            try
                // folders of earlier test processes whose exit could not remove them (the host may end first)
                for old in Directory.GetDirectories(Path.GetTempPath(), "hybrid-pg-*") do
                    match Int32.TryParse((Path.GetFileName old).Split('-').[2]) with
                    | true, pid when not (File.Exists(sprintf "/proc/%d/stat" pid)) -> (try Directory.Delete(old, true) with _ -> ())
                    | _ -> ()
                let dir = Path.Combine(Path.GetTempPath(), sprintf "hybrid-pg-%d-%s" Environment.ProcessId (Guid.NewGuid().ToString("N").[..7]))
                Directory.CreateDirectory dir |> ignore
                if isRoot then
                    Process.Start("chown", [ "postgres:postgres"; dir ]).WaitForExit()
                let data = Path.Combine(dir, "data")
                run (Path.Combine(bin, "initdb")) [ "-D"; data; "-A"; "trust"; "-U"; "postgres"; "--no-sync" ]
                let port = freePort ()
                run (Path.Combine(bin, "pg_ctl"))
                    [ "-D"; data; "-l"; Path.Combine(dir, "log"); "-w"; "-t"; "30"
                      "-o"; sprintf "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" port dir; "start" ]
                AppDomain.CurrentDomain.ProcessExit.Add(fun _ ->
                    try
                        run (Path.Combine(bin, "pg_ctl")) [ "-D"; data; "-m"; "immediate"; "-w"; "stop" ]
                        Directory.Delete(dir, true)
                    with _ -> ())
                run (Path.Combine(bin, "createdb")) [ "-h"; "127.0.0.1"; "-p"; string port; "-U"; "postgres"; "hybrid" ]
                Ok(sprintf "postgresql://postgres@127.0.0.1:%d/hybrid" port)
            with e -> Error(sprintf "could not start PostgreSQL: %s" e.Message)

/// A fresh database on the server for one test (so tests do not see each other's studies).
let freshDatabase (name: string) =
    match server.Force() with
    | Error why -> Error why
    | Ok url ->
        let port = Uri(url).Port
        let db = sprintf "%s_%s" name (Guid.NewGuid().ToString("N").[..7])
        run (Path.Combine(binDir.Value, "createdb")) [ "-h"; "127.0.0.1"; "-p"; string port; "-U"; "postgres"; db ]
        Ok(sprintf "postgresql://postgres@127.0.0.1:%d/%s" port db)

/// A fact skipped, with the reason shown, where no PostgreSQL server can be started.
type PostgresFactAttribute() as this =
    inherit Xunit.FactAttribute()
    do match server.Force() with Error why -> this.Skip <- why | Ok _ -> ()
