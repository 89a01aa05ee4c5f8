using System.Reflection;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The facade's public surface is plain .NET: no F# types (FSharpList, FSharpOption, FSharpFunc, ...) and no core types.</summary>
public class PublicSurfaceTests
{
    private static IEnumerable<Type> Mentioned(Type t)
    {
        if (t.HasElementType) { foreach (var e in Mentioned(t.GetElementType()!)) yield return e; yield break; }
        yield return t;
        if (t.IsGenericType)
            foreach (var a in t.GetGenericArguments())
                foreach (var m in Mentioned(a)) yield return m;
    }

    private static bool Foreign(Type t) =>
        (t.Namespace ?? "").StartsWith("Microsoft.FSharp", StringComparison.Ordinal) ||
        (t.Namespace ?? "").StartsWith("Hybrid.Core", StringComparison.Ordinal);

    [Fact]
    public void NoPublicSignatureMentionsAnFSharpOrCoreType()
    {
        var offenders = new List<string>();
        foreach (var type in typeof(Hybrid.Tensor).Assembly.GetExportedTypes())
        {
            if (type.BaseType is { } b && Mentioned(b).Any(Foreign)) offenders.Add($"{type} : {b}");
            const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var m in type.GetMembers(flags))
            {
                IEnumerable<Type> types = m switch
                {
                    MethodInfo mi => mi.GetParameters().Select(p => p.ParameterType).Append(mi.ReturnType),
                    ConstructorInfo ci => ci.GetParameters().Select(p => p.ParameterType),
                    PropertyInfo pi => new[] { pi.PropertyType },
                    FieldInfo fi => new[] { fi.FieldType },
                    _ => Array.Empty<Type>(),
                };
                foreach (var t in types.SelectMany(Mentioned).Where(Foreign))
                    offenders.Add($"{type.FullName}.{m.Name}: {t.FullName}");
            }
        }
        Assert.True(offenders.Count == 0, string.Join("\n", offenders.Distinct()));
    }

    [Fact]
    public void EveryExportedTypeIsDisposableWhereItHoldsTensors()
    {
        Assert.True(typeof(IDisposable).IsAssignableFrom(typeof(Hybrid.Tensor)));
        Assert.True(typeof(IDisposable).IsAssignableFrom(typeof(Hybrid.Nn.Module)));
    }
}
