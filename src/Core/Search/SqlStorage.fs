namespace Hybrid.Core.Search

open System
open System.Data
open System.Data.Common
open System.IO
open System.Threading

/// What differs between the SQL databases a study can live in; SqlStorage does the rest in portable SQL.
type SqlDialect =
    { /// For messages: "sqlite runs/s/study.db".
      Describe: string
      /// A new open connection, configured (busy timeout, ...).
      Open: unit -> DbConnection
      /// Starts a write transaction that holds the database's write lock from its first statement
      /// (SQLite: BEGIN IMMEDIATE), so that reading the next trial number and inserting it cannot interleave.
      BeginWrite: DbConnection -> DbTransaction
      /// Run first in every write transaction where BeginWrite alone does not serialize writers
      /// (PostgreSQL: a transaction-scoped advisory lock).
      LockSql: string option
      /// The schema's statements (CREATE TABLE IF NOT EXISTS ...), in order.
      Schema: string list
      /// Whether an exception means "another writer holds the lock: try again" (SQLITE_BUSY, a serialization failure).
      IsBusy: exn -> bool
      /// Releases what the dialect holds (pooled connections, so that the file can be deleted).
      Close: unit -> unit }

/// The schema both databases share; `id` and `real` are each database's auto-increment key and 64-bit float.
module SqlSchema =
    /// The version this code writes and reads; another version in a file is refused with both numbers.
    let version = 1L

    /// The tables: schema_version, studies, trials, params, intermediate_values, trial_attributes.
    let tables (id: string) (real: string) =
        [ "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"
          sprintf "CREATE TABLE IF NOT EXISTS studies (study_id %s, name TEXT NOT NULL UNIQUE, direction TEXT NOT NULL, settings TEXT NOT NULL, created BIGINT NOT NULL)" id
          sprintf "CREATE TABLE IF NOT EXISTS trials (trial_id %s, study_id BIGINT NOT NULL REFERENCES studies(study_id), number BIGINT NOT NULL, state TEXT NOT NULL, value %s, reason TEXT, worker TEXT, started BIGINT, ended BIGINT, heartbeat BIGINT, UNIQUE (study_id, number))" id real
          "CREATE INDEX IF NOT EXISTS trials_by_state ON trials (study_id, state, number)"
          "CREATE TABLE IF NOT EXISTS params (trial_id BIGINT NOT NULL REFERENCES trials(trial_id), name TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (trial_id, name))"
          sprintf "CREATE TABLE IF NOT EXISTS intermediate_values (trial_id BIGINT NOT NULL REFERENCES trials(trial_id), step BIGINT NOT NULL, value %s, PRIMARY KEY (trial_id, step))" real
          "CREATE TABLE IF NOT EXISTS trial_attributes (trial_id BIGINT NOT NULL REFERENCES trials(trial_id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (trial_id, key))" ]

/// A study storage over any ADO.NET database, given its dialect. Each call opens a (pooled) connection, so one
/// instance serves many threads; every write is one transaction, retried while the database reports it busy, up to
/// a bound, after which the error names the database.
/// What one storage object has read of a study: its finished trials (COMPLETE, PRUNED, FAIL: no write changes them
/// any more), the highest trial id read, and the ids of the trials that were unfinished when last read.
type private StudyCache() =
    member val Finished = ResizeArray<Trial>()
    member val MaxId = 0L with get, set
    member val Open = ResizeArray<int64>()
    /// The connection Trials reads with, kept open between calls (opening runs the dialect's setup statements).
    member val Connection: DbConnection = null with get, set

