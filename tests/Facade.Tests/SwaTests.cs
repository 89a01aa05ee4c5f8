using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;
using Xunit;

namespace Hybrid.Facade.Tests;

// Expected values from torch 1.13's torch.optim.swa_utils (AveragedModel, SWALR).
public class SwaTests
{
    private static Linear Net()
    {
        var m = new Linear(2, 1);
        m.Weight.SetData(Tensor.FromArray(new float[] { 1, 2 }, 1, 2));
        m.Bias!.SetData(Tensor.FromArray(new float[] { 0.5f }));
        return m;
    }

    // the model's weights move by (k + 1)·[1, −1] and its bias doubles before each update, as in the torch script
    private static void Move(Linear m, int k)
    {
        m.Weight.SetData(m.Weight + Tensor.FromArray(new float[] { 1, -1 }, 1, 2) * (k + 1));
        m.Bias!.SetData(m.Bias * 2.0);
    }

    private static void Close(double[] expected, Tensor actual)
    {
        var a = actual.ToArray<float>();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(expected[i] - a[i]) < 1e-5, $"at {i}: expected {expected[i]}, got {a[i]}");
    }

    [Fact]
    public void AveragedModelIsTheRunningMeanOfTheWeights()
    {
        var model = Net();
        var swa = new AveragedModel(model, new Linear(2, 1));
        var expected = new[] { (new[] { 2.0, 1.0 }, 1.0), (new[] { 3.0, 0.0 }, 1.5), (new[] { 4.333333492279053, -1.3333333730697632 }, 2.3333332538604736) };
        for (int k = 0; k < 3; k++)
        {
            Move(model, k);
            swa.UpdateParameters(model);
            var inner = (Linear)swa.Module;
            Close(expected[k].Item1, inner.Weight);
            Close(new[] { expected[k].Item2 }, inner.Bias!);
            Assert.Equal(k + 1, swa.NAveraged);
        }
        Assert.Equal(new[] { "n_averaged", "module.weight", "module.bias" }, swa.StateDict().Keys.OrderBy(k => k == "n_averaged" ? 0 : 1).ToArray());
        // forward runs the averaged copy
        var x = Tensor.FromArray(new float[] { 1, 1 }, 1, 2);
        Close(new[] { 4.333333 - 1.333333 + 2.333333 }, swa.Forward(x));
    }

    [Fact]
    public void EmaOfWeightsMatchesTorchsAvgFn()
    {
        var model = Net();
        var ema = new AveragedModel(model, new Linear(2, 1), emaDecay: 0.9);
        for (int k = 0; k < 3; k++) { Move(model, k); ema.UpdateParameters(model); }
        var inner = (Linear)ema.Module;
        Close(new[] { 2.680000066757202, 0.31999990344047546 }, inner.Weight);
        Close(new[] { 1.3899999856948853 }, inner.Bias!);
    }

    [Theory]
    [InlineData(AnnealStrategy.Cos, 3, new[] { 0.5, 0.3875, 0.16250000000000006, 0.05, 0.05, 0.05, 0.05 })]
    [InlineData(AnnealStrategy.Linear, 4, new[] { 0.5, 0.3875, 0.275, 0.1625, 0.05, 0.05, 0.05 })]
    [InlineData(AnnealStrategy.Cos, 0, new[] { 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05 })]
    public void SwalrMatchesTorch(AnnealStrategy strategy, int annealEpochs, double[] expected)
    {
        var p = new Parameter(Tensor.Zeros(1));
        var opt = new SGD(new[] { p }, lr: 0.5);
        var s = new SWALR(opt, swaLr: 0.05, annealEpochs: annealEpochs, annealStrategy: strategy);
        var lrs = new List<double> { opt.ParamGroups[0].Lr };
        for (int i = 0; i < 6; i++) { s.Step(); lrs.Add(opt.ParamGroups[0].Lr); }
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - lrs[i]) < 1e-12, $"step {i}: expected {expected[i]}, got {lrs[i]}");
    }

    [Fact]
    public void SwalrStateDictRoundTripsAndContinuesAsTheUninterruptedSchedule()
    {
        var o1 = new SGD(new[] { new Parameter(Tensor.Zeros(1)) }, lr: 0.5);
        var s1 = new SWALR(o1, swaLr: 0.05, annealEpochs: 4, annealStrategy: AnnealStrategy.Linear);
        s1.Step();
        var state = s1.StateDict();
        Assert.Equal(2, state.StepCount);
        Assert.Equal("4", state.Args!["anneal_epochs"]);
        Assert.Equal("linear", state.Args["anneal_strategy"]);
        var want = new List<double>();
        for (int i = 0; i < 4; i++) { s1.Step(); want.Add(o1.ParamGroups[0].Lr); }

        var o2 = new SGD(new[] { new Parameter(Tensor.Zeros(1)) }, lr: 0.5);
        var s2 = new SWALR(o2, swaLr: 0.05, annealEpochs: 4, annealStrategy: AnnealStrategy.Linear);
        s2.LoadStateDict(state);
        Assert.Equal(state.LastLr, s2.GetLastLr());
        var got = new List<double>();
        for (int i = 0; i < 4; i++) { s2.Step(); got.Add(o2.ParamGroups[0].Lr); }
        Assert.Equal(want, got);   // exactly
    }

    [Fact]
    public void SwalrRefusesAStateOfOtherArgumentsNamingTheKeyAndChangesNothing()
    {
        var o1 = new SGD(new[] { new Parameter(Tensor.Zeros(1)) }, lr: 0.5);
        var state = new SWALR(o1, swaLr: 0.05, annealEpochs: 4).StateDict();
        var o2 = new SGD(new[] { new Parameter(Tensor.Zeros(1)) }, lr: 0.5);
        var other = new SWALR(o2, swaLr: 0.05, annealEpochs: 3);
        var before = (other.StateDict().StepCount, o2.ParamGroups[0].Lr);
        var e = Assert.Throws<ArgumentException>(() => other.LoadStateDict(state));
        Assert.Contains("key 'anneal_epochs' is 4 in the state but 3 in this scheduler", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SWALR(o2, swaLr: 0.01, annealEpochs: 4).LoadStateDict(state));
        Assert.Contains("key 'swa_lr' is 0.05 in the state but 0.01 in this scheduler", e.Message);
        e = Assert.Throws<ArgumentException>(() => other.LoadStateDict(state with { LastLr = new[] { 0.1, 0.2 } }));
        Assert.Contains("'_last_lr' has 2 groups, the scheduler 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => other.LoadStateDict(state with { StepCount = -1 }));
        Assert.Contains("'_step_count' is -1 (expected >= 0)", e.Message);
        Assert.Equal(before, (other.StateDict().StepCount, o2.ParamGroups[0].Lr));
    }

    [Fact]
    public void BadInputIsRejectedWithAMessage()
    {
        var model = Net();
        var e = Assert.Throws<ArgumentException>(() => new AveragedModel(model, new Linear(3, 1)));
        Assert.Contains("same architecture", e.Message);
        Assert.Throws<ArgumentException>(() => new AveragedModel(model, model));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AveragedModel(model, new Linear(2, 1), emaDecay: 1.5));
        var opt = new SGD(model.Parameters(), lr: 0.1);
        var s = Assert.Throws<ArgumentOutOfRangeException>(() => new SWALR(opt, swaLr: 0.05, annealEpochs: -1));
        Assert.Contains("annealEpochs", s.Message);
    }
}
