using System.Globalization;
using Hybrid.Distributed;
using Hybrid.Nn;
using Hybrid.Optim;

namespace Hybrid.Cli;

/// <summary>
/// The data-parallel cases of <c>hybrid dist-selftest</c>: each rank trains a small float64 MLP on its shard of
/// fixed global batches and writes what the tests compare (parameters as round-trip doubles).
/// </summary>
internal static class DistTrainCases
{
    private const int Global = 8, In = 6, Hidden = 8, Out = 3, Steps = 4;

    private static string Line(string key, IEnumerable<double> values) =>
        key + " " + string.Join(" ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>The model every rank builds (the seed differs per rank: DDP's broadcast must make them equal).</summary>
    private static Module Model(int seed, int hidden = Hidden) =>
        new Sequential(new Linear(In, hidden, dtype: DType.Float64, seed: seed), new Tanh(), new Linear(hidden, Out, dtype: DType.Float64, seed: seed + 1));

    /// <summary>Rows [lo, hi) of the global batch of step s.</summary>
    private static (Tensor X, Tensor Y) Batch(int s, int lo, int hi)
    {
        var x = new double[(hi - lo) * In];
        var y = new double[(hi - lo) * Out];
        for (int i = lo; i < hi; i++)
        {
            for (int j = 0; j < In; j++) x[(i - lo) * In + j] = Math.Sin(0.7 * (s * Global + i) + 1.3 * j);
            for (int k = 0; k < Out; k++) y[(i - lo) * Out + k] = Math.Cos(0.5 * (s * Global + i) - k);
        }
        return (Tensor.FromArray(x, hi - lo, In), Tensor.FromArray(y, hi - lo, Out));
    }

    private static Optimizer Make(string name, IEnumerable<Parameter> ps) => name switch
    {
        "sgdm" => new SGD(ps, lr: 0.1, momentum: 0.9),
        "adam" => new Adam(ps, lr: 0.01),
        "adamw" => new AdamW(ps, lr: 0.01, weightDecay: 0.1),
        "rmsprop" => new RMSprop(ps, lr: 0.01, momentum: 0.5),
        _ => throw new ArgumentException($"unknown optimizer {name}"),
    };

    private static double[] Flat(Module m) => m.Parameters().SelectMany(p => p.ToArray<double>()).ToArray();

    /// <summary>Trains a DDP replica for <see cref="Steps"/> steps; accumulate: two half-shards per step under NoSync.</summary>
    private static double[] TrainDdp(string opt, double capMb, bool accumulate, int rank, int size, bool zero = false)
    {
        using var ddp = new DistributedDataParallel(Model(100 + rank), bucketCapMb: capMb, firstBucketCapMb: capMb);
        Optimizer? plain = zero ? null : Make(opt, ddp.Parameters());
        var zeroOpt = zero ? new ZeroRedundancyOptimizer(ddp.Parameters(), ps => Make(opt, ps)) : null;
        int per = Global / size;
        for (int s = 0; s < Steps; s++)
        {
            ddp.ZeroGrad();
            if (accumulate)
            {
                int half = per / 2;
                var (x1, y1) = Batch(s, rank * per, rank * per + half);
                using (ddp.NoSync()) (Losses.Mse(ddp.Forward(x1), y1) * (half / (double)per)).Backward();
                var (x2, y2) = Batch(s, rank * per + half, (rank + 1) * per);
                (Losses.Mse(ddp.Forward(x2), y2) * ((per - half) / (double)per)).Backward();
            }
            else
            {
                var (x, y) = Batch(s, rank * per, (rank + 1) * per);
                Losses.Mse(ddp.Forward(x), y).Backward();
            }
            if (zeroOpt is not null) zeroOpt.Step(); else plain!.Step();
        }
        if (zeroOpt is not null) { ZeroShard = zeroOpt.ShardLength; ZeroState = zeroOpt.StateElements; ZeroTotal = zeroOpt.Total; }
        return Flat(ddp.Module);
    }

    private static int ZeroShard, ZeroTotal;
    private static long ZeroState;

    /// <summary>One process on the whole global batches, from rank 0's initial parameters.</summary>
    private static double[] TrainReference(string opt)
    {
        var m = Model(100);
        var o = Make(opt, m.Parameters());
        for (int s = 0; s < Steps; s++)
        {
            m.ZeroGrad();
            var (x, y) = Batch(s, 0, Global);
            Losses.Mse(m.Forward(x), y).Backward();
            o.Step();
        }
        return Flat(m);
    }

    /// <summary>Runs a case; false if the name is not one of these.</summary>
    public static bool Run(string which, string dir, int rank, int size, List<string> lines)
    {
        switch (which)
        {
            case "ddp":
                foreach (var opt in new[] { "sgdm", "adam", "adamw", "rmsprop" })
                {
                    if (rank == 0) lines.Add(Line($"{opt}-ref", TrainReference(opt)));
                    lines.Add(Line($"{opt}-many", TrainDdp(opt, 1e-5, false, rank, size)));
                    lines.Add(Line($"{opt}-one", TrainDdp(opt, 100, false, rank, size)));
                    lines.Add(Line($"{opt}-nosync", TrainDdp(opt, 25, true, rank, size)));
                    lines.Add(Line($"{opt}-zero", TrainDdp(opt, 25, false, rank, size, zero: true)));
                    lines.Add(Line($"{opt}-zero-shard", new double[] { ZeroShard, ZeroTotal, ZeroState }));
                }
                using (var probe = new DistributedDataParallel(Model(1), bucketCapMb: 1e-5, firstBucketCapMb: 1e-5))
                    lines.Add(Line("buckets-many", new double[] { probe.BucketBytes.Length }));
                using (var probe = new DistributedDataParallel(Model(1), bucketCapMb: 100, firstBucketCapMb: 100))
                    lines.Add(Line("buckets-one", new double[] { probe.BucketBytes.Length }));
                return true;
            case "mismatch":
                try
                {
                    using var ddp = new DistributedDataParallel(Model(1, hidden: Hidden + rank));
                    lines.Add("error none");
                }
                catch (InvalidOperationException e) { lines.Add("error " + e.Message); }
                return true;
            case "sleep":
            case "kill":
                Faults(which, dir, rank, size);
                return true;
            case var b when b.StartsWith("stepbench:", StringComparison.Ordinal):
                StepBench(b.Split(':'), rank, lines);
                return true;
            default:
                return false;
        }
    }

    /// <summary>stepbench:MODEL:MODE:CAPMB — time per training step of the CLI's mlp or cnn (SGD with momentum,
    /// float32, 32 random samples per rank) as plain training ("plain", one rank), DDP ("ddp") or DDP sending every
    /// bucket after backward ("nooverlap"); 5 warm-up steps, then 30 timed.</summary>
    private static void StepBench(string[] spec, int rank, List<string> lines)
    {
        string name = spec[1], mode = spec[2];
        double cap = double.Parse(spec[3], CultureInfo.InvariantCulture);
        var model = Models.Build(name, 0, "default", 1);
        using var ddp = mode == "plain" ? null : new DistributedDataParallel(model, bucketCapMb: cap, firstBucketCapMb: Math.Min(1, cap), overlap: mode == "ddp");
        Module net = ddp is null ? model : ddp;
        var opt = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
        const int per = 32, warm = 5, timed = 30;
        var x = Tensor.Randn(new long[] { per, 1, 28, 28 }, DType.Float32, seed: 7 + rank);
        var y = Tensor.FromArray(Enumerable.Range(0, per).Select(i => (long)((i * 7 + rank) % 10)).ToArray(), per);
        void Step()
        {
            opt.ZeroGrad();
            Losses.CrossEntropy(net.Forward(x), y).Backward();
            opt.Step();
        }
        for (int i = 0; i < warm; i++) Step();
        if (ddp is not null) Hybrid.Distributed.Distributed.Barrier();
        double wait0 = ddp?.WaitSeconds ?? 0, comm0 = ddp?.CommunicationSeconds ?? 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < timed; i++) Step();
        double seconds = clock.Elapsed.TotalSeconds;
        lines.Add(Line("ms-per-step", new[] { 1000 * seconds / timed }));
        lines.Add(Line("wait-ms-per-step", new[] { 1000 * ((ddp?.WaitSeconds ?? 0) - wait0) / timed }));
        lines.Add(Line("comm-ms-per-step", new[] { 1000 * ((ddp?.CommunicationSeconds ?? 0) - comm0) / timed }));
        lines.Add(Line("gradient-bytes", new double[] { ddp?.GradientBytes ?? model.Parameters().Sum(p => p.Numel * 4) }));
        lines.Add(Line("bytes-sent-per-step", new double[] { ddp?.BytesSentPerStep ?? 0 }));
        lines.Add(Line("buckets", new double[] { ddp?.BucketBytes.Length ?? 0 }));
    }

