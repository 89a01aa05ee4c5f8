namespace Hybrid.Core.Search

open System
open System.IO
open Microsoft.Data.Sqlite

/// A study storage in one SQLite file (runs/<search>/study.db), shared safely by many threads and processes on one
/// machine: the journal is a write-ahead log (readers never block the writer), every connection waits up to
/// `busy_timeout` for the write lock, every write is a BEGIN IMMEDIATE transaction (the lock is taken before the
/// next trial number is read, so two processes can never take the same number), and SqlStorage retries a write
/// that still found the file busy, for at most a minute, then fails naming the file.
/// synchronous = FULL: a committed trial survives the process being killed and the machine losing power.
module SqliteStorage =
    /// SQLITE_BUSY (5) and SQLITE_LOCKED (6): another connection holds the lock.
    let private isBusy (e: exn) =
        match e with
        | :? SqliteException as s -> s.SqliteErrorCode = 5 || s.SqliteErrorCode = 6
        | _ -> false

    /// Opens (creating if absent) the study database at this path; its folder must exist.
    let openFile (path: string) : IStorage =
        if String.IsNullOrWhiteSpace path then invalidArg "path" "search storage: the SQLite path is empty"
        let full = Path.GetFullPath path
        let dir = Path.GetDirectoryName full
        if not (Directory.Exists dir) then
            raise (DirectoryNotFoundException(sprintf "search storage: folder %s of the SQLite file %s does not exist" dir path))
        let cs = SqliteConnectionStringBuilder(DataSource = full, Pooling = true, DefaultTimeout = 30).ToString()
        let openConnection () =
            let conn = new SqliteConnection(cs)
            conn.Open()
            use cmd = conn.CreateCommand()
            cmd.CommandText <- "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"
            cmd.ExecuteNonQuery() |> ignore
            conn :> Data.Common.DbConnection
        let dialect =
            { Describe = sprintf "sqlite %s" path
              Open = openConnection
              BeginWrite = fun conn -> (conn :?> SqliteConnection).BeginTransaction(deferred = false) :> Data.Common.DbTransaction
              LockSql = None
              Schema = SqlSchema.tables "INTEGER PRIMARY KEY" "REAL"
              IsBusy = isBusy
              Close = fun () -> SqliteConnection.ClearPool(new SqliteConnection(cs)) }
        new SqlStorage(dialect) :> IStorage
