using Microsoft.FSharp.Core;
using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary><c>torch.optim.lr_scheduler.LambdaLR</c>: lr_t = lr₀·λ(t), with λ given per group or shared.</summary>
public sealed class LambdaLR : LRScheduler
{
    /// <summary>Attach the same multiplier function to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="lrLambda">λ(t): the factor of the initial lr at step t.</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public LambdaLR(Optimizer optimizer, Func<int, double> lrLambda, int lastEpoch = -1)
        : this(optimizer, Lambdas.Repeat(optimizer, lrLambda), lastEpoch) { }

    /// <summary>Attach one multiplier function per group.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="lrLambda">λ_g(t) for each group g, in group order.</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public LambdaLR(Optimizer optimizer, Func<int, double>[] lrLambda, int lastEpoch = -1)
        : base(optimizer, (i, _) => CoreOptim.LrSchedule.NewLambdaLr(Lambdas.Of(optimizer, lrLambda, nameof(lrLambda), i)), lastEpoch) { }
}

/// <summary>Checks and converts per-group lambdas to F# functions.</summary>
internal static class Lambdas
{
    internal static Func<int, double>[] Repeat(Optimizer optimizer, Func<int, double> f)
    {
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        ArgumentNullException.ThrowIfNull(f, "lrLambda");
        return Enumerable.Repeat(f, optimizer.ParamGroups.Count).ToArray();
    }

    internal static FSharpFunc<int, double> Of(Optimizer optimizer, Func<int, double>[] fs, string name, int i)
    {
        ArgumentNullException.ThrowIfNull(fs, name);
        int n = optimizer.ParamGroups.Count;
        if (fs.Length != n) throw new ArgumentException($"expected {n} functions for {name} (one per parameter group), got {fs.Length}", name);
        var f = fs[i] ?? throw new ArgumentNullException(name, $"{name}[{i}] is null");
        return FuncConvert.FromFunc(f);
    }
}
