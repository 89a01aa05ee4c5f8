using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hybrid.Core.Distributed;

namespace Hybrid.Cli;

/// <summary>
/// The hidden <c>hybrid dist-selftest CASE DIR</c>: what each rank of an <c>mpirun</c> job runs in the
/// distributed tests. Each rank writes <c>DIR/rank-R.txt</c> (lines <c>key value value ...</c>, invariant culture,
/// doubles round-trip) and the test compares the ranks' files.
/// </summary>
public static class DistCommand
{
    /// <summary>The command, hidden from help.</summary>
    public static Command Create()
    {
        var which = new Argument<string>("case") { Description = "collectives | error | sampler | bench | ddp | mismatch | sleep | kill" };
        var dir = new Argument<string>("dir") { Description = "directory the ranks write rank-R.txt into" };
        var cmd = new Command("dist-selftest", "distributed self-test run by each MPI rank (tests)") { Hidden = true };
        cmd.Arguments.Add(which);
        cmd.Arguments.Add(dir);
        cmd.SetAction(parse => Run(parse.GetValue(which)!, parse.GetValue(dir)!));
        return cmd;
    }

    private static string Line(string key, IEnumerable<double> values) =>
        key + " " + string.Join(" ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static int Run(string which, string dir)
    {
        Hybrid.Distributed.Distributed.Init();
        int rank = Mpi.rank(), size = Mpi.size();
        var lines = new List<string> { Line("rank", new double[] { rank }), Line("size", new double[] { size }) };
        try
        {
            switch (which)
            {
                case "collectives":
                    var f = Enumerable.Range(0, 5).Select(i => (float)(rank + 1) * (i + 1)).ToArray();
                    Mpi.allreduceSum(f);
                    lines.Add(Line("allreduce-f32", f.Select(v => (double)v)));
                    var d = Enumerable.Range(0, 5).Select(i => 0.1 * (rank + 1) + i).ToArray();
                    Mpi.allreduceSum(d);
                    lines.Add(Line("allreduce-f64", d));
                    var s = Enumerable.Range(0, 6).Select(i => (double)(rank * 10 + i)).ToArray();
                    Mpi.allreduceSumSlice(s, 2, 3);
                    lines.Add(Line("allreduce-slice", s));
                    var b = rank == 0 ? new[] { 3.5, -1.25, 7.0 } : new double[3];
                    Mpi.broadcast(b, 0);
                    lines.Add(Line("broadcast", b));
                    lines.Add(Line("allgather", Mpi.allgather(new[] { (double)rank, rank + 0.5 })));
                    lines.Add(Line("allgatherv", Mpi.allgatherv(Enumerable.Repeat((double)rank, rank + 1).ToArray())));
                    var rs = Enumerable.Range(0, 2 * size).Select(i => (double)(i + rank)).ToArray();
                    lines.Add(Line("reducescatter", Mpi.reduceScatterSum(rs)));
                    Mpi.barrier();
                    break;
                case "error":
                    // root outside the communicator: MPI_ERRORS_RETURN makes this an exception, not an abort
                    try { Mpi.broadcast(new double[1], size + 5); lines.Add("error none"); }
                    catch (Exception e) { lines.Add("error " + e.Message); }
                    break;
                case "sampler":
                    var o = DistributedSampler.options(10, size);
                    for (int ep = 0; ep < 2; ep++)
                        lines.Add(Line("epoch" + ep, DistributedSampler.indices(o, rank, ep).Select(i => (double)i)));
                    break;
                case "bench":
                    var big = new float[1 << 20];
                    for (int i = 0; i < 5; i++) Mpi.allreduceSum(big);
                    Mpi.barrier();
                    var sw = Stopwatch.StartNew();
                    const int reps = 50;
                    for (int i = 0; i < reps; i++) Mpi.allreduceSum(big);
                    lines.Add(Line("allreduce-1M-f32-ms", new[] { sw.Elapsed.TotalMilliseconds / reps }));
                    break;
                default:
                    if (DistTrainCases.Run(which, dir, rank, size, lines)) break;
                    Console.Error.WriteLine($"dist-selftest: unknown case {which}");
                    return 2;
            }
            File.WriteAllLines(Path.Combine(dir, $"rank-{rank}.txt"), lines);
            return 0;
        }
        finally { Mpi.finalize(); }
    }
}
