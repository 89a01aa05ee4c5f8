using Hybrid.Optim;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// Regression (issue 17, defect 4): RMSprop computes its step in torch's order (avg = √v [centered √(v − ḡ²)], + ε,
/// then θ + ((−γ)·g)/avg as addcdiv_), so its float64 trajectory stays within rounding of torch 1.13's. Expected: torch
/// 1.13 after 40 steps on golden/optimizers.json's problem; each of these cases moves by at most 8e-14 under
/// rounding-level gradient noise in torch itself, so 1e-12 measures the implementation, not the conditioning.
/// </summary>
public class RmspropOrderTests
{
    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    /// <summary>The test's output (the largest relative difference is printed).</summary>
    public RmspropOrderTests(Xunit.Abstractions.ITestOutputHelper output) => _out = output;

    public static IEnumerable<object[]> Cases() => new[]
    {
        new object[] { 0.01, 0.99, 1e-8, 0.0, 0.0, false, new[] { 0.30220593076136804, 0.06437458546023653, 0.15238682953923832, 0.3461717449446198, 0.07966459671419529, 0.10129321148613298, -0.4436892206792196, 0.6189906503068401, 0.7424948300083796, -0.0966897002613439, 0.40099714831652283, -0.11747013454824447, 0.5675279202052311, -0.24588328730303866, 0.21527197253712527 } },
        new object[] { 0.01, 0.9, 1e-8, 0.0, 0.0, true, new[] { 0.21978353068125203, 0.021853604379869943, 0.27269705667528304, 0.2407127668765479, 0.009827820613786464, 0.06628487630349028, -0.2799721166304775, 0.5401040698922032, 0.6450953417282081, -0.06158013648775465, 0.22403373850458896, -0.05806165302577063, 0.5417536999128378, -0.21565323118893473, 0.15919039825732853 } },
        new object[] { 0.005, 0.99, 1e-8, 0.01, 0.8, false, new[] { 0.6882721747004636, 0.10868781684697618, 0.02212148154817387, 0.6775147238141677, 0.17016387927375567, 0.14992350714826133, -0.6195066934848633, 0.7732373243184038, 1.1062619825495137, -0.13100194107254662, 0.5873080484778448, -0.21331283441907126, 0.8572394896192276, -0.26695435543921087, 0.32555285169564535 } },
        new object[] { 0.01, 0.99, 1e-6, 0.0, 0.5, true, new[] { 0.7009076410656115, 0.09824652619511451, 0.08264115311883054, 0.7212609366757394, 0.2062527792529984, 0.17488076118092472, -0.7073855337464753, 0.8063284784435755, 1.0914733432280914, -0.14262015256125565, 0.6191885046502726, -0.1535870417840479, 0.938627656456481, -0.30041470268006926, 0.3839975141881993 } },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RmspropStaysWithinRoundingOfTorchOver40Float64Steps(double lr, double alpha, double eps, double weightDecay, double momentum, bool centered, double[] torch)
    {
        var p = new GoldenProblem();
        var opt = new RMSprop(p.Params, lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay, momentum: momentum, centered: centered);
        for (int s = 0; s < 40; s++) opt.Step(p.Closure(opt));
        var got = p.Flat();
        _out.WriteLine($"largest relative difference from torch: {got.Zip(torch).Max(z => Math.Abs(z.First - z.Second) / Math.Abs(z.Second)):E2}");
        for (int i = 0; i < torch.Length; i++)
            Assert.True(Math.Abs(got[i] - torch[i]) <= 1e-12 * Math.Abs(torch[i]), $"element {i}: {got[i]:R} vs torch {torch[i]:R} ({Math.Abs(got[i] - torch[i]) / Math.Abs(torch[i]):E2} relative)");
    }
}
