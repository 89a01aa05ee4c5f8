namespace Hybrid.Core

open System

/// torch.einsum: Einstein summation over any number of operands, with torch's equation syntax (letters a–z, A–Z,
/// one "..." per operand for broadcast dims, an optional "->" output; spaces ignored). In implicit mode (no "->")
/// the output is the "..." dims followed by the letters that appear exactly once, in alphabetical order (A–Z
/// before a–z). Lowered to ops that already differentiate: repeated letters of one operand take a diagonal,
/// letters needed nowhere else are summed first, and each pair of operands is one batched matrix product
/// [batch, m, k]·[batch, k, n] (operands contracted left to right).
module Einsum =

    /// A subscript label: letters are 0..51 (A–Z then a–z); the j-th broadcast dim of "..." counted from the right
    /// is 1000 + j, so ellipsis dims of different operands align from the right as in broadcasting.
    type private Label = int

    let private letter (eq: string) (c: char) : Label =
        if c >= 'A' && c <= 'Z' then int c - int 'A'
        elif c >= 'a' && c <= 'z' then 26 + int c - int 'a'
        else invalidArg "equation" (sprintf "einsum: '%c' in \"%s\" is not a subscript (expected letters a-z, A-Z, '...', ',' and '->')" c eq)

    /// The labels of one operand's subscripts given its rank; `hasDots` reports whether it used "...".
    let private parseTerm (eq: string) (term: string) (rank: int option) =
        let dots = term.IndexOf "..."
        if dots >= 0 && term.IndexOf("...", dots + 3) >= 0 then
            invalidArg "equation" (sprintf "einsum: \"%s\" has more than one '...' in the term \"%s\"" eq term)
        let before, after = if dots < 0 then term, "" else term.Substring(0, dots), term.Substring(dots + 3)
        let lb = before |> Seq.map (letter eq) |> Array.ofSeq
        let la = after |> Seq.map (letter eq) |> Array.ofSeq
        match rank with
        | Some r ->
            let named = lb.Length + la.Length
            if dots < 0 && named <> r then
                invalidArg "equation" (sprintf "einsum: the term \"%s\" of \"%s\" names %d dims but its operand has rank %d" term eq named r)
            if dots >= 0 && named > r then
                invalidArg "equation" (sprintf "einsum: the term \"%s\" of \"%s\" names %d dims besides '...' but its operand has rank %d" term eq named r)
            let nd = if dots < 0 then 0 else r - named
            Array.concat [ lb; Array.init nd (fun i -> 1000 + nd - 1 - i); la ], dots >= 0
        | None -> Array.append lb la, dots >= 0

    /// Contract repeated labels of one operand to their diagonal (the diagonal becomes the last dim).
    let rec private takeDiagonals (labels: Label[]) (x: Tensor) =
        let dup = labels |> Array.countBy id |> Array.tryFind (fun (_, c) -> c > 1)
        match dup with
        | None -> labels, x
        | Some (l, _) ->
            let i = Array.findIndex ((=) l) labels
            let j = Array.findIndexBack ((=) l) labels
            if x.Shape.[i] <> x.Shape.[j] then
                invalidArg "operands" (sprintf "einsum: a subscript repeated in one operand spans dims of sizes %d and %d in shape %s" x.Shape.[i] x.Shape.[j] (Shape.show x.Shape))
            let rest = labels |> Array.indexed |> Array.filter (fun (k, _) -> k <> i && k <> j) |> Array.map snd
            takeDiagonals (Array.append rest [| l |]) (Structure.diagonal 0 i j x)

    /// Sum out the labels not in `keep`.
    let private sumOut (keep: Set<Label>) (labels: Label[]) (x: Tensor) =
        let drop = labels |> Array.indexed |> Array.filter (fun (_, l) -> not (keep.Contains l)) |> Array.map fst
        if drop.Length = 0 then labels, x
        else labels |> Array.filter keep.Contains, Reduction.sumDims drop false x

    /// Permute x (labelled `labels`) into the order `order` (a permutation of labels).
    let private arrange (labels: Label[]) (order: Label[]) (x: Tensor) =
        Reshaping.permute (order |> Array.map (fun l -> Array.findIndex ((=) l) labels)) x

    /// x with dims of size 1 expanded to the common size of their label.
    let private broadcastTo (sizes: Map<Label, int>) (labels: Label[]) (x: Tensor) =
        let target = labels |> Array.map (fun l -> sizes.[l])
        if target = x.Shape then x else Reshaping.expand target x

    /// Contract two labelled operands, keeping the labels in `keep`: one batched matmul.
    // A[b, m, k]·B[b, k, n] with b = labels in A, B and keep; k = in A and B, not in keep; m = A only; n = B only
    let private contract (sizes: Map<Label, int>) (keep: Set<Label>) (la: Label[], a: Tensor) (lb: Label[], b: Tensor) =
        let inA, inB = Set.ofArray la, Set.ofArray lb
        let batch = la |> Array.filter (fun l -> inB.Contains l && keep.Contains l)
        let inner = la |> Array.filter (fun l -> inB.Contains l && not (keep.Contains l))
        let onlyA = la |> Array.filter (fun l -> not (inB.Contains l))
        let onlyB = lb |> Array.filter (fun l -> not (inA.Contains l))
        let size (ls: Label[]) = ls |> Array.fold (fun acc l -> acc * sizes.[l]) 1
        let a = broadcastTo sizes la a |> arrange la (Array.concat [ batch; onlyA; inner ])
        let b = broadcastTo sizes lb b |> arrange lb (Array.concat [ batch; inner; onlyB ])
        let a3 = Reshaping.reshape [| size batch; size onlyA; size inner |] a
        let b3 = Reshaping.reshape [| size batch; size inner; size onlyB |] b
        let labels = Array.concat [ batch; onlyA; onlyB ]
        labels, Reshaping.reshape (labels |> Array.map (fun l -> sizes.[l])) (Linalg.bmm a3 b3)

    /// torch.einsum(equation, *operands).
    let einsum (equation: string) (operands: Tensor[]) =
        if isNull equation then raise (ArgumentNullException("equation", "einsum: equation is null"))
        if isNull operands || operands.Length = 0 then invalidArg "operands" "einsum: expected at least one operand"
        for i in 1 .. operands.Length - 1 do Tensor.Agree("einsum", operands.[0], operands.[i])
        if not operands.[0].DType.IsFloat then
            invalidArg "operands" (sprintf "einsum: not defined for %O tensors (expected float32 or float64)" operands.[0].DType)
        let eq = equation.Replace(" ", "")
        let lhs, rhs =
            match eq.IndexOf "->" with
            | -1 -> eq, None
            | k -> eq.Substring(0, k), Some (eq.Substring(k + 2))
        let terms = lhs.Split ','
        if terms.Length <> operands.Length then
            invalidArg "operands" (sprintf "einsum: \"%s\" has %d terms but %d operands were given" equation terms.Length operands.Length)
        let parsed = Array.map2 (fun (t: string) (x: Tensor) -> fst (parseTerm equation t (Some x.Rank))) terms operands
        // the size of every label; a size-1 dim broadcasts against a larger one
        let sizes =
            Array.fold2 (fun (m: Map<Label, int>) (ls: Label[]) (x: Tensor) ->
                Array.fold2 (fun (m: Map<Label, int>) l s ->
                    match m.TryFind l with
                    | None -> m.Add(l, s)
                    | Some s0 when s0 = s || s = 1 -> m
                    | Some 1 -> m.Add(l, s)
                    | Some s0 ->
                        invalidArg "operands" (sprintf "einsum: a subscript of \"%s\" spans dims of sizes %d and %d (operand shapes %s)" equation s0 s (String.Join(", ", operands |> Array.map (fun t -> Shape.show t.Shape))))) m ls x.Shape) Map.empty parsed operands
        let ellipsis = parsed |> Array.collect id |> Array.filter (fun l -> l >= 1000) |> Array.distinct |> Array.sortDescending
        let output =
            match rhs with
            | Some r ->
                let ls, dots = parseTerm equation r None
                let ls =
                    if dots then
                        let k = r.IndexOf "..."
                        let before = r.Substring(0, k).Length
                        Array.concat [ ls.[.. before - 1]; ellipsis; ls.[before ..] ]
                    else ls
                if (Array.distinct ls).Length <> ls.Length then
                    invalidArg "equation" (sprintf "einsum: the output \"%s\" of \"%s\" names a subscript more than once" r equation)
                for l in ls do
                    if not (sizes.ContainsKey l) then
                        invalidArg "equation" (sprintf "einsum: the output \"%s\" of \"%s\" names a subscript that no operand has" r equation)
                ls
            | None ->
                let counts = parsed |> Array.collect id |> Array.filter (fun l -> l < 1000) |> Array.countBy id
                Array.append ellipsis (counts |> Array.filter (fun (_, c) -> c = 1) |> Array.map fst |> Array.sort)
        let outSet = Set.ofArray output
        // labels still needed after operand i: the output's and those of operands i+1..
        let neededAfter i = parsed.[i + 1 ..] |> Array.fold (fun s ls -> Set.union s (Set.ofArray ls)) outSet
        let prepared =
            Array.init operands.Length (fun i ->
                let ls, x = takeDiagonals parsed.[i] operands.[i]
                // a label summed here must not be needed by the output or by any other operand
                let others = parsed |> Array.indexed |> Array.filter (fun (j, _) -> j <> i) |> Array.fold (fun s (_, l) -> Set.union s (Set.ofArray l)) outSet
                sumOut others ls x)
        let mutable acc = prepared.[0]
        for i in 1 .. prepared.Length - 1 do
            let keep = neededAfter i
            acc <- contract sizes keep acc prepared.[i]
        let ls, x = acc
        let ls, x = sumOut outSet ls x
        let x = broadcastTo sizes ls x
        arrange ls output x
