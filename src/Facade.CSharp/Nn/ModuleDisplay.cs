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
    /// torchinfo's <c>summary</c>): every submodule, indented by depth, with its type, output shape and own parameter
    /// count, then the totals. The output shapes are recorded by forward hooks (<see cref="RegisterForwardHook"/>) on
    /// every submodule during one run of the model, so they appear for any module whose <c>Forward</c> calls its
    /// children through <see cref="Call"/> (a child called with <c>Forward</c> directly, or never called, shows "-";
    /// one called several times shows its first output and the number of calls). The model runs once on zeros
    /// without recording gradients, in evaluation mode (its mode is restored after, and the hooks removed).
    /// </summary>
    /// <param name="inputShape">The input's shape, batch included, e.g. { 1, 1, 28, 28 }.</param>
    /// <param name="dtype">The input's element type (Int64 for an <see cref="Embedding"/> first).</param>
    /// <returns>The table; print it with <c>Console.WriteLine</c>.</returns>
    public string Summary(long[] inputShape, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        var device = Parameters().FirstOrDefault()?.Device ?? "cpu";
        var x = Tensor.Zeros(inputShape, dtype);
        if (device != "cpu") x = x.To(device);
        var modules = new List<(string Path, int Depth, Module Module)>();
        CollectModules(this, "", 0, modules);
        var seen = new Dictionary<Module, (string Shape, int Calls)>(ReferenceEqualityComparer.Instance);
        var handles = modules.Select(m => m.Module).Distinct(ReferenceEqualityComparer.Instance).Cast<Module>()
            .Select(m => m.RegisterForwardHook((module, _, output) =>
                seen[module] = seen.TryGetValue(module, out var r) ? (r.Shape, r.Calls + 1) : (ShapeText(output), 1)))
            .ToList();
        var mode = Training;
        Tensor y;
        try
        {
            Eval();
            using (Tensor.NoGrad()) y = Forward(x);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"Summary: the model does not accept an input [{string.Join(",", inputShape)}] {dtype}: {e.Message}", nameof(inputShape), e);
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
            Train(mode);
        }
        var rows = modules.Select(m =>
        {
            var shape = seen.TryGetValue(m.Module, out var r) ? (r.Calls > 1 ? $"{r.Shape} x{r.Calls}" : r.Shape) : "-";
            return (Name: new string(' ', 2 * (m.Depth - 1)) + m.Path, Type: m.Module.GetType().Name, Shape: shape, Params: OwnParams(m.Module));
        }).ToList();

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

    // the module's own parameters, not its children's (those have rows of their own and dotted names)
    private static long OwnParams(Module m) => m.NamedParameters().Where(p => !p.Name.Contains('.')).Sum(p => p.Parameter.Numel);

    // every submodule below the root, depth first in declaration order, with its dotted path and depth
    private static void CollectModules(Module m, string path, int depth, List<(string, int, Module)> into)
    {
        if (depth > 0) into.Add((path, depth, m));
        foreach (var (name, child) in m.NamedChildren())
            CollectModules(child, path.Length == 0 ? name : $"{path}.{name}", depth + 1, into);
    }
}
