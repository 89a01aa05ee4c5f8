namespace Hybrid.Core.Logging

open System
open System.Buffers.Binary
open System.Text

/// TensorBoard's HPARAMS tab (tensorboard/plugins/hparams/plugin_data.proto): three Summary.Values whose metadata
/// carries plugin "hparams" data, as torch.utils.tensorboard's hparams() writes them: the experiment (hyperparameter
/// and metric names), the session start (the values) and the session end (status success).
module HParams =
    let private varint (out: ResizeArray<byte>) (v: uint64) =
        let mutable v = v
        while v >= 0x80UL do
            out.Add(byte (v &&& 0x7FUL) ||| 0x80uy)
            v <- v >>> 7
        out.Add(byte v)

    let private bytes (out: ResizeArray<byte>) (field: int) (b: byte[]) =
        varint out (uint64 ((field <<< 3) ||| 2))
        varint out (uint64 b.Length)
        out.AddRange b

    let private str (out: ResizeArray<byte>) (field: int) (s: string) = bytes out field (Encoding.UTF8.GetBytes s)

    let private message (build: ResizeArray<byte> -> unit) =
        let out = ResizeArray()
        build out
        out.ToArray()

    /// google.protobuf.Value { number_value = 2 (double); string_value = 3; bool_value = 4 }.
    let private protoValue (name: string) (v: obj) =
        message (fun out ->
            match v with
            | :? string as s -> str out 3 s
            | :? bool as b -> varint out (uint64 ((4 <<< 3) ||| 0)); varint out (if b then 1UL else 0UL)
            | :? IConvertible as c when not (v :? char) ->
                let d = c.ToDouble(Globalization.CultureInfo.InvariantCulture)
                varint out (uint64 ((2 <<< 3) ||| 1))
                let b = Array.zeroCreate<byte> 8
                BinaryPrimitives.WriteDoubleLittleEndian(Span b, d)
                out.AddRange b
            | _ -> invalidArg "hparams" (sprintf "hparams: '%s' is a %s (expected a number, string or bool)" name (if isNull v then "null" else v.GetType().Name)))

    /// Summary.Value { tag = 1; metadata = 9 { plugin_data = 1 { plugin_name = 1 "hparams"; content = 2 } } }.
    let private pluginValue (tag: string) (content: byte[]) =
        let pluginData = message (fun o -> str o 1 "hparams"; bytes o 2 content)
        let metadata = message (fun o -> bytes o 1 pluginData)
        message (fun o -> str o 1 tag; bytes o 9 metadata)

    /// The three Summary.Values (experiment, session start, session end) of one run's hyperparameters and the metric
    /// tags TensorBoard shows beside them (logged as scalars under those tags).
    let summaryValues (hparams: (string * obj) seq) (metricTags: string seq) : byte[] list =
        let hparams = List.ofSeq hparams
        // HParamsPluginData { version = 1; experiment = 2; session_start_info = 3; session_end_info = 4 }
        // Experiment { hparam_infos = 4 { name = 1 }; metric_infos = 5 { name = 1 { tag = 2 } } }
        let experiment =
            message (fun o ->
                for n, _ in hparams do bytes o 4 (message (fun h -> str h 1 n))
                for t in metricTags do bytes o 5 (message (fun m -> bytes m 1 (message (fun mn -> str mn 2 t)))))
        // SessionStartInfo { hparams = 1 (map<string, Value>: entries { key = 1; value = 2 }); start_time_secs = 5 }
        let start =
            message (fun o ->
                for n, v in hparams do bytes o 1 (message (fun e -> str e 1 n; bytes e 2 (protoValue n v))))
        // SessionEndInfo { status = 1 (STATUS_SUCCESS = 1) }
        let finish = message (fun o -> varint o (uint64 ((1 <<< 3) ||| 0)); varint o 1UL)
        [ pluginValue "_hparams_/experiment" (message (fun o -> bytes o 2 experiment))
          pluginValue "_hparams_/session_start_info" (message (fun o -> bytes o 3 start))
          pluginValue "_hparams_/session_end_info" (message (fun o -> bytes o 4 finish)) ]
