using CoreSampler = Hybrid.Core.Distributed.DistributedSampler;

namespace Hybrid.Distributed;

/// <summary>
/// Which samples this rank reads in each epoch (<c>torch.utils.data.DistributedSampler</c>): disjoint shards of
/// equal length that together cover the epoch, in the same shuffled order on every rank. The epoch is an
/// argument of <see cref="Indices"/>, so there is no <c>set_epoch</c> to forget.
/// </summary>
public sealed class DistributedSampler
{
    private readonly CoreSampler.Options _options;

    /// <summary>Divide a data set among the ranks.</summary>
    /// <param name="count">Samples in the data set.</param>
    /// <param name="numReplicas">Ranks sharing the data (default: <see cref="Distributed.WorldSize"/>).</param>
    /// <param name="rank">This rank (default: <see cref="Distributed.Rank"/>).</param>
    /// <param name="shuffle">Permute the samples each epoch.</param>
    /// <param name="seed">Seed of the permutation; with the epoch it fixes the order on every rank.</param>
    /// <param name="dropLast">Drop the tail that does not divide evenly instead of padding by repeating the head.</param>
    /// <exception cref="ArgumentException">A count below 0, fewer than 1 replica, or a rank outside 0 … numReplicas − 1.</exception>
    public DistributedSampler(int count, int? numReplicas = null, int? rank = null, bool shuffle = true, int seed = 0, bool dropLast = false)
    {
        NumReplicas = numReplicas ?? Distributed.WorldSize;
        Rank = rank ?? Distributed.Rank;
        _options = new CoreSampler.Options(count, NumReplicas, shuffle, seed, dropLast);
        if (Rank < 0 || Rank >= NumReplicas)
            throw new ArgumentException($"DistributedSampler: rank {Rank} outside 0..{NumReplicas - 1}", nameof(rank));
        Length = CoreSampler.shardLength(_options);
    }

    /// <summary>Ranks sharing the data.</summary>
    public int NumReplicas { get; }

    /// <summary>The rank whose shard this is.</summary>
    public int Rank { get; }

    /// <summary>Samples this rank reads per epoch: ⌈n/N⌉, or ⌊n/N⌋ with dropLast.</summary>
    public int Length { get; }

    /// <summary>This rank's sample indices for an epoch, in reading order.</summary>
    /// <param name="epoch">The epoch (0, 1, …): each gives a new order.</param>
    public int[] Indices(int epoch) => CoreSampler.indices(_options, Rank, epoch);
}
