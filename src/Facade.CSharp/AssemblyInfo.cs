using System.Runtime.CompilerServices;

// the `hybrid` command wraps the core's data loader batches as facade tensors
[assembly: InternalsVisibleTo("Hybrid.Cli")]
