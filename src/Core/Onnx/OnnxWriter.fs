namespace Hybrid.Core.Onnx

open System
open Hybrid.Core.Logging
open Hybrid.Core.Durability

/// A tensor element type as ONNX numbers them (TensorProto.DataType).
type ElemType =
    | Float32 = 1
    | Int64 = 7
    | Float64 = 11

/// A node attribute (AttributeProto) of one of the kinds the exported operators take.
type Attribute =
    /// An INT attribute.
    | Int of name: string * value: int64
    /// An INTS attribute.
    | Ints of name: string * values: int64[]
    /// A FLOAT attribute.
    | Float of name: string * value: float32

/// One operator application (NodeProto) in the default "ai.onnx" domain.
type Node =
    { Name: string
      OpType: string
      Inputs: string[]
      Outputs: string[]
      Attributes: Attribute[] }

/// The values of a constant tensor, row-major.
type InitializerData =
    | Floats of float32[]
    | Doubles of float[]
    | Int64s of int64[]

/// A named constant tensor of the graph (weights, running statistics, shape and scalar constants).
type Initializer =
    { Name: string
      Dims: int64[]
      Data: InitializerData }

/// One dimension of a graph input's or output's shape.
type Dim =
    /// A fixed size.
    | Fixed of int64
    /// A size named by the graph and chosen at run time (the batch).
    | Symbolic of string

/// A graph input or output (ValueInfoProto with a tensor type).
type ValueInfo =
    { Name: string
      ElemType: ElemType
      Dims: Dim[] }

/// A graph: nodes in topological order over its inputs, initializers and earlier nodes' outputs.
type Graph =
    { Name: string
      Nodes: Node[]
      Initializers: Initializer[]
      Inputs: ValueInfo[]
      Outputs: ValueInfo[] }

/// A model (ModelProto): one graph and the opset of the default domain it is written against.
type Model =
    { IrVersion: int64
      Opset: int64
      ProducerName: string
      ProducerVersion: string
      Graph: Graph }

