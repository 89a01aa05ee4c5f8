using Hybrid.Core;
using Hybrid.Core.Distributed;
using Hybrid.Nn;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Distributed;

/// <summary>
/// Data-parallel training (<c>torch.nn.parallel.DistributedDataParallel</c>): every rank holds a replica of the
/// module and feeds it its shard of each global batch; during <see cref="Tensor.Backward"/> the gradients are
/// averaged over the ranks, bucket by bucket (25 MB buckets in reverse order of registration, the first one
/// small), each bucket's allreduce starting on a communication thread as soon as its last gradient is ready, so
/// that communication overlaps the rest of backward. When Backward returns, every parameter's gradient is the
/// average, identical on every rank, and any optimizer steps the replicas identically.
/// </summary>
/// <remarks>
/// Construction is collective: every rank must construct its wrapper at the same point. It checks that all ranks
/// have the same parameter names' shapes and dtypes and the same options (a clear exception naming the first
/// difference, on every rank), then copies rank 0's parameters and buffers to every rank. Each collective runs
/// under a watchdog: a rank that does not arrive within <c>timeout</c> ends the whole job (MPI_Abort) with a
/// message naming the collective, the step and the missing rank. Disposing the wrapper stops its thread (and, as
/// for any module, gives back the device buffers of the wrapped module's tensors).
/// </remarks>
public sealed class DistributedDataParallel : Module
{
    private readonly Module _module;
    private readonly Parameter[] _params;
    private readonly Watchdog _watchdog;
    private readonly Reducer _reducer;
    private readonly Hook _hook;
    private IDisposable? _registration;
    private CoreTensor[] _registered = Array.Empty<CoreTensor>();
    private bool _noSync;
    private int _step;

    /// <summary>Wrap a module built identically on every rank (collective: every rank constructs it).</summary>
    /// <param name="module">The replica.</param>
    /// <param name="bucketCapMb">Bucket size in MB (2^20 bytes), as torch's <c>bucket_cap_mb</c>.</param>
    /// <param name="timeout">How long any collective may wait for the other ranks before the job is ended (default 60 s).</param>
    /// <param name="overlap">Start each bucket's allreduce during backward (true, as DDP); false sends every bucket after backward ends.</param>
    /// <param name="firstBucketCapMb">Size of the first bucket in MB (DDP: 1).</param>
    /// <exception cref="InvalidOperationException"><see cref="Distributed.Init"/> has not run, or the ranks' models or options differ.</exception>
    /// <exception cref="ArgumentException">A cap or the timeout is not positive.</exception>
    public DistributedDataParallel(Module module, double bucketCapMb = 25, TimeSpan? timeout = null, bool overlap = true, double firstBucketCapMb = 1)
    {
        ArgumentNullException.ThrowIfNull(module, nameof(module));
        if (!(bucketCapMb > 0)) throw new ArgumentException($"DistributedDataParallel: bucketCapMb must be > 0 (got {bucketCapMb})", nameof(bucketCapMb));
        if (!(firstBucketCapMb > 0)) throw new ArgumentException($"DistributedDataParallel: firstBucketCapMb must be > 0 (got {firstBucketCapMb})", nameof(firstBucketCapMb));
        var wait = timeout ?? TimeSpan.FromSeconds(60);
        if (wait <= TimeSpan.Zero) throw new ArgumentException($"DistributedDataParallel: timeout must be positive (got {wait})", nameof(timeout));
        if (!Distributed.IsInitialized) throw new InvalidOperationException("DistributedDataParallel: call Distributed.Init() first");
        _module = module;
        var named = module.NamedParameters().ToArray();
        _params = named.Select(p => p.Parameter).ToArray();
        _watchdog = new Watchdog(wait);
        long cap = (long)(bucketCapMb * 1024 * 1024), first = (long)(firstBucketCapMb * 1024 * 1024);
        var options = new[] { (int)Math.Min(int.MaxValue, cap / 1024), (int)Math.Min(int.MaxValue, first / 1024), overlap ? 1 : 0, (int)Math.Min(int.MaxValue, wait.TotalMilliseconds) };
        Consistency.Check("DistributedDataParallel", _watchdog, options, new[] { "bucketCapMb (KB)", "firstBucketCapMb (KB)", "overlap", "timeout (ms)" },
                          named.Select(p => (p.Name, p.Parameter.Core)).ToArray());
        Consistency.BroadcastState(_watchdog, module);
        _reducer = new Reducer(_params.Select(p => p.Core.Shape).ToArray(), _params.Select(p => p.Core.DType).ToArray(), first, cap, _watchdog, overlap);
        _hook = new Hook(this);
        EnsureHook();
    }

