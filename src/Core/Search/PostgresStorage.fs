namespace Hybrid.Core.Search

open System
open Npgsql

/// A study storage in a PostgreSQL database, for workers on several machines: the schema of SqliteStorage
/// (BIGSERIAL keys, DOUBLE PRECISION values); every write transaction first takes one transaction-scoped advisory
/// lock, the equivalent of SQLite's BEGIN IMMEDIATE, so trial numbers stay dense and unique; serialization failures
/// and deadlocks are retried like SQLITE_BUSY.
module PostgresStorage =
    let private advisoryKey = 0x48796272L // "Hybr"

    let private isBusy (e: exn) =
        match e with
        | :? PostgresException as p -> p.SqlState = "40001" || p.SqlState = "40P01" || p.SqlState = "55P03"
        | _ -> false

    /// The Npgsql connection string of a URL postgresql://user[:password]@host[:port]/database; fails naming the URL.
    let connectionString (url: string) =
        let bad why = invalidArg "url" (sprintf "search storage: '%s' is not a PostgreSQL URL (%s; expected postgresql://user@host:port/db)" url why)
        let ok, uri = Uri.TryCreate(url, UriKind.Absolute)
        if not ok then bad "not a URL"
        if uri.Scheme <> "postgresql" && uri.Scheme <> "postgres" then bad (sprintf "scheme %s" uri.Scheme)
        let db = uri.AbsolutePath.TrimStart '/'
        if db = "" then bad "no database"
        if uri.Host = "" then bad "no host"
        let user, password =
            match uri.UserInfo.Split(':', 2) with
            | [| u |] when u <> "" -> Uri.UnescapeDataString u, None
            | [| u; p |] when u <> "" -> Uri.UnescapeDataString u, Some(Uri.UnescapeDataString p)
            | _ -> bad "no user"
        let b = NpgsqlConnectionStringBuilder(Host = uri.Host, Port = (if uri.Port > 0 then uri.Port else 5432), Database = db, Username = user)
        password |> Option.iter (fun p -> b.Password <- p)
        b.ToString()

    /// Opens the study storage in the database at this URL, creating the schema if absent.
    let openUrl (url: string) : IStorage =
        let cs = connectionString url
        let uri = Uri url
        let dialect =
            { Describe = sprintf "postgresql %s:%d%s" uri.Host uri.Port uri.AbsolutePath
              Open = fun () ->
                  let conn = new NpgsqlConnection(cs)
                  conn.Open()
                  conn :> Data.Common.DbConnection
              BeginWrite = fun conn -> conn.BeginTransaction(Data.IsolationLevel.ReadCommitted)
              LockSql = Some(sprintf "SELECT pg_advisory_xact_lock(%d)" advisoryKey)
              Schema = SqlSchema.tables "BIGSERIAL PRIMARY KEY" "DOUBLE PRECISION"
              IsBusy = isBusy
              Close = fun () -> NpgsqlConnection.ClearPool(new NpgsqlConnection(cs)) }
        new SqlStorage(dialect) :> IStorage

/// Opening a storage from what a user writes: a postgresql:// URL or a SQLite file path.
module StorageUrl =
    /// postgresql://... opens PostgresStorage; anything else is a SQLite file.
    let openStorage (spec: string) : IStorage =
        if spec.StartsWith("postgresql://", StringComparison.Ordinal) || spec.StartsWith("postgres://", StringComparison.Ordinal) then
            PostgresStorage.openUrl spec
        else SqliteStorage.openFile spec