/// The ONNX ModelProto wire format (github.com/onnx/onnx, onnx/onnx.proto) written with the core's protobuf writer:
/// a pure function from a model description to bytes, which checks the graph first, and an atomic save.
/// Tensor values go into raw_data (little-endian); repeated scalars are written unpacked, as onnx.proto (proto2) declares them.
module OnnxWriter =
    open Protobuf

    /// The ir_version and opset a model is written with: ONNX 1.12's IR 8 and opset 17.
    let irVersion = 8L
    let opset = 17L

    let private elemTypeOf data =
        match data with
        | Floats _ -> ElemType.Float32
        | Doubles _ -> ElemType.Float64
        | Int64s _ -> ElemType.Int64

    let private count data =
        match data with
        | Floats v -> v.Length
        | Doubles v -> v.Length
        | Int64s v -> v.Length

    let private int64Field out field (v: int64) = varintField out field (uint64 v)

    let private attribute (a: Attribute) =
        // AttributeProto: name = 1, f = 2, i = 3, ints = 8, type = 20 (FLOAT = 1, INT = 2, INTS = 7)
        message (fun out ->
            match a with
            | Int(name, v) ->
                str out 1 name
                int64Field out 3 v
                varintField out 20 2UL
            | Ints(name, vs) ->
                str out 1 name
                vs |> Array.iter (int64Field out 8)
                varintField out 20 7UL
            | Float(name, v) ->
                str out 1 name
                fixed32 out 2 v
                varintField out 20 1UL)

    let private node (n: Node) =
        // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5
        message (fun out ->
            n.Inputs |> Array.iter (str out 1)
            n.Outputs |> Array.iter (str out 2)
            str out 3 n.Name
            str out 4 n.OpType
            n.Attributes |> Array.iter (fun a -> lengthDelimited out 5 (attribute a)))

    let private initializer (t: Initializer) =
        // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9
        message (fun out ->
            t.Dims |> Array.iter (int64Field out 1)
            varintField out 2 (uint64 (int (elemTypeOf t.Data)))
            str out 8 t.Name
            let raw =
                match t.Data with
                | Floats v -> packedFloats v
                | Doubles v -> packedDoubles v
                | Int64s v -> packedSfixed64s v
            lengthDelimited out 9 raw)

    let private valueInfo (v: ValueInfo) =
        // TensorShapeProto.Dimension: dim_value = 1, dim_param = 2; TensorShapeProto: dim = 1
        let dim d =
            message (fun out ->
                match d with
                | Fixed n -> int64Field out 1 n
                | Symbolic s -> str out 2 s)
        let shape = message (fun out -> v.Dims |> Array.iter (fun d -> lengthDelimited out 1 (dim d)))
        // TypeProto.Tensor: elem_type = 1, shape = 2; TypeProto: tensor_type = 1; ValueInfoProto: name = 1, type = 2
        let tensorType = message (fun out -> varintField out 1 (uint64 (int v.ElemType)); lengthDelimited out 2 shape)
        let typeProto = message (fun out -> lengthDelimited out 1 tensorType)
        message (fun out -> str out 1 v.Name; lengthDelimited out 2 typeProto)

    /// Checks that every name is defined once, before it is read, that each initializer holds as many values as its
    /// dims say, and that the outputs are produced; raises ArgumentException naming the offending node or tensor.
    let validate (g: Graph) =
        let defined = Collections.Generic.HashSet<string>()
        let define what (name: string) =
            if String.IsNullOrEmpty name then invalidArg "graph" (sprintf "ONNX graph %s: %s has an empty name" g.Name what)
            if not (defined.Add name) then invalidArg "graph" (sprintf "ONNX graph %s: %s '%s' is already defined" g.Name what name)
        for i in g.Inputs do define "input" i.Name
        for t in g.Initializers do
            define "initializer" t.Name
            if t.Dims |> Array.exists (fun d -> d < 0L) then
                invalidArg "graph" (sprintf "ONNX graph %s: initializer '%s' has a negative dim in [%s]" g.Name t.Name (String.Join(",", t.Dims)))
            let expected = t.Dims |> Array.fold (*) 1L
            if int64 (count t.Data) <> expected then
                invalidArg "graph" (sprintf "ONNX graph %s: initializer '%s' holds %d values but its dims [%s] need %d" g.Name t.Name (count t.Data) (String.Join(",", t.Dims)) expected)
        g.Nodes |> Array.iteri (fun k n ->
            for x in n.Inputs do
                // an empty input name marks an omitted optional input
                if x <> "" && not (defined.Contains x) then
                    invalidArg "graph" (sprintf "ONNX graph %s: node %d '%s' (%s) reads '%s', which no input, initializer or earlier node defines" g.Name k n.Name n.OpType x)
            for y in n.Outputs do define (sprintf "output of node %d '%s' (%s)" k n.Name n.OpType) y)
        for o in g.Outputs do
            if not (defined.Contains o.Name) then invalidArg "graph" (sprintf "ONNX graph %s: output '%s' is not produced by any node" g.Name o.Name)

    /// The ModelProto bytes of `m` (after `validate`).
    let toBytes (m: Model) : byte[] =
        validate m.Graph
        let g = m.Graph
        // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12
        let graph =
            message (fun out ->
                g.Nodes |> Array.iter (fun n -> lengthDelimited out 1 (node n))
                str out 2 g.Name
                g.Initializers |> Array.iter (fun t -> lengthDelimited out 5 (initializer t))
                g.Inputs |> Array.iter (fun v -> lengthDelimited out 11 (valueInfo v))
                g.Outputs |> Array.iter (fun v -> lengthDelimited out 12 (valueInfo v)))
        // OperatorSetIdProto: domain = 1 (empty: ai.onnx), version = 2
        let opsetId = message (fun out -> str out 1 ""; int64Field out 2 m.Opset)
        // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7, opset_import = 8
        message (fun out ->
            int64Field out 1 m.IrVersion
            str out 2 m.ProducerName
            str out 3 m.ProducerVersion
            lengthDelimited out 7 graph
            lengthDelimited out 8 opsetId)

    /// Writes `m` to `path` atomically (a temporary file renamed over the target).
    let save (path: string) (m: Model) = AtomicFile.writeAllBytes "ONNX model" path (toBytes m)
