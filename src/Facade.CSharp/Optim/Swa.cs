using Hybrid.Nn;
using Hybrid.Optim.LrScheduler;
using CoreSwa = Hybrid.Core.Optim.Swa;
using CoreAnneal = Hybrid.Core.Optim.SwaAnneal;

namespace Hybrid.Optim;

/// <summary>
/// A running average of a model's weights (<c>torch.optim.swa_utils.AveragedModel</c>): stochastic weight averaging
/// w̄ ← w̄ + (w − w̄)/(n + 1) (Izmailov et al. 2018), or, with <c>emaDecay</c>, an exponential moving average
/// w̄ ← d·w̄ + (1 − d)·w. The averaged weights live in a separate copy of the model, <see cref="Module"/>, which this
/// wrapper's <see cref="Forward"/> calls. Its state dict holds <c>n_averaged</c> and the copy's entries under
/// <c>module.</c>, as torch's. Buffers (batch norm statistics) are copied from the model at each update, not averaged
/// (torch's <c>use_buffers=False</c>); recompute them after training if needed.
/// </summary>
public sealed class AveragedModel : Module
{
    private readonly Module _module;
    private readonly double? _emaDecay;
    private long _nAveraged;

    /// <summary>Average the weights of <paramref name="model"/> into <paramref name="copy"/>, a second instance of the same architecture (C# has no deepcopy; torch copies the model itself).</summary>
    /// <param name="model">The model being trained (read at each <see cref="UpdateParameters"/>).</param>
    /// <param name="copy">A separate module with the same parameter names and shapes; its values are overwritten by the first update.</param>
    /// <param name="emaDecay">Null for SWA's equal-weight mean; a decay d in [0, 1] for an exponential moving average.</param>
    public AveragedModel(Module model, Module copy, double? emaDecay = null)
    {
        ArgumentNullException.ThrowIfNull(model, nameof(model));
        ArgumentNullException.ThrowIfNull(copy, nameof(copy));
        if (ReferenceEquals(model, copy))
            throw new ArgumentException("AveragedModel: copy must be a separate module instance, not the model itself", nameof(copy));
        if (emaDecay is double d && !(d >= 0 && d <= 1))
            throw new ArgumentOutOfRangeException(nameof(emaDecay), d, $"AveragedModel: emaDecay = {d} must lie in [0, 1]");
        var mine = copy.NamedParameters().Select(p => (p.Name, p.Parameter.Shape)).ToArray();
        var theirs = model.NamedParameters().Select(p => (p.Name, p.Parameter.Shape)).ToArray();
        if (mine.Length != theirs.Length || mine.Zip(theirs).Any(x => x.First.Name != x.Second.Name || !x.First.Shape.SequenceEqual(x.Second.Shape)))
            throw new ArgumentException("AveragedModel: copy's parameters (names and shapes) differ from the model's; pass a module of the same architecture", nameof(copy));
        _module = copy;
        _emaDecay = emaDecay;
        RegisterBuffer("n_averaged", Tensor.FromArray(new long[] { 0 }, Array.Empty<long>()));
        copy.LoadStateDict(model.StateDict());
    }

    /// <summary>The module holding the averaged weights (torch's <c>.module</c>).</summary>
    public Module Module => _module;

    /// <summary>How many models have been averaged so far (torch's <c>n_averaged</c>).</summary>
    public long NAveraged => _nAveraged;

    /// <summary>Run the averaged model.</summary>
    /// <param name="input">The input batch.</param>
    /// <returns>The averaged model's output.</returns>
    public override Tensor Forward(Tensor input) => _module.Call(input);

