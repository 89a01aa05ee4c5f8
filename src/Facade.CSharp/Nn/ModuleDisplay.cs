using System.Globalization;
using System.Reflection;
using System.Text;

namespace Hybrid.Nn;

public abstract partial class Module
{
    /// <summary>
    /// The module as PyTorch prints it: its type and settings, then each submodule indented under its name, e.g.
    /// <c>Sequential(\n  (0): Linear(InFeatures=784, OutFeatures=10)\n)</c>.
    /// </summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Describe(sb, 0);
        return sb.ToString();
    }

    private void Describe(StringBuilder sb, int indent)
    {
        sb.Append(GetType().Name).Append('(').Append(ExtraRepr());
        var children = NamedChildren().ToList();
        if (children.Count == 0) { sb.Append(')'); return; }
        sb.Append('\n');
        foreach (var (name, child) in children)
        {
            sb.Append(' ', indent + 2).Append('(').Append(name).Append("): ");
            child.Describe(sb, indent + 2);
            sb.Append('\n');
        }
        sb.Append(' ', indent).Append(')');
    }

    /// <summary>
    /// The settings shown between the parentheses of <see cref="ToString"/> (<c>extra_repr</c>): by default the
    /// module's public int, long, double, bool and shape properties, e.g. <c>InFeatures=784, OutFeatures=10</c>.
    /// </summary>
    /// <returns>The settings, comma-separated.</returns>
    protected virtual string ExtraRepr()
    {
        var parts = new List<string>();
        foreach (var p in GetType().GetProperties(BindingFlags.Instance | BindingFlags.Public))
        {
            if (p.DeclaringType == typeof(Module) || p.GetIndexParameters().Length > 0 || p.Name == "Count") continue;
            object? v = p.PropertyType == typeof(int) || p.PropertyType == typeof(long) || p.PropertyType == typeof(double)
                        || p.PropertyType == typeof(bool) || p.PropertyType == typeof(IReadOnlyList<long>)
                ? p.GetValue(this) : null;
            var shown = v switch
            {
                null => null,
                double d => d.ToString("G6", CultureInfo.InvariantCulture),
                bool b => b ? "True" : "False",
                IReadOnlyList<long> s => "[" + string.Join(",", s) + "]",
                _ => Convert.ToString(v, CultureInfo.InvariantCulture),
            };
            if (shown is not null) parts.Add($"{p.Name}={shown}");
        }
        return string.Join(", ", parts);
    }

    /// <summary>
    /// A table of the model's layers for an input of <paramref name="inputShape"/> (Keras' <c>model.summary()</c>,
    /// torchinfo's <c>summary</c>): each layer's name, type, output shape and parameter count, then the totals. A
    /// <see cref="Sequential"/> is run layer by layer (nested ones too), so every row has its output shape; the
    /// submodules of another module are listed with their parameters and the model's output shape comes last.
    /// The model runs once on zeros without recording gradients, in evaluation mode (its mode is restored after).
    /// </summary>
    /// <param name="inputShape">The input's shape, batch included, e.g. { 1, 1, 28, 28 }.</param>
    /// <param name="dtype">The input's element type (Int64 for an <see cref="Embedding"/> first).</param>
    /// <returns>The table; print it with <c>Console.WriteLine</c>.</returns>
    public string Summary(long[] inputShape, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        var rows = new List<(string Name, string Type, string Shape, long Params)>();
        var device = Parameters().FirstOrDefault()?.Device ?? "cpu";
        var x = Tensor.Zeros(inputShape, dtype);
        if (device != "cpu") x = x.To(device);
        var mode = Training;
        Tensor y;
        try
        {
            Eval();
            using (Tensor.NoGrad()) y = SummaryRun(this, "", x, rows);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"Summary: the model does not accept an input [{string.Join(",", inputShape)}] {dtype}: {e.Message}", nameof(inputShape), e);
        }
        finally { Train(mode); }

        var total = Parameters().Sum(p => p.Numel);
        var trainable = Parameters().Where(p => p.RequiresGrad).Sum(p => p.Numel);
        var header = ("Layer", "Type", "Output shape", "Params");
        int w0 = Math.Max(header.Item1.Length, rows.Select(r => r.Name.Length).DefaultIfEmpty(0).Max());
        int w1 = Math.Max(header.Item2.Length, rows.Select(r => r.Type.Length).DefaultIfEmpty(0).Max());
        int w2 = Math.Max(header.Item3.Length, rows.Select(r => r.Shape.Length).DefaultIfEmpty(0).Max());
        string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
        int w3 = Math.Max(header.Item4.Length, rows.Select(r => Count(r.Params).Length).Append(Count(total).Length).Max());
        var sb = new StringBuilder();
        string Line(string a, string b, string c, string d) => $"{a.PadRight(w0)}  {b.PadRight(w1)}  {c.PadRight(w2)}  {d.PadLeft(w3)}";
        var rule = new string('-', w0 + w1 + w2 + w3 + 6);
        sb.AppendLine($"{GetType().Name}, input [{string.Join(", ", inputShape)}] {dtype}");
        sb.AppendLine(rule);
        sb.AppendLine(Line(header.Item1, header.Item2, header.Item3, header.Item4));
        sb.AppendLine(rule);
        foreach (var r in rows) sb.AppendLine(Line(r.Name, r.Type, r.Shape, Count(r.Params)));
        sb.AppendLine(rule);
        sb.AppendLine($"Output: {ShapeText(y)}");
        sb.AppendLine($"Total params: {Count(total)}");
        sb.AppendLine($"Trainable params: {Count(trainable)}");
        sb.Append($"Non-trainable params: {Count(total - trainable)}");
        return sb.ToString();
    }

    private static string ShapeText(Tensor t) => "[" + string.Join(", ", t.Shape) + "]";

    private static long OwnParams(Module m) => m.NamedParameters().Sum(p => p.Parameter.Numel);

    // a Sequential is walked layer by layer; any other module runs whole, its children listed under it without shapes
    private static Tensor SummaryRun(Module m, string path, Tensor x, List<(string, string, string, long)> rows)
    {
        if (m is Sequential seq)
        {
            for (int i = 0; i < seq.Layers.Count; i++)
                x = SummaryRun(seq.Layers[i], path.Length == 0 ? i.ToString() : $"{path}.{i}", x, rows);
            return x;
        }
        var y = m.Forward(x);
        rows.Add((path.Length == 0 ? "(model)" : path, m.GetType().Name, ShapeText(y), OwnParams(m)));
        if (path.Length == 0 || m.NamedChildren().Any())
            foreach (var (name, child) in m.NamedChildren())
                AddChildren(child, path.Length == 0 ? name : $"{path}.{name}", rows);
        return y;
    }

    private static void AddChildren(Module m, string path, List<(string, string, string, long)> rows)
    {
        rows.Add(("  " + path, m.GetType().Name, "-", OwnParams(m)));
        foreach (var (name, child) in m.NamedChildren()) AddChildren(child, $"{path}.{name}", rows);
    }
}
