using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// Checkpoint: model, optimizer and scheduler saved together; restored into fresh objects, training continues bit for
/// bit as if never stopped; anything that does not fit is refused with a message naming the key, changing nothing.
/// </summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "hybrid-checkpoint-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string File(string name) => Path.Combine(_dir, name);

    // a model with nested children, a buffer-holding batch norm and an optional bias
    private sealed class Net : Module
    {
        private readonly Linear _fc1;
        private readonly BatchNorm1d _bn;
        private readonly Linear _fc2;

        public Net(int seed, int hidden = 6, bool bias = true)
        {
            _fc1 = new Linear(4, hidden, bias: bias, seed: seed);
            _bn = new BatchNorm1d(hidden);
            _fc2 = new Linear(hidden, 3, seed: seed + 1);
        }

        public override Tensor Forward(Tensor x) => _fc2.Call(_bn.Call(_fc1.Call(x)).Relu());
    }

    private static readonly Tensor X = Tensor.Randn(new long[] { 8, 4 }, DType.Float32, seed: 11);
    private static readonly Tensor Y = Tensor.FromArray(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 }, 8);

    private static void TrainStep(Module m, Optimizer o)
    {
        o.ZeroGrad();
        Losses.CrossEntropy(m.Forward(X), Y).Backward();
        o.Step();
    }

    private static float[] Weights(Module m) => m.StateDict().OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.DType == DType.Float32 ? kv.Value.ToArray<float>() : kv.Value.ToArray<long>().Select(v => (float)v)).ToArray();

    public static IEnumerable<object[]> Schedulers() => new[] { new object[] { "none" }, new object[] { "StepLR" }, new object[] { "ReduceLROnPlateau" }, new object[] { "SWALR" } };

    // a scheduler of the given kind on the optimizer, and one step of it
    private static (Action Step, Func<string, Module, Optimizer, CheckpointInfo?, int> Save, Func<string, Module, Optimizer, CheckpointInfo> Load) Scheduler(string kind, Optimizer o)
    {
        switch (kind)
        {
            case "StepLR":
                var s = new StepLR(o, stepSize: 2, gamma: 0.5);
                return (s.Step, (p, m, opt, i) => { Checkpoint.Save(p, m, opt, s, i); return 0; }, (p, m, opt) => Checkpoint.Load(p, m, opt, s));
            case "ReduceLROnPlateau":
                var r = new ReduceLROnPlateau(o, patience: 0, factor: 0.5);
                int k = 0;
                return (() => r.Step(k++ % 2 == 0 ? 1.0 : 2.0), (p, m, opt, i) => { Checkpoint.Save(p, m, opt, r, i); return 0; }, (p, m, opt) => Checkpoint.Load(p, m, opt, r));
            case "SWALR":
                var w = new SWALR(o, swaLr: 0.01, annealEpochs: 3);
                return (w.Step, (p, m, opt, i) => { Checkpoint.Save(p, m, opt, w, i); return 0; }, (p, m, opt) => Checkpoint.Load(p, m, opt, w));
            default:
                return (() => { }, (p, m, opt, i) => { Checkpoint.Save(p, m, opt, i); return 0; }, (p, m, opt) => Checkpoint.Load(p, m, opt));
        }
    }

    [Theory]
    [MemberData(nameof(Schedulers))]
    public void ResumingFromACheckpointContinuesBitForBitAsNeverStopping(string kind)
    {
        // uninterrupted: 4 + 4 steps
        var a = new Net(seed: 1);
        var oa = new Adam(a.Parameters(), lr: 0.05);
        var sa = Scheduler(kind, oa);
        for (int i = 0; i < 4; i++) { TrainStep(a, oa); sa.Step(); }
        var path = File("ckpt.safetensors");
        sa.Save(path, a, oa, new CheckpointInfo(epoch: 2, step: 4, extra: new Dictionary<string, string> { ["best"] = "0.5" }));
        for (int i = 0; i < 4; i++) { TrainStep(a, oa); sa.Step(); }

        // fresh objects with other weights, restored, then the same 4 steps
        var b = new Net(seed: 7);
        var ob = new Adam(b.Parameters(), lr: 0.05);
        var sb = Scheduler(kind, ob);
        Assert.NotEqual(Weights(a), Weights(b));
        var info = sb.Load(path, b, ob);
        Assert.Equal(2, info.Epoch);
        Assert.Equal(4, info.Step);
        Assert.Equal("0.5", info.Extra["best"]);
        Assert.Equal(4, Checkpoint.ReadInfo(path).Step);
        for (int i = 0; i < 4; i++) { TrainStep(b, ob); sb.Step(); }

        Assert.Equal(Weights(a), Weights(b));   // float equality, element by element: bit for bit
        Assert.Equal(oa.ParamGroups[0].Lr, ob.ParamGroups[0].Lr);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    // everything the targets hold, as bytes: a checkpoint of them (deterministic) taken before and after a refusal
    private byte[] Snapshot(Module m, Optimizer o, LRScheduler? s)
    {
        var p = File("snapshot-" + Guid.NewGuid().ToString("N"));
        Checkpoint.Save(p, m, o, s);
        var bytes = System.IO.File.ReadAllBytes(p);
        System.IO.File.Delete(p);
        return bytes;
    }

    // a checkpoint of a trained Net with Adam and StepLR(2, 0.5)
    private string Saved()
    {
        var m = new Net(seed: 1);
        var o = new Adam(m.Parameters(), lr: 0.05);
        var s = new StepLR(o, stepSize: 2, gamma: 0.5);
        for (int i = 0; i < 3; i++) { TrainStep(m, o); s.Step(); }
        var path = File("saved.safetensors");
        Checkpoint.Save(path, m, o, s, new CheckpointInfo(epoch: 1, step: 3));
        return path;
    }

    // a target that has trained one step (so it has optimizer state of its own to lose)
    private static (Net, Optimizer) Trained(Net m, Func<IEnumerable<Parameter>, Optimizer> make)
    {
        var o = make(m.Parameters());
        TrainStep(m, o);
        return (m, o);
    }

    private void AssertRefused<TException>(string path, Module m, Optimizer o, LRScheduler? s, params string[] fragments) where TException : Exception
    {
        var before = Snapshot(m, o, s);
        var lr = o.ParamGroups[0].Lr;
        var e = Assert.Throws<TException>(() => s is null ? Checkpoint.Load(path, m, o) : Checkpoint.Load(path, m, o, s));
        foreach (var f in fragments) Assert.True(e.Message.Contains(f, StringComparison.Ordinal), $"\"{f}\" is not in: {e.Message}");
        Assert.Equal(lr, o.ParamGroups[0].Lr);
        Assert.Equal(before, Snapshot(m, o, s));   // model, optimizer and scheduler untouched
    }

    [Fact]
    public void AStateOfAnotherOptimizerIsRefusedAndNothingChanges()
    {
        var path = Saved();
        var (m, o) = Trained(new Net(seed: 5), ps => new SGD(ps, lr: 0.1, momentum: 0.9));
        AssertRefused<ArgumentException>(path, m, o, new StepLR(o, stepSize: 2, gamma: 0.5),
            "holds the state of a Adam optimizer, not of this SGD", "key 'optimizer': Adam in the file, SGD given");
    }

    [Fact]
    public void AStateOfAnotherSchedulerOrOtherArgumentsIsRefusedAfterTheModelFitsAndNothingChanges()
    {
        var path = Saved();
        // the model and optimizer fit: the refusal comes last, and still nothing is applied
        var (m, o) = Trained(new Net(seed: 5), ps => new Adam(ps, lr: 0.05));
        AssertRefused<ArgumentException>(path, m, o, new CosineAnnealingLR(o, tMax: 10),
            "holds the state of a StepLR scheduler but a CosineAnnealingLR was given", "key 'scheduler': StepLR in the file, CosineAnnealingLR given");
        AssertRefused<ArgumentException>(path, m, o, new StepLR(o, stepSize: 3, gamma: 0.5),
            "does not fit the scheduler", "key 'step_size' is 2 in the state but 3 in this scheduler");
        AssertRefused<ArgumentException>(path, m, o, null, "holds the state of a StepLR scheduler but no scheduler was given");
    }

    [Fact]
    public void AModelOfOtherShapesOrKeysIsRefusedNamingTheKeyAndNothingChanges()
    {
        var path = Saved();
        var (wide, ow) = Trained(new Net(seed: 5, hidden: 7), ps => new Adam(ps, lr: 0.05));
        AssertRefused<ArgumentException>(path, wide, ow, new StepLR(ow, stepSize: 2, gamma: 0.5),
            "does not fit the model (Net; saved from a Net)", "'fc1.weight' has shape [6,4] Float32, the module expects [7,4] Float32");
        var (noBias, onb) = Trained(new Net(seed: 5, bias: false), ps => new Adam(ps, lr: 0.05));
        AssertRefused<ArgumentException>(path, noBias, onb, new StepLR(onb, stepSize: 2, gamma: 0.5),
            "missing keys [], unexpected keys [fc1.bias]");
    }

    [Fact]
    public void ATruncatedOrAlteredFileIsRefusedAndNothingChanges()
    {
        var path = Saved();
        var bytes = System.IO.File.ReadAllBytes(path);
        var (m, o) = Trained(new Net(seed: 5), ps => new Adam(ps, lr: 0.05));
        var s = new StepLR(o, stepSize: 2, gamma: 0.5);

        var truncated = File("truncated.safetensors");
        System.IO.File.WriteAllBytes(truncated, bytes[..(bytes.Length - 10)]);
        AssertRefused<InvalidDataException>(truncated, m, o, s, "is truncated, damaged or not a checkpoint", "data_offsets [792,804] lie outside the 794 data bytes");
        System.IO.File.WriteAllBytes(truncated, bytes[..5]);
        AssertRefused<InvalidDataException>(truncated, m, o, s, "is truncated, damaged or not a checkpoint", "truncated: 5 bytes");

        var flipped = File("flipped.safetensors");
        var altered = (byte[])bytes.Clone();
        altered[^3] ^= 0x40;   // one bit of the last tensor's data
        System.IO.File.WriteAllBytes(flipped, altered);
        AssertRefused<InvalidDataException>(flipped, m, o, s, "is damaged: its content does not match the SHA-256");
        Assert.Contains("is damaged: its content does not match the SHA-256", Assert.Throws<InvalidDataException>(() => Checkpoint.ReadInfo(flipped)).Message);

        var weights = File("weights.safetensors");
        m.Save(weights);
        AssertRefused<InvalidDataException>(weights, m, o, s, "without 'hybrid.checkpoint' metadata (not a checkpoint");
        AssertRefused<FileNotFoundException>(File("absent.safetensors"), m, o, s, "no checkpoint at");
    }

    [Fact]
    public void SavingOverACheckpointReplacesItWhole()
    {
        var path = Saved();
        var m = new Net(seed: 9);
        var o = new SGD(m.Parameters(), lr: 0.1);
        Checkpoint.Save(path, m, o, new CheckpointInfo(epoch: 5));
        Assert.Equal(5, Checkpoint.ReadInfo(path).Epoch);
        var fresh = new Net(seed: 2);
        Checkpoint.Load(path, fresh, new SGD(fresh.Parameters(), lr: 0.1));
        Assert.Equal(Weights(m), Weights(fresh));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => Checkpoint.Save("", m, o)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => Checkpoint.Load(path, null!, o)).ParamName);
        Assert.Equal("optimizer", Assert.Throws<ArgumentNullException>(() => Checkpoint.Save(path, m, null!)).ParamName);
    }
}
