namespace Hybrid.Core.Search

open System
open System.IO
open System.Text
open System.Text.Json

/// Search spaces and configurations as JSON (format in docs/search.md):
/// { "parameters": { "<name>": { "type": "float" | "int" | "categorical" | "bool", "low", "high", "log", "step",
///   "choices", "grid", "when": { "<parent>": [values] | { "above": x } } }, ... } }, parameters in document order.
module SpaceJson =
    let private fail (source: string) (name: string) (path: string) (msg: string) : 'a =
        raise (FormatException(sprintf "search space %s: parameter '%s' at %s: %s" source name path msg))

    /// A JSON value as a parameter value: strings, booleans, integral numbers as Int, others as Float.
    let private inferValue (e: JsonElement) =
        match e.ValueKind with
        | JsonValueKind.String -> Some(ParamValue.Str(e.GetString()))
        | JsonValueKind.True -> Some(ParamValue.Bool true)
        | JsonValueKind.False -> Some(ParamValue.Bool false)
        | JsonValueKind.Number ->
            match e.TryGetInt64() with
            | true, i -> Some(ParamValue.Int i)
            | _ -> Some(ParamValue.Float(e.GetDouble()))
        | _ -> None

    /// A JSON value as a value of the distribution: numbers as Float for floats, whole numbers as Int for ints.
    let private valueFor (dist: Distribution) (e: JsonElement) =
        match dist, e.ValueKind with
        | (Uniform _ | LogUniform _), JsonValueKind.Number -> Some(ParamValue.Float(e.GetDouble()))
        | IntRange _, JsonValueKind.Number -> match e.TryGetInt64() with | true, i -> Some(ParamValue.Int i) | _ -> None
        | Categorical _, _ -> inferValue e
        | _ -> None

    let private parseParam (source: string) (name: string) (e: JsonElement) : Param * JsonElement option =
        let path = sprintf "$.parameters.%s" name
        if e.ValueKind <> JsonValueKind.Object then fail source name path "expected an object with a \"type\""
        let known = set [ "type"; "low"; "high"; "log"; "step"; "choices"; "grid"; "when"; "doc" ]
        for p in e.EnumerateObject() do
            if not (known.Contains p.Name) then fail source name (path + "." + p.Name) (sprintf "unknown key (expected one of %s)" (String.Join(", ", known)))
        let prop (k: string) = match e.TryGetProperty k with | true, v -> Some v | _ -> None
        let num (k: string) =
            match prop k with
            | Some v when v.ValueKind = JsonValueKind.Number -> v.GetDouble()
            | Some _ -> fail source name (path + "." + k) "expected a number"
            | None -> fail source name path (sprintf "missing \"%s\"" k)
        let int (k: string) (dflt: int64 option) =
            match prop k, dflt with
            | Some v, _ when v.ValueKind = JsonValueKind.Number ->
                match v.TryGetInt64() with
                | true, i -> i
                | _ -> fail source name (path + "." + k) "expected an integer"
            | Some _, _ -> fail source name (path + "." + k) "expected an integer"
            | None, Some d -> d
            | None, None -> fail source name path (sprintf "missing \"%s\"" k)
        let flag (k: string) =
            match prop k with
            | Some v when v.ValueKind = JsonValueKind.True -> true
            | Some v when v.ValueKind = JsonValueKind.False -> false
            | Some _ -> fail source name (path + "." + k) "expected true or false"
            | None -> false
        let values (k: string) (dist: Distribution) =
            match prop k with
            | Some v when v.ValueKind = JsonValueKind.Array ->
                v.EnumerateArray() |> Seq.mapi (fun i x ->
                    match valueFor dist x with
                    | Some pv -> pv
                    | None -> fail source name (sprintf "%s.%s[%d]" path k i) (sprintf "'%s' is not a value of this parameter" (x.GetRawText())))
                |> Array.ofSeq
            | Some _ -> fail source name (path + "." + k) "expected an array"
            | None -> fail source name path (sprintf "missing \"%s\"" k)
        let dist =
            match prop "type" with
            | Some t when t.ValueKind = JsonValueKind.String ->
                match t.GetString() with
                | "float" -> if flag "log" then LogUniform(num "low", num "high") else Uniform(num "low", num "high")
                | "int" -> IntRange(int "low" None, int "high" None, int "step" (Some 1L), flag "log")
                | "categorical" -> Categorical(values "choices" (Categorical [||]))
                | "bool" -> Categorical [| ParamValue.Bool false; ParamValue.Bool true |]
                | other -> fail source name (path + ".type") (sprintf "unknown type '%s' (expected float, int, categorical or bool)" other)
            | _ -> fail source name (path + ".type") "missing or not a string (expected float, int, categorical or bool)"
        let grid = prop "grid" |> Option.map (fun _ -> values "grid" dist)
        { Name = name; Distribution = dist; Condition = None; GridValues = grid }, prop "when"

    let private parseWhen (source: string) (byName: Map<string, Param>) (name: string) (w: JsonElement) : Condition =
        let path = sprintf "$.parameters.%s.when" name
        let entries = if w.ValueKind = JsonValueKind.Object then w.EnumerateObject() |> Array.ofSeq else [||]
        if entries.Length <> 1 then fail source name path "expected an object with one parent: { \"<parent>\": [values] } or { \"<parent>\": { \"above\": x } }"
        let parent = entries[0].Name
        let v = entries[0].Value
        match Map.tryFind parent byName with
        | None -> fail source name (path + "." + parent) (sprintf "condition on unknown parameter '%s'" parent)
        | Some pp ->
            match v.ValueKind with
            | JsonValueKind.Array ->
                ParentIn(parent, v.EnumerateArray() |> Seq.mapi (fun i x ->
                    match valueFor pp.Distribution x with
                    | Some pv -> pv
                    | None -> fail source name (sprintf "%s.%s[%d]" path parent i) (sprintf "'%s' is not a value of '%s'" (x.GetRawText()) parent)) |> Array.ofSeq)
            | JsonValueKind.Object ->
                match v.TryGetProperty "above" with
                | true, t when t.ValueKind = JsonValueKind.Number -> ParentAbove(parent, t.GetDouble())
                | _ -> fail source name (path + "." + parent) "expected { \"above\": <number> }"
            | _ -> fail source name (path + "." + parent) "expected an array of values or { \"above\": <number> }"

    /// Parses a space; `source` (a file name) prefixes every error, which also names the parameter and its JSON path.
    let parse (source: string) (json: string) : Space =
        let doc =
            try JsonDocument.Parse(json, JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true))
            with :? JsonException as e -> raise (FormatException(sprintf "search space %s: not valid JSON: %s" source e.Message))
        use doc = doc
        let ps =
            match doc.RootElement.ValueKind, doc.RootElement.TryGetProperty "parameters" with
            | JsonValueKind.Object, (true, ps) when ps.ValueKind = JsonValueKind.Object -> ps
            | _ -> raise (FormatException(sprintf "search space %s: expected { \"parameters\": { \"<name>\": {...}, ... } } at $" source))
        let parsed = ps.EnumerateObject() |> Seq.map (fun p -> parseParam source p.Name p.Value) |> Array.ofSeq
        let byName = parsed |> Array.map (fun (p, _) -> p.Name, p) |> Map.ofArray
        let full = parsed |> Array.map (fun (p, w) -> match w with Some w -> { p with Condition = Some(parseWhen source byName p.Name w) } | None -> p)
        match Space.errors full with
        | [] -> Space.create full
        | e :: _ as errs ->
            let paths = errs |> List.map (fun e -> sprintf "parameter '%s' at $.parameters.%s: %s" e.Param e.Param e.Message)
            raise (FormatException(sprintf "search space %s: %s" source (String.Join("; ", paths))))

    /// Reads a space from a file.
    let load (path: string) : Space = parse path (File.ReadAllText path)

    let private writeValue (w: Utf8JsonWriter) (v: ParamValue) =
        match v with
        | ParamValue.Float x -> w.WriteNumberValue x
        | ParamValue.Int i -> w.WriteNumberValue i
        | ParamValue.Str s -> w.WriteStringValue s
        | ParamValue.Bool b -> w.WriteBooleanValue b

    let private writeValues (w: Utf8JsonWriter) (k: string) (vs: ParamValue[]) =
        w.WriteStartArray k
        vs |> Array.iter (writeValue w)
        w.WriteEndArray()

    /// The space as indented JSON in the format `parse` reads (parse (toJson s) = s).
    let toJson (space: Space) : string =
        use ms = new MemoryStream()
        (use w = new Utf8JsonWriter(ms, JsonWriterOptions(Indented = true))
         w.WriteStartObject()
         w.WriteStartObject "parameters"
         for p in space.Params do
             w.WriteStartObject p.Name
             match p.Distribution with
             | Categorical [| ParamValue.Bool false; ParamValue.Bool true |] -> w.WriteString("type", "bool")
             | Categorical cs ->
                 w.WriteString("type", "categorical")
                 writeValues w "choices" cs
             | Uniform(lo, hi) | LogUniform(lo, hi) ->
                 w.WriteString("type", "float")
                 w.WriteNumber("low", lo)
                 w.WriteNumber("high", hi)
                 if (match p.Distribution with LogUniform _ -> true | _ -> false) then w.WriteBoolean("log", true)
             | IntRange(lo, hi, step, lg) ->
                 w.WriteString("type", "int")
                 w.WriteNumber("low", lo)
                 w.WriteNumber("high", hi)
                 if step <> 1L then w.WriteNumber("step", step)
                 if lg then w.WriteBoolean("log", true)
             p.GridValues |> Option.iter (writeValues w "grid")
             match p.Condition with
             | Some(ParentIn(q, vs)) ->
                 w.WriteStartObject "when"
                 writeValues w q vs
                 w.WriteEndObject()
             | Some(ParentAbove(q, t)) ->
                 w.WriteStartObject "when"
                 w.WriteStartObject q
                 w.WriteNumber("above", t)
                 w.WriteEndObject()
                 w.WriteEndObject()
             | None -> ()
             w.WriteEndObject()
         w.WriteEndObject()
         w.WriteEndObject())
        Encoding.UTF8.GetString(ms.ToArray())

    /// A configuration as a flat JSON object { "<name>": value, ... } in the space's order.
    let configToJson (space: Space) (config: Config) : string =
        use ms = new MemoryStream()
        (use w = new Utf8JsonWriter(ms, JsonWriterOptions(Indented = true))
         w.WriteStartObject()
         for p in Space.activeParams space config do
             match config.TryFind p.Name with
             | Some v ->
                 w.WritePropertyName p.Name
                 writeValue w v
             | None -> ()
         w.WriteEndObject())
        Encoding.UTF8.GetString(ms.ToArray())

    /// Reads a configuration of the space (values typed by their parameters); errors name the parameter.
    let configOfJson (space: Space) (source: string) (json: string) : Config =
        use doc = JsonDocument.Parse json
        let config =
            doc.RootElement.EnumerateObject() |> Seq.map (fun kv ->
                match space.TryFind kv.Name with
                | None -> raise (FormatException(sprintf "configuration %s: '%s' at $.%s is not a parameter of the space" source kv.Name kv.Name))
                | Some p ->
                    match valueFor p.Distribution kv.Value with
                    | Some v -> kv.Name, v
                    | None -> raise (FormatException(sprintf "configuration %s: parameter '%s' at $.%s: '%s' is not a value of it" source kv.Name kv.Name (kv.Value.GetRawText()))))
            |> Map.ofSeq
        match Space.check space config with
        | None -> config
        | Some why -> raise (FormatException(sprintf "configuration %s: %s" source why))
