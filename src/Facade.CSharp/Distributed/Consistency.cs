using Hybrid.Core.Distributed;
using Hybrid.Nn;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Distributed;

/// <summary>What the wrappers do collectively at construction: check that every rank built the same model with
/// the same options (allgather of a description), and copy rank 0's state to every rank (broadcast).</summary>
internal static class Consistency
{
    private static int Code(Hybrid.Core.DType d) => d.Equals(Hybrid.Core.DType.Float32) ? 32 : d.Equals(Hybrid.Core.DType.Float64) ? 64 : 65;

    private static string DTypeName(int code) => code switch { 32 => "float32", 64 => "float64", _ => "int64" };

    /// <summary>Allgather every rank's options and parameter shapes; throw, on every rank alike, naming the first
    /// option or parameter where some rank differs from rank 0.</summary>
    public static void Check(string who, Watchdog watchdog, int[] options, string[] optionNames, (string Name, CoreTensor Tensor)[] parameters)
    {
        int n = Mpi.size();
        var mine = new List<int>(options) { parameters.Length };
        foreach (var (_, t) in parameters)
        {
            mine.Add(t.Shape.Length);
            mine.AddRange(t.Shape);
            mine.Add(Code(t.DType));
        }
        var desc = mine.ToArray();
        var lengths = new int[n];
        watchdog.Run($"MPI_Iallgatherv of the {who} model descriptions' lengths", 0, () => Mpi.iallgatherv(new[] { desc.Length }, Enumerable.Repeat(1, n).ToArray(), lengths));
        var all = new int[lengths.Sum()];
        watchdog.Run($"MPI_Iallgatherv of the {who} model descriptions", 0, () => Mpi.iallgatherv(desc, lengths, all));
        var ranks = new List<(int[] Options, List<(int[] Shape, int DType)> Params)>();
        for (int q = 0, at = 0; q < n; at += lengths[q], q++)
        {
            var d = all.AsSpan(at, lengths[q]);
            var opts = d[..options.Length].ToArray();
            int count = d[options.Length], k = options.Length + 1;
            var ps = new List<(int[], int)>();
            for (int i = 0; i < count; i++)
            {
                int rank = d[k];
                ps.Add((d.Slice(k + 1, rank).ToArray(), d[k + 1 + rank]));
                k += rank + 2;
            }
            ranks.Add((opts, ps));
        }
        static string Show((int[] Shape, int DType) p) => $"[{string.Join(",", p.Shape)}] {DTypeName(p.DType)}";
        for (int q = 1; q < n; q++)
        {
            for (int j = 0; j < options.Length; j++)
                if (ranks[q].Options[j] != ranks[0].Options[j])
                    throw new InvalidOperationException($"{who}: option {optionNames[j]} is {ranks[0].Options[j]} on rank 0 but {ranks[q].Options[j]} on rank {q}; every rank must pass the same options");
            var (p0, pq) = (ranks[0].Params, ranks[q].Params);
            for (int i = 0; i < Math.Max(p0.Count, pq.Count); i++)
            {
                string name = i < parameters.Length ? $"'{parameters[i].Name}'" : $"number {i}";
                if (i >= p0.Count || i >= pq.Count)
                    throw new InvalidOperationException($"{who}: rank 0 has {p0.Count} parameters but rank {q} has {pq.Count} (parameter {name} is on one only); every rank must build the same model");
                if (!p0[i].Shape.SequenceEqual(pq[i].Shape) || p0[i].DType != pq[i].DType)
                    throw new InvalidOperationException($"{who}: parameter {name} is {Show(p0[i])} on rank 0 but {Show(pq[i])} on rank {q}; every rank must build the same model");
            }
        }
    }

    /// <summary>Copy rank 0's parameters and buffers into every rank's module (one broadcast per tensor, by name).</summary>
    public static void BroadcastState(Watchdog watchdog, Module module)
    {
        var state = module.StateDict();
        var loaded = new Dictionary<string, Tensor>();
        foreach (var name in state.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            var t = state[name];
            var what = $"MPI_Ibcast of '{name}' from rank 0";
            switch (t.DType)
            {
                case DType.Float32:
                    var f = t.Core.ToFloat32Array();
                    watchdog.Run(what, 0, () => Mpi.ibroadcast(f, 0));
                    loaded[name] = Tensor.FromArray(f, t.Shape);
                    break;
                case DType.Float64:
                    var d = t.Core.ToFloat64Array();
                    watchdog.Run(what, 0, () => Mpi.ibroadcast(d, 0));
                    loaded[name] = Tensor.FromArray(d, t.Shape);
                    break;
                default:
                    var l = Array.ConvertAll(t.Core.ToInt64Array(), v => (double)v);
                    watchdog.Run(what, 0, () => Mpi.ibroadcast(l, 0));
                    loaded[name] = Tensor.FromArray(Array.ConvertAll(l, v => (long)v), t.Shape);
                    break;
            }
        }
        module.LoadStateDict(loaded, strict: false);
    }
}
