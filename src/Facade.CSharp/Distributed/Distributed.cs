using Hybrid.Core.Distributed;

namespace Hybrid.Distributed;

/// <summary>
/// The process group of an <c>mpirun</c> job (<c>torch.distributed</c>): <see cref="Init"/> once, then
/// <see cref="Rank"/> and <see cref="WorldSize"/>. Runs on Open MPI (MPI_COMM_WORLD), started by
/// <c>mpirun -np N dotnet app.dll</c>; a process started without mpirun is a job of one rank.
/// </summary>
public static class Distributed
{
    /// <summary>Whether Open MPI's library can be loaded here.</summary>
    public static bool IsAvailable => Mpi.available();

    /// <summary>Whether <see cref="Init"/> has run and <see cref="Shutdown"/> has not.</summary>
    public static bool IsInitialized => Mpi.isActive();

    /// <summary>Start MPI (MPI_Init_thread with MPI_THREAD_MULTIPLE, so that the gradient communication thread and
    /// the training thread may both call it). Calling it again does nothing.</summary>
    /// <exception cref="InvalidOperationException">Open MPI is not installed, or does not provide the thread level.</exception>
    public static void Init()
    {
        if (IsInitialized) return;
        if (!IsAvailable) throw new InvalidOperationException("Distributed.Init: Open MPI (libmpi.so.40) is not installed; install openmpi-bin and libopenmpi-dev");
        Mpi.init(Mpi.ThreadLevel.Multiple);
    }

    /// <summary>This process's rank, 0 … <see cref="WorldSize"/> − 1.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Init"/> has not run.</exception>
    public static int Rank => Ready(nameof(Rank)) ? Mpi.rank() : 0;

    /// <summary>The number of ranks in the job.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Init"/> has not run.</exception>
    public static int WorldSize => Ready(nameof(WorldSize)) ? Mpi.size() : 1;

    /// <summary>Wait until every rank has reached this call.</summary>
    public static void Barrier()
    {
        Ready(nameof(Barrier));
        Mpi.barrier();
    }

    /// <summary>End MPI (MPI_Finalize) at the end of the program; nothing distributed may run afterwards.</summary>
    public static void Shutdown() => Mpi.finalize();

    private static bool Ready(string what) =>
        IsInitialized ? true : throw new InvalidOperationException($"Distributed.{what}: call Distributed.Init() first");
}
