using Hybrid.Core;
using Hybrid.Core.Distributed;
using Hybrid.Nn;
using Hybrid.Optim;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Distributed;

/// <summary>
/// ZeRO stage 1 (<c>torch.distributed.optim.ZeroRedundancyOptimizer</c>; Rajbhandari et al., SC 2020): the
/// parameters are seen as one flat vector of P elements, and this rank keeps optimizer state only for its slice
/// of ⌈P/N⌉ elements. <see cref="Step"/> updates the slice with the wrapped optimizer's unchanged per-element rule,
/// using the (already averaged) gradients, then allgathers the slices so every rank holds the new parameters:
/// the trajectory is DDP's, with 1/N of the optimizer state per rank.
/// </summary>
/// <remarks>Use it after <see cref="DistributedDataParallel"/> has averaged the gradients. Construction is
/// collective. A parameter without a gradient counts as a zero gradient. All parameters must share one dtype.</remarks>
public sealed class ZeroRedundancyOptimizer
{
    private readonly Parameter[] _params;
    private readonly int[] _numels;
    private readonly Parameter _shard;
    private readonly Watchdog _watchdog;
    private readonly bool _float32;
    private int _step;

    /// <summary>Shard an optimizer's state over the ranks (collective).</summary>
    /// <param name="parameters">The model's parameters, in the same order on every rank.</param>
    /// <param name="optimizer">Makes the optimizer of this rank's slice, e.g. <c>ps =&gt; new Adam(ps, lr: 1e-3)</c>;
    /// it must be a per-element rule (SGD, Adam, AdamW, RMSprop, Adagrad, ...).</param>
    /// <param name="timeout">How long the allgather may wait for the other ranks (default 60 s).</param>
    /// <exception cref="InvalidOperationException"><see cref="Distributed.Init"/> has not run, or the ranks' parameters differ.</exception>
    /// <exception cref="ArgumentException">No parameters, mixed dtypes, or an optimizer that is not first-order.</exception>
    public ZeroRedundancyOptimizer(IEnumerable<Parameter> parameters, Func<IEnumerable<Parameter>, Optimizer> optimizer, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(parameters, nameof(parameters));
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        if (!Distributed.IsInitialized) throw new InvalidOperationException("ZeroRedundancyOptimizer: call Distributed.Init() first");
        _params = parameters.ToArray();
        if (_params.Length == 0) throw new ArgumentException("ZeroRedundancyOptimizer: no parameters", nameof(parameters));
        var dtype = _params[0].DType;
        if (_params.Any(p => p.DType != dtype) || dtype == DType.Int64)
            throw new ArgumentException($"ZeroRedundancyOptimizer: every parameter must be float32, or every one float64 (got {string.Join(", ", _params.Select(p => p.DType).Distinct())})", nameof(parameters));
        _float32 = dtype == DType.Float32;
        _numels = _params.Select(p => p.Core.Numel).ToArray();
        Total = _numels.Sum();
        _watchdog = new Watchdog(timeout ?? TimeSpan.FromSeconds(60));
        Consistency.Check("ZeroRedundancyOptimizer", _watchdog, Array.Empty<int>(), Array.Empty<string>(),
                          _params.Select((p, i) => ($"parameter {i}", p.Core)).ToArray());
        (ShardOffset, var hi) = Zero.shard(Total, Mpi.size(), Mpi.rank()).ToValueTuple();
        ShardLength = hi - ShardOffset;
        _shard = new Parameter(_float32 ? Tensor.FromArray(Zero.slice(_params.Select(p => p.Core.ToFloat32Array()).ToArray(), ShardOffset, hi), ShardLength)
                                        : Tensor.FromArray(Zero.slice(_params.Select(p => p.Core.ToFloat64Array()).ToArray(), ShardOffset, hi), ShardLength));
        Inner = optimizer(new[] { _shard });
        if (Inner is not FirstOrderOptimizer)
            throw new ArgumentException($"ZeroRedundancyOptimizer: {Inner.GetType().Name} is not a per-element first-order optimizer", nameof(optimizer));
    }

    /// <summary>The optimizer of this rank's slice (its options, learning rate and state).</summary>
    public Optimizer Inner { get; }

    /// <summary>Elements of the flat parameter vector (P).</summary>
    public int Total { get; }

    /// <summary>First element of this rank's slice.</summary>
    public int ShardOffset { get; }

    /// <summary>Elements of this rank's slice: ⌈P/N⌉ (the last ranks may have fewer).</summary>
    public int ShardLength { get; }

    /// <summary>Elements of optimizer state this rank holds (all buffers of <see cref="Inner"/>'s state).</summary>
    public long StateElements => Inner.StateDict().State.Values.Sum(s => s.Buffers.Values.Sum(b => b.Numel));

    /// <summary>Seconds spent in the allgathers, in all.</summary>
    public double CommunicationSeconds { get; private set; }

    /// <summary>Clear the gradients of every parameter.</summary>
    /// <param name="setToNone">Set them to null (the default) rather than to zeros.</param>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in _params) p.Grad = setToNone || p.Grad is null ? null : p.Grad.ZerosLike();
    }

    /// <summary>Update this rank's slice with the wrapped optimizer, then allgather the slices into every
    /// parameter (collective: every rank calls it).</summary>
    public void Step()
    {
        int hi = ShardOffset + ShardLength;
        if (_float32) StepAs(t => t.ToFloat32Array(), (a, s) => Create.ofFloat32(a, s), hi);
        else StepAs(t => t.ToFloat64Array(), (a, s) => Create.ofFloat64(a, s), hi);
        _step++;
    }

    private void StepAs<T>(Func<CoreTensor, T[]> read, Func<T[], int[], CoreTensor> make, int hi)
    {
        // the slice takes the current values (a LoadStateDict in between is seen) and its part of the gradients
        _shard.SetData(make(Zero.slice(_params.Select(p => read(p.Core)).ToArray(), ShardOffset, hi), new[] { ShardLength }));
        var grads = _params.Select((p, i) => p.Core.Grad is null ? new T[_numels[i]] : read(p.Core.Grad)).ToArray();
        _shard.Core.Grad = make(Zero.slice(grads, ShardOffset, hi), new[] { ShardLength });
        if (ShardLength > 0) Inner.Step();
        var (full, seconds) = Zero.gather(_watchdog, _step, read(_shard.Core), Total).ToValueTuple();
        CommunicationSeconds += seconds;
        var parts = Zero.split(full, _numels);
        for (int i = 0; i < _params.Length; i++)
        {
            var t = make(parts[i], _params[i].Core.Shape);
            if (!t.Device.Equals(_params[i].Core.Device)) t = new CoreTensor(Devices.backendOf(_params[i].Core.Device).Import(t.Raw));
            _params[i].SetData(t);
        }
    }
}