    /// <summary>Fold the current weights of <paramref name="model"/> into the average (the first call copies them).</summary>
    /// <param name="model">The model being trained (same architecture as the copy).</param>
    public void UpdateParameters(Module model)
    {
        ArgumentNullException.ThrowIfNull(model, nameof(model));
        var mine = _module.NamedParameters().ToArray();
        var theirs = model.NamedParameters().ToArray();
        if (mine.Length != theirs.Length)
            throw new ArgumentException($"AveragedModel.UpdateParameters: the model has {theirs.Length} parameters, the averaged copy {mine.Length}", nameof(model));
        for (int i = 0; i < mine.Length; i++)
        {
            var (name, avg) = mine[i];
            var w = theirs[i].Parameter;
            if (theirs[i].Name != name || !w.Shape.SequenceEqual(avg.Shape))
                throw new ArgumentException($"AveragedModel.UpdateParameters: parameter '{theirs[i].Name}' of shape [{string.Join(",", w.Shape)}] does not match the copy's '{name}' of shape [{string.Join(",", avg.Shape)}]", nameof(model));
            var next = _nAveraged == 0 ? w.Core
                : _emaDecay is double d ? CoreSwa.ema(d, avg.Core, w.Core)
                : CoreSwa.average(_nAveraged, avg.Core, w.Core);
            avg.SetData(new Hybrid.Core.Tensor(next.Raw));
        }
        var buffers = model.NamedBuffers().ToDictionary(b => b.Name, b => b.Buffer);
        if (buffers.Count > 0)
        {
            var state = _module.StateDict();
            foreach (var (n, b) in buffers) state[n] = b;
            _module.LoadStateDict(state);
        }
        _nAveraged++;
        RegisterBuffer("n_averaged", Tensor.FromArray(new[] { _nAveraged }, Array.Empty<long>()));
    }
}

/// <summary>
/// The SWA learning-rate schedule (<c>torch.optim.swa_utils.SWALR</c>): anneals each group's lr to
/// <c>swaLr</c> over <c>annealEpochs</c> steps (cosine or linear), then holds it. Construction performs the initial
/// step, as torch's. The rule (in the core, <c>Swa.swalrLr</c>) reads each group's current lr, so it chains.
/// </summary>
public sealed class SWALR : ICheckpointScheduler
{
    private readonly Optimizer _optimizer;
    private readonly double[] _swaLrs;
    private readonly CoreAnneal _anneal;
    private readonly int _annealEpochs;
    private int _stepCount;

    /// <summary>Anneal every group of <paramref name="optimizer"/> to <paramref name="swaLr"/>.</summary>
    /// <param name="optimizer">The optimizer whose groups' lrs are scheduled.</param>
    /// <param name="swaLr">The SWA learning rate (for every group).</param>
    /// <param name="annealEpochs">Steps of the annealing phase (0: jump to swaLr at once).</param>
    /// <param name="annealStrategy">Cosine (default) or linear annealing.</param>
    public SWALR(Optimizer optimizer, double swaLr, int annealEpochs = 10, AnnealStrategy annealStrategy = AnnealStrategy.Cos)
        : this(optimizer, Enumerable.Repeat(swaLr, (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).ParamGroups.Count).ToArray(), annealEpochs, annealStrategy) { }