type SqlStorage(dialect: SqlDialect, ?maxWait: TimeSpan) =
    let maxWait = defaultArg maxWait (TimeSpan.FromSeconds 60.0)
    let caches = Collections.Generic.Dictionary<int64, StudyCache>()
    let ms (t: DateTimeOffset) = t.ToUnixTimeMilliseconds()
    let ofMs (v: obj) = if isNull v || v = box DBNull.Value then None else Some(DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64 v))

    let command (conn: DbConnection) (tx: DbTransaction) (sql: string) (args: (string * obj) list) =
        let cmd = conn.CreateCommand()
        cmd.CommandText <- sql
        cmd.Transaction <- tx
        for (name, v) in args do
            let p = cmd.CreateParameter()
            p.ParameterName <- name
            p.Value <- (if isNull v then box DBNull.Value else v)
            cmd.Parameters.Add p |> ignore
        cmd

    let exec conn tx sql args =
        use cmd = command conn tx sql args
        cmd.ExecuteNonQuery()

    let scalar conn tx sql args =
        use cmd = command conn tx sql args
        let v = cmd.ExecuteScalar()
        if isNull v || v = box DBNull.Value then None else Some v

    let rows conn tx sql args (read: DbDataReader -> 'a) =
        use cmd = command conn tx sql args
        use r = cmd.ExecuteReader()
        [| while r.Read() do yield read r |]

    // NaN is stored as NULL (SQLite turns a bound NaN into NULL anyway); NULL reads back as NaN
    let real (x: float) = if Double.IsNaN x then null else box x
    let readReal (r: DbDataReader) i = if r.IsDBNull i then nan else r.GetDouble i

    /// Runs f in a write transaction, retrying while the database is busy (with a growing pause) for at most maxWait.
    let write (f: DbConnection -> DbTransaction -> 'a) : 'a =
        let clock = Diagnostics.Stopwatch.StartNew()
        let rec attempt (n: int) =
            let outcome =
                try
                    use conn = dialect.Open()
                    use tx = dialect.BeginWrite conn
                    dialect.LockSql |> Option.iter (fun sql -> exec conn tx sql [] |> ignore)
                    let result = f conn tx
                    tx.Commit()
                    Ok result
                with e when dialect.IsBusy e -> Error e
            match outcome with
            | Ok r -> r
            | Error e when clock.Elapsed < maxWait ->
                Thread.Sleep(min 200 (5 <<< min n 6) + Random.Shared.Next 10)
                attempt (n + 1)
            | Error e ->
                raise (InvalidOperationException(
                    sprintf "search storage %s: still locked after %d attempts over %.1f s: %s" dialect.Describe (n + 1) clock.Elapsed.TotalSeconds e.Message, e))
        attempt 0

    let read (f: DbConnection -> 'a) : 'a =
        use conn = dialect.Open()
        f conn

    let trialId conn tx (study: int64) (number: int) =
        scalar conn tx "SELECT trial_id FROM trials WHERE study_id = @s AND number = @n" [ "@s", box study; "@n", box (int64 number) ]
        |> Option.map Convert.ToInt64

    let nextNumber conn tx (study: int64) =
        scalar conn tx "SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE study_id = @s" [ "@s", box study ]
        |> Option.map Convert.ToInt64 |> Option.defaultValue 0L

    let insertParams conn tx (trial: int64) (config: Config) =
        for KeyValue(name, v) in config do
            let kind, text = StorageText.value v
            exec conn tx "INSERT INTO params (trial_id, name, kind, value) VALUES (@t, @n, @k, @v)"
                [ "@t", box trial; "@n", box name; "@k", box kind; "@v", box text ] |> ignore

    let insertTrial conn tx (study: int64) (state: TrialState) (worker: string) (now: DateTimeOffset) =
        let number = nextNumber conn tx study
        let running = state = Running
        let id =
            scalar conn tx
                "INSERT INTO trials (study_id, number, state, worker, started, heartbeat) VALUES (@s, @n, @st, @w, @t, @h) RETURNING trial_id"
                [ "@s", box study; "@n", box number; "@st", box (StorageText.state state)
                  "@w", (if running then box worker else null); "@t", (if running then box (ms now) else null)
                  "@h", (if running then box (ms now) else null) ]
            |> Option.get |> Convert.ToInt64
        id, int number

    let configOf conn tx (trial: int64) : Config =
        rows conn tx "SELECT name, kind, value FROM params WHERE trial_id = @t" [ "@t", box trial ]
            (fun r -> r.GetString 0, StorageText.parseValue (r.GetString 1) (r.GetString 2))
        |> Map.ofArray

    let study (r: DbDataReader) =
        { Id = r.GetInt64 0; Name = r.GetString 1; Direction = StorageText.parseDirection (r.GetString 2); Settings = r.GetString 3 }

    do
        write (fun conn tx ->
            for sql in dialect.Schema do exec conn tx sql [] |> ignore
            match scalar conn tx "SELECT MAX(version) FROM schema_version" [] with
            | None -> exec conn tx "INSERT INTO schema_version (version) VALUES (@v)" [ "@v", box SqlSchema.version ] |> ignore
            | Some v when Convert.ToInt64 v = SqlSchema.version -> ()
            | Some v ->
                raise (InvalidDataException(
                    sprintf "search storage %s: schema version %d, this program reads version %d" dialect.Describe (Convert.ToInt64 v) SqlSchema.version)))

    interface IStorage with
        member _.Describe = dialect.Describe

        member _.CreateStudy(name, direction, settings) =
            if String.IsNullOrWhiteSpace name then invalidArg "name" "search storage: a study needs a non-empty name"
            write (fun conn tx ->
                if (scalar conn tx "SELECT study_id FROM studies WHERE name = @n" [ "@n", box name ]).IsSome then
                    invalidOp (sprintf "search storage %s: a study named '%s' exists already (load it, or resume)" dialect.Describe name)
                let id =
                    scalar conn tx "INSERT INTO studies (name, direction, settings, created) VALUES (@n, @d, @s, @c) RETURNING study_id"
                        [ "@n", box name; "@d", box (StorageText.direction direction); "@s", box settings; "@c", box (ms DateTimeOffset.UtcNow) ]
                    |> Option.get |> Convert.ToInt64
                { Id = id; Name = name; Direction = direction; Settings = settings })

        member _.LoadStudy name =
            read (fun conn ->
                rows conn null "SELECT study_id, name, direction, settings FROM studies WHERE name = @n" [ "@n", box name ] study
                |> Array.tryHead)

        member _.Enqueue(s, config) =
            write (fun conn tx ->
                let id, number = insertTrial conn tx s Waiting "" DateTimeOffset.UtcNow
                insertParams conn tx id config
                number)

        member _.Claim(s, worker, now) =
            write (fun conn tx ->
                let waiting =
                    rows conn tx "SELECT trial_id, number FROM trials WHERE study_id = @s AND state = 'WAITING' ORDER BY number LIMIT 1"
                        [ "@s", box s ] (fun r -> r.GetInt64 0, int (r.GetInt64 1))
                    |> Array.tryHead
                let id, number, config =
                    match waiting with
                    | Some(id, number) ->
                        exec conn tx "UPDATE trials SET state = 'RUNNING', worker = @w, started = @t, heartbeat = @t WHERE trial_id = @id"
                            [ "@w", box worker; "@t", box (ms now); "@id", box id ] |> ignore
                        id, number, configOf conn tx id
                    | None ->
                        let id, number = insertTrial conn tx s Running worker now
                        id, number, Map.empty
                ignore id
                { Trial.create number config with State = Running; Started = Some now; Heartbeat = Some now })

        member _.SetConfig(s, number, config) =
            write (fun conn tx ->
                match trialId conn tx s number with
                | Some id when (scalar conn tx "SELECT state FROM trials WHERE trial_id = @t" [ "@t", box id ]) = Some(box "RUNNING") ->
                    exec conn tx "DELETE FROM params WHERE trial_id = @t" [ "@t", box id ] |> ignore
                    insertParams conn tx id config
                    true
                | _ -> false)

        member _.Report(s, number, step, value) =
            write (fun conn tx ->
                match trialId conn tx s number with
                | Some id when (scalar conn tx "SELECT state FROM trials WHERE trial_id = @t" [ "@t", box id ]) = Some(box "RUNNING") ->
                    exec conn tx "DELETE FROM intermediate_values WHERE trial_id = @t AND step = @st" [ "@t", box id; "@st", box step ] |> ignore
                    exec conn tx "INSERT INTO intermediate_values (trial_id, step, value) VALUES (@t, @st, @v)"
                        [ "@t", box id; "@st", box step; "@v", real value ] |> ignore
                    true
                | _ -> false)

        member _.Heartbeat(s, number, now) =
            write (fun conn tx ->
                exec conn tx "UPDATE trials SET heartbeat = @h WHERE study_id = @s AND number = @n AND state = 'RUNNING'"
                    [ "@h", box (ms now); "@s", box s; "@n", box (int64 number) ] = 1)

        member _.Finish(s, number, state, value, reason, now) =
            match state with
            | Waiting | Running -> invalidArg "state" (sprintf "search storage: trial %d can only finish as COMPLETE, PRUNED or FAIL, not %s" number (StorageText.state state))
            | _ -> ()
            write (fun conn tx ->
                exec conn tx "UPDATE trials SET state = @st, value = @v, reason = @r, ended = @e WHERE study_id = @s AND number = @n AND state = 'RUNNING'"
                    [ "@st", box (StorageText.state state); "@v", (match value with Some v -> real v | None -> null)
                      "@r", (match reason with Some r -> box r | None -> null); "@e", box (ms now); "@s", box s; "@n", box (int64 number) ] = 1)

        member _.SetAttr(s, number, key, value) =
            write (fun conn tx ->
                match trialId conn tx s number with
                | Some id when (scalar conn tx "SELECT state FROM trials WHERE trial_id = @t" [ "@t", box id ])
                               |> Option.exists (fun st -> string st = "WAITING" || string st = "RUNNING") ->
                    exec conn tx "DELETE FROM trial_attributes WHERE trial_id = @t AND key = @k" [ "@t", box id; "@k", box key ] |> ignore
                    exec conn tx "INSERT INTO trial_attributes (trial_id, key, value) VALUES (@t, @k, @v)" [ "@t", box id; "@k", box key; "@v", box value ] |> ignore
                | Some _ -> () // a finished trial takes no more writes (as Report and Finish): its attributes are fixed
                | None -> invalidArg "number" (sprintf "search storage %s: study %d has no trial %d" dialect.Describe s number))

        member _.ReapStale(s, timeout, now) =
            write (fun conn tx ->
                let stale =
                    rows conn tx "SELECT trial_id, number FROM trials WHERE study_id = @s AND state = 'RUNNING' AND heartbeat < @cut ORDER BY number"
                        [ "@s", box s; "@cut", box (ms now - int64 timeout.TotalMilliseconds) ] (fun r -> r.GetInt64 0, int (r.GetInt64 1))
                [ for (id, number) in stale do
                    exec conn tx "UPDATE trials SET state = 'FAIL', reason = @r, ended = @e WHERE trial_id = @t"
                        [ "@r", box (StorageText.heartbeatLost timeout); "@e", box (ms now); "@t", box id ] |> ignore
                    let config = configOf conn tx id
                    // a trial that died before its configuration was stored has nothing to run again
                    if not config.IsEmpty then
                        let again, againNumber = insertTrial conn tx s Waiting "" now
                        insertParams conn tx again config
                        exec conn tx "INSERT INTO trial_attributes (trial_id, key, value) VALUES (@t, 'retry_of', @v)"
                            [ "@t", box again; "@v", box (string number) ] |> ignore
                        ignore againNumber
                    yield number ])

        member _.Trials s =
            let c = lock caches (fun () -> match caches.TryGetValue s with | true, c -> c | _ -> (let c = StudyCache() in caches[s] <- c; c))
            lock c (fun () ->
              if isNull c.Connection then c.Connection <- dialect.Open()
              let conn = c.Connection
              try
                // the trials created since the last call (ids grow in commit order: every write holds the database's
                // write lock) and the ones unfinished then; finished trials never change, so each is read once
                let delta =
                    "study_id = @s AND (trial_id > @max"
                    + (if c.Open.Count = 0 then ")" else " OR trial_id IN (" + String.Join(",", c.Open) + "))")
                let args = [ "@s", box s; "@max", box c.MaxId ]
                let trials =
                    rows conn null ("SELECT trial_id, number, state, value, reason, started, ended, heartbeat FROM trials WHERE " + delta)
                        args (fun r ->
                            r.GetInt64 0,
                            { Trial.create (int (r.GetInt64 1)) Map.empty with
                                State = StorageText.parseState (r.GetString 2)
                                Value = (if r.IsDBNull 3 then None else Some(r.GetDouble 3))
                                FailReason = (if r.IsDBNull 4 then None else Some(r.GetString 4))
                                Started = ofMs (r.GetValue 5); Ended = ofMs (r.GetValue 6); Heartbeat = ofMs (r.GetValue 7) })
                let byTrial (table: string) (cols: string) (read: DbDataReader -> 'a) =
                    if trials.Length = 0 then dict [] else
                    rows conn null (sprintf "SELECT trial_id, %s FROM %s WHERE trial_id IN (SELECT trial_id FROM trials WHERE %s)" cols table delta) args
                        (fun r -> r.GetInt64 0, read r)
                    |> Array.groupBy fst |> Array.map (fun (k, vs) -> k, Array.map snd vs) |> dict
                let ps = byTrial "params" "name, kind, value" (fun r -> r.GetString 1, StorageText.parseValue (r.GetString 2) (r.GetString 3))
                let iv = byTrial "intermediate_values" "step, value" (fun r -> r.GetInt64 1, readReal r 2)
                let attrs = byTrial "trial_attributes" "key, value" (fun r -> r.GetString 1, r.GetString 2)
                let get (d: Collections.Generic.IDictionary<int64, 'a[]>) id = match d.TryGetValue id with | true, v -> v | _ -> [||]
                let fresh =
                    trials |> Array.map (fun (id, t) ->
                        id, { t with Config = Map.ofArray (get ps id); Intermediate = Map.ofArray (get iv id); UserAttrs = Map.ofArray (get attrs id) })
                c.Open.Clear()
                let unfinished = ResizeArray<Trial>()
                for (id, t) in fresh do
                    c.MaxId <- max c.MaxId id
                    match t.State with
                    | Waiting | Running ->
                        c.Open.Add id
                        unfinished.Add t
                    | _ -> c.Finished.Add t
                if fresh |> Array.exists (fun (_, t) -> t.State <> Waiting && t.State <> Running) then
                    c.Finished.Sort(fun a b -> compare a.Number b.Number)
                let all = Array.append (c.Finished.ToArray()) (unfinished.ToArray())
                Array.sortInPlaceBy (fun (t: Trial) -> t.Number) all
                all
              with _ ->
                // a broken connection is not reused; the next call opens another
                c.Connection.Dispose()
                c.Connection <- null
                reraise ())

        member _.Dispose() =
            lock caches (fun () ->
                for c in caches.Values do
                    lock c (fun () -> if not (isNull c.Connection) then c.Connection.Dispose(); c.Connection <- null))
            dialect.Close()
