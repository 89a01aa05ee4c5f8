using System.Globalization;

namespace Hybrid.Logging;

/// <summary>
/// Appends rows of named numbers to a CSV file from any training loop: a header of the columns given at construction,
/// invariant culture, round-trippable numbers ("R"), an empty field for NaN, each row flushed so the file can be
/// watched while training runs. Appending to an existing file requires the same header.
/// </summary>
public sealed class CsvLogger : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly string[] _columns;

    /// <summary>Opens (or creates) <paramref name="path"/> with these columns; an existing non-empty file must have the same header.</summary>
    /// <param name="path">The CSV file; its folder is created.</param>
    /// <param name="columns">The column names, in order (no commas, no duplicates).</param>
    /// <exception cref="ArgumentException">No columns, a duplicate or a name holding a comma or newline.</exception>
    /// <exception cref="InvalidDataException">The existing file's header differs.</exception>
    public CsvLogger(string path, params string[] columns)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Length == 0) throw new ArgumentException("CsvLogger: no columns given", nameof(columns));
        foreach (var c in columns)
            if (string.IsNullOrEmpty(c) || c.IndexOfAny(new[] { ',', '\n', '\r', '"' }) >= 0)
                throw new ArgumentException($"CsvLogger: column name '{c}' is empty or holds a comma, quote or newline", nameof(columns));
        var dup = columns.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"CsvLogger: column '{dup.Key}' is given twice", nameof(columns));
        _columns = columns;
        Path = path;
        Header = string.Join(",", columns);
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        if (File.Exists(path) && new FileInfo(path).Length > 0)
        {
            var first = File.ReadLines(path).FirstOrDefault()?.Trim() ?? "";
            if (first != Header)
                throw new InvalidDataException($"CsvLogger: {path} has the header '{first}', not '{Header}'");
        }
        _writer = new StreamWriter(path, append: true);
        if (_writer.BaseStream.Length == 0)
        {
            _writer.WriteLine(Header);
            _writer.Flush();
        }
    }

    /// <summary>The CSV file.</summary>
    public string Path { get; }

    /// <summary>The header line: the column names joined by commas.</summary>
    public string Header { get; }

    /// <summary>The column names, in order.</summary>
    public IReadOnlyList<string> Columns => _columns;

    /// <summary>Appends one row: one value per column, in column order (NaN is written as an empty field).</summary>
    /// <exception cref="ArgumentException">The number of values differs from the number of columns.</exception>
    public void Log(params double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != _columns.Length)
            throw new ArgumentException($"CsvLogger: {values.Length} values for {_columns.Length} columns ({Header})", nameof(values));
        Write(string.Join(",", values.Select(Format)));
    }

    /// <summary>Appends one row from values by column name; a column absent from <paramref name="row"/> is left empty.</summary>
    /// <exception cref="ArgumentException">A name in <paramref name="row"/> is not a column.</exception>
    public void Log(IReadOnlyDictionary<string, double> row)
    {
        ArgumentNullException.ThrowIfNull(row);
        foreach (var k in row.Keys)
            if (Array.IndexOf(_columns, k) < 0) throw new ArgumentException($"CsvLogger: '{k}' is not a column ({Header})", nameof(row));
        Write(string.Join(",", _columns.Select(c => row.TryGetValue(c, out var v) ? Format(v) : "")));
    }

    /// <summary>
    /// Rewrites <paramref name="path"/> (atomically: a temporary file renamed) keeping the header and the rows whose
    /// <paramref name="column"/> is at most <paramref name="max"/>: a run resumed from a checkpoint then logs no row twice.
    /// A torn or unreadable row is dropped. Nothing happens when the file does not exist.
    /// </summary>
    /// <exception cref="InvalidDataException">The file has no such column.</exception>
    public static void TruncateAfter(string path, string column, double max)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) return;
        var header = lines[0].Trim();
        var index = Array.IndexOf(header.Split(','), column);
        if (index < 0) throw new InvalidDataException($"CsvLogger: {path} has no column '{column}' (header '{header}')");
        var width = header.Split(',').Length;
        bool Keep(string line)
        {
            var f = line.Split(',');
            return f.Length == width && double.TryParse(f[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v <= max;
        }
        var kept = lines.Skip(1).Where(Keep).Prepend(header);
        Hybrid.Core.Durability.AtomicFile.writeAllText($"the CSV log {path}", path, string.Join("\n", kept) + "\n");
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _writer.Dispose();

    private static string Format(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    private void Write(string line)
    {
        lock (_writer)
        {
            _writer.WriteLine(line);
            _writer.Flush();
        }
    }
}
