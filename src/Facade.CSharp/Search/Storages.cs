using CoreStorage = Hybrid.Core.Search.IStorage;

namespace Hybrid.Search;

/// <summary>
/// Where a study's trials live, shared by every worker (threads, processes, machines). Dispose it when done: it
/// releases the pooled database connections.
/// </summary>
public abstract class Storage : IDisposable
{
    internal CoreStorage Core { get; }

    private protected Storage(CoreStorage core) => Core = core;

    /// <summary>What the storage is, for messages ("sqlite runs/s/study.db").</summary>
    public override string ToString() => Core.Describe;

    /// <summary>Releases the storage's connections.</summary>
    public void Dispose()
    {
        Core.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// A study storage in one SQLite file, safe for many threads and processes on one machine (write-ahead log,
/// busy timeout, BEGIN IMMEDIATE claims, bounded retries whose error names the file). The file is created if absent;
/// its folder must exist.
/// </summary>
public sealed class SqliteStorage : Storage
{
    /// <summary>Opens (creating if absent) the study database at this path.</summary>
    /// <param name="path">The file, e.g. runs/search/study.db.</param>
    public SqliteStorage(string path) : base(Hybrid.Core.Search.SqliteStorage.openFile(path)) { }
}

/// <summary>A study storage in a PostgreSQL database, for workers on several machines; the same schema as SQLite.</summary>
public sealed class PostgresStorage : Storage
{
    /// <summary>Opens the storage in the database at this URL, creating the schema if absent.</summary>
    /// <param name="url">postgresql://user[:password]@host[:port]/database</param>
    public PostgresStorage(string url) : base(Hybrid.Core.Search.PostgresStorage.openUrl(url)) { }
}