    /// <summary>Anneal each group to its own SWA learning rate.</summary>
    /// <param name="optimizer">The optimizer whose groups' lrs are scheduled.</param>
    /// <param name="swaLrs">One SWA lr per parameter group.</param>
    /// <param name="annealEpochs">Steps of the annealing phase.</param>
    /// <param name="annealStrategy">Cosine (default) or linear annealing.</param>
    public SWALR(Optimizer optimizer, double[] swaLrs, int annealEpochs = 10, AnnealStrategy annealStrategy = AnnealStrategy.Cos)
    {
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        ArgumentNullException.ThrowIfNull(swaLrs, nameof(swaLrs));
        if (swaLrs.Length != optimizer.ParamGroups.Count)
            throw new ArgumentException($"SWALR: {swaLrs.Length} swa lrs for {optimizer.ParamGroups.Count} parameter groups", nameof(swaLrs));
        foreach (var lr in swaLrs)
            if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(swaLrs), lr, $"SWALR: swaLr = {lr} must be >= 0");
        if (annealEpochs < 0) throw new ArgumentOutOfRangeException(nameof(annealEpochs), annealEpochs, $"SWALR: annealEpochs = {annealEpochs} must be >= 0");
        _optimizer = optimizer;
        _swaLrs = (double[])swaLrs.Clone();
        _annealEpochs = annealEpochs;
        _anneal = annealStrategy == AnnealStrategy.Linear ? CoreAnneal.LinearAnneal : CoreAnneal.CosAnneal;
        Step();
    }

    /// <summary>Advance one step and write each group's new lr.</summary>
    public void Step()
    {
        var groups = _optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++)
            groups[i].Lr = CoreSwa.swalrLr(_anneal, _annealEpochs, _swaLrs[i], _stepCount, groups[i].Lr);
        _stepCount++;
    }

    /// <summary>The lr of each group after the last step.</summary>
    /// <returns>One lr per group.</returns>
    public double[] GetLastLr() => _optimizer.ParamGroups.Select(g => g.Lr).ToArray();

    private IReadOnlyDictionary<string, string> Args() => SchedulerArgs.Of(_swaLrs, _annealEpochs, _anneal.IsLinearAnneal);

    /// <summary>The scheduler's state (steps taken, each group's lr and the arguments), for checkpointing.</summary>
    /// <returns>A state that <see cref="LoadStateDict"/> restores.</returns>
    public SWALRState StateDict() => new(_stepCount, GetLastLr(), Args());

    /// <summary>
    /// Restore a state saved by <see cref="StateDict"/> of an SWALR with the same arguments (swa lrs, anneal epochs,
    /// strategy); also writes the saved lr into each group. A state that does not fit is refused with an
    /// ArgumentException naming the key, and nothing changes.
    /// </summary>
    /// <param name="state">The saved state.</param>
    public void LoadStateDict(SWALRState state)
    {
        ArgumentNullException.ThrowIfNull(state, nameof(state));
        CheckStateDict(state);
        Apply(state);
    }

    private void CheckStateDict(SWALRState state)
    {
        var groups = _optimizer.ParamGroups.Count;
        if (state.LastLr is null || state.LastLr.Length != groups)
            throw new ArgumentException($"SWALR.LoadStateDict: the state's '_last_lr' has {state.LastLr?.Length ?? 0} groups, the scheduler {groups}", nameof(state));
        if (state.StepCount < 0)
            throw new ArgumentException($"SWALR.LoadStateDict: the state's '_step_count' is {state.StepCount} (expected >= 0)", nameof(state));
        SchedulerArgs.Check("SWALR", Args(), state.Args);
    }

    private void Apply(SWALRState state)
    {
        _stepCount = state.StepCount;
        var groups = _optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++) groups[i].Lr = state.LastLr[i];
    }

    string ICheckpointScheduler.SaveJson() => Checkpoint.ToJson(StateDict());

    Action ICheckpointScheduler.Prepare(string json)
    {
        var state = Checkpoint.FromJson<SWALRState>(json, "SWALR");
        CheckStateDict(state);
        return () => Apply(state);
    }
}

/// <summary>What <see cref="SWALR.StateDict"/> returns: plain numbers, safe to serialize.</summary>
/// <param name="StepCount">Steps taken, the initial step included (torch's <c>_step_count</c>).</param>
/// <param name="LastLr">Each group's lr after the last step (torch's <c>_last_lr</c>).</param>
/// <param name="Args">The arguments under torch's keys (<c>swa_lr</c>, <c>anneal_epochs</c>, <c>anneal_strategy</c>);
/// loading refuses other ones, naming the key.</param>
public sealed record SWALRState(int StepCount, double[] LastLr, IReadOnlyDictionary<string, string>? Args = null);
