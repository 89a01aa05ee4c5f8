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
    /// <remarks>A run of <see cref="Conv2d"/>, <see cref="ReLU"/> and a plain 2×2 <see cref="MaxPool2d"/> runs as one fused op
    /// (<see cref="Conv2d.ForwardReluMaxPool2"/>): the same values and gradients, a third of the passes over memory.</remarks>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        for (int i = 0; i < _layers.Length; i++)
        {
            // fused only when no hook watches the three layers (a hook needs each one's output)
            if (i + 2 < _layers.Length && _layers[i] is Conv2d conv && _layers[i + 1] is ReLU && _layers[i + 2] is MaxPool2d pool && pool.IsPlain2x2
                && !conv.HasForwardHooks && !_layers[i + 1].HasForwardHooks && !pool.HasForwardHooks)
            {
                x = conv.ForwardReluMaxPool2(x);
                i += 2;
            }
            else x = _layers[i].Call(x);
        }
        return x;
    }
}