    /// <summary>Training in which the last rank, at step 2, sleeps 60 s (the watchdog, 3 s here, must end the job)
    /// or kills itself with SIGKILL (mpirun must end the job); rank 0 checkpoints after every step.</summary>
    private static void Faults(string which, string dir, int rank, int size)
    {
        using var ddp = new DistributedDataParallel(Model(100 + rank), timeout: TimeSpan.FromSeconds(which == "sleep" ? 3 : 60));
        var opt = Make("adam", ddp.Parameters());
        int per = Global / size;
        for (int s = 0; s < 100; s++)
        {
            if (s == 2 && rank == size - 1)
            {
                Console.Error.WriteLine($"dist-selftest: rank {rank} {(which == "sleep" ? "sleeps" : "kills itself")} at step {s}");
                Console.Error.Flush();
                if (which == "sleep") Thread.Sleep(TimeSpan.FromSeconds(60));
                else System.Diagnostics.Process.GetCurrentProcess().Kill();
            }
            ddp.ZeroGrad();
            var (x, y) = Batch(s, rank * per, (rank + 1) * per);
            Losses.Mse(ddp.Forward(x), y).Backward();
            opt.Step();
            if (rank == 0)
            {
                ddp.Module.Save(Path.Combine(dir, "checkpoint.safetensors"));
                var tmp = Path.Combine(dir, "checkpoint.txt.tmp");
                File.WriteAllLines(tmp, new[] { Line("step", new double[] { s }), Line("params", Flat(ddp.Module)) });
                File.Move(tmp, Path.Combine(dir, "checkpoint.txt"), true);
            }
        }
    }
}
