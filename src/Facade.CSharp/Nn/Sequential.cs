namespace Hybrid.Nn;

/// <summary>Modules applied one after another (<c>torch.nn.Sequential</c>); their parameters are named "0.weight", "1.bias", ...</summary>
public sealed class Sequential : Module
{
    private readonly Module[] _layers;

    /// <summary>Chain the given modules in order.</summary>
    /// <param name="layers">The modules.</param>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers, nameof(layers));
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i] is null) throw new ArgumentNullException(nameof(layers), $"Sequential: layer {i} is null");
            RegisterModule(i.ToString(), layers[i]);
        }
        _layers = layers;
    }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    /// <summary>The i-th layer.</summary>
    /// <param name="index">Position.</param>
    public Module this[int index] => _layers[index];

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }
}
