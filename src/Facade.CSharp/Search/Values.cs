using Hybrid.Core.Search;

namespace Hybrid.Search;

/// <summary>Parameter values between .NET objects and the core's.</summary>
internal static class Values
{
    internal static ParamValue ToCore(object value, string name) => value switch
    {
        double d => ParamValue.NewFloat(d),
        float f => ParamValue.NewFloat(f),
        int i => ParamValue.NewInt(i),
        long l => ParamValue.NewInt(l),
        string s => ParamValue.NewStr(s),
        bool b => ParamValue.NewBool(b),
        _ => throw new ArgumentException($"search: parameter '{name}': value {value} of type {value?.GetType().Name ?? "null"} is not a double, long, int, string or bool"),
    };

    internal static object ToObject(ParamValue v) => v switch
    {
        ParamValue.Float f => f.Item,
        ParamValue.Int i => i.Item,
        ParamValue.Str s => s.Item,
        ParamValue.Bool b => b.Item,
        _ => throw new InvalidOperationException("search: unknown parameter value"),
    };
}