    /// <summary>The wrapped module (torch's <c>ddp.module</c>): save its state dict for checkpoints.</summary>
    public Module Module => _module;

    /// <summary>Run the wrapped module (and watch its current parameters' gradients).</summary>
    /// <param name="input">This rank's shard of the batch.</param>
    public override Tensor Forward(Tensor input)
    {
        EnsureHook();
        return _module.Call(input);
    }

    /// <summary>A scope in which backward accumulates gradients locally without averaging them (torch's
    /// <c>no_sync()</c>, for gradient accumulation): the first backward after the scope averages the sum.</summary>
    public IDisposable NoSync()
    {
        var saved = _noSync;
        _noSync = true;
        return new Scope(() => _noSync = saved);
    }

    /// <summary>Steps whose gradients were averaged.</summary>
    public int SyncedSteps => _reducer.Stats.SyncedSteps;

    /// <summary>Seconds the communication thread spent in allreduces, in all.</summary>
    public double CommunicationSeconds => _reducer.Stats.CommunicationSeconds;

    /// <summary>Seconds backward waited for allreduces after computing its last gradient (communication not
    /// hidden behind backward), in all.</summary>
    public double WaitSeconds => _reducer.Stats.WaitSeconds;

    /// <summary>Gradient bytes averaged per step (every parameter's, once).</summary>
    public long GradientBytes => _reducer.Stats.GradientBytes;

    /// <summary>Bytes each rank sends per step under the ring allreduce model: 2(N−1)/N × <see cref="GradientBytes"/>
    /// (computed from the model, not counted on the wire).</summary>
    public long BytesSentPerStep => Distributed.WorldSize <= 1 ? 0 : 2L * (Distributed.WorldSize - 1) * GradientBytes / Distributed.WorldSize;

    /// <summary>The buckets' sizes in bytes, in the order they are sent (last layers first).</summary>
    public long[] BucketBytes => _reducer.Buckets.Select(b => b.Bytes).ToArray();

    /// <inheritdoc />
    protected override void OnDispose()
    {
        _registration?.Dispose();
        _registration = null;
        _reducer.Dispose();
    }

    private void EnsureHook()
    {
        // parameters loaded or re-set get new core tensors: watch the current ones
        if (_registration is not null && _registered.Length == _params.Length && _params.Select((p, i) => ReferenceEquals(p.Core, _registered[i])).All(x => x))
            return;
        _registration?.Dispose();
        _registered = _params.Select(p => p.Core).ToArray();
        _hook.Index = new Dictionary<CoreTensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _registered.Length; i++) _hook.Index[_registered[i]] = i;
        _registration = Tape.registerHook(_registered, _hook);
    }

    private void Finish()
    {
        var grads = _reducer.Finish();
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            var g = grads[i];
            if (g is null) continue; // one rank: backward's gradient is the average
            if (!p.Core.Device.Equals(g.Device)) g = new CoreTensor(Devices.backendOf(p.Core.Device).Import(g.Raw));
            p.Core.Grad = g;
        }
        // the buckets of the next step are sent during its backward, before any Finish: name that step now
        _reducer.Step = ++_step;
    }

    private sealed class Hook(DistributedDataParallel owner) : Tape.BackwardHook
    {
        public Dictionary<CoreTensor, int> Index = new(ReferenceEqualityComparer.Instance);

        public void LeafReady(CoreTensor leaf)
        {
            if (owner._noSync) return;
            if (Index.TryGetValue(leaf, out var i)) owner._reducer.Ready(i, leaf.Grad);
        }

        public void Finished()
        {
            if (!owner._noSync) owner.Finish();
        }
    }

    private sealed class Scope(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
