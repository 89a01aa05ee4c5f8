namespace Hybrid.Core.Logging

open System

/// TensorBoard's HPARAMS tab (tensorboard/plugins/hparams/plugin_data.proto): three Summary.Values whose metadata
/// carries plugin "hparams" data, as torch.utils.tensorboard's hparams() writes them: the experiment (hyperparameter
/// and metric names), the session start (the values) and the session end (status success).
module HParams =
    open Protobuf

    /// google.protobuf.Value { number_value = 2 (double); string_value = 3; bool_value = 4 }.
    let private protoValue (name: string) (v: obj) =
        message (fun out ->
            match v with
            | :? string as s -> str out 3 s
            | :? bool as b -> varintField out 4 (if b then 1UL else 0UL)
            | :? IConvertible as c when not (v :? char) ->
                fixed64 out 2 (c.ToDouble(Globalization.CultureInfo.InvariantCulture))
            | _ -> invalidArg "hparams" (sprintf "hparams: '%s' is a %s (expected a number, string or bool)" name (if isNull v then "null" else v.GetType().Name)))

    /// Summary.Value { tag = 1; metadata = 9 { plugin_data = 1 { plugin_name = 1 "hparams"; content = 2 } } }.
    let private pluginValue (tag: string) (content: byte[]) =
        let pluginData = message (fun o -> str o 1 "hparams"; lengthDelimited o 2 content)
        let metadata = message (fun o -> lengthDelimited o 1 pluginData)
        message (fun o -> str o 1 tag; lengthDelimited o 9 metadata)

    /// The three Summary.Values (experiment, session start, session end) of one run's hyperparameters and the metric
    /// tags TensorBoard shows beside them (logged as scalars under those tags).
    let summaryValues (hparams: (string * obj) seq) (metricTags: string seq) : byte[] list =
        let hparams = List.ofSeq hparams
        // HParamsPluginData { version = 1; experiment = 2; session_start_info = 3; session_end_info = 4 }
        // Experiment { hparam_infos = 4 { name = 1 }; metric_infos = 5 { name = 1 { tag = 2 } } }
        let experiment =
            message (fun o ->
                for n, _ in hparams do lengthDelimited o 4 (message (fun h -> str h 1 n))
                for t in metricTags do lengthDelimited o 5 (message (fun m -> lengthDelimited m 1 (message (fun mn -> str mn 2 t)))))
        // SessionStartInfo { hparams = 1 (map<string, Value>: entries { key = 1; value = 2 }); start_time_secs = 5 }
        let start =
            message (fun o ->
                for n, v in hparams do lengthDelimited o 1 (message (fun e -> str e 1 n; lengthDelimited e 2 (protoValue n v))))
        // SessionEndInfo { status = 1 (STATUS_SUCCESS = 1) }
        let finish = message (fun o -> varintField o 1 1UL)
        [ pluginValue "_hparams_/experiment" (message (fun o -> lengthDelimited o 2 experiment))
          pluginValue "_hparams_/session_start_info" (message (fun o -> lengthDelimited o 3 start))
          pluginValue "_hparams_/session_end_info" (message (fun o -> lengthDelimited o 4 finish)) ]
