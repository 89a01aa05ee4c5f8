namespace Hybrid.Optim.LrScheduler;

/// <summary>CyclicLR's amplitude policy (torch's <c>mode</c>).</summary>
public enum CyclicMode
{
    /// <summary>Constant amplitude (<c>"triangular"</c>).</summary>
    Triangular,
    /// <summary>Amplitude halved every cycle (<c>"triangular2"</c>).</summary>
    Triangular2,
    /// <summary>Amplitude scaled by gamma^iteration (<c>"exp_range"</c>).</summary>
    ExpRange,
}

/// <summary>How OneCycleLR anneals between its phase end points (torch's <c>anneal_strategy</c>).</summary>
public enum AnnealStrategy
{
    /// <summary>Cosine annealing (<c>"cos"</c>).</summary>
    Cos,
    /// <summary>Linear annealing (<c>"linear"</c>).</summary>
    Linear,
}

/// <summary>Whether ReduceLROnPlateau's metric should decrease or increase (torch's <c>mode</c>).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better (a loss).</summary>
    Min,
    /// <summary>Higher is better (an accuracy).</summary>
    Max,
}

/// <summary>How ReduceLROnPlateau measures an improvement against the best value (torch's <c>threshold_mode</c>).</summary>
public enum ThresholdMode
{
    /// <summary>Relative: better than best·(1 ∓ threshold).</summary>
    Rel,
    /// <summary>Absolute: better than best ∓ threshold.</summary>
    Abs,
}
