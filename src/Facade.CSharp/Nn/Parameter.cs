using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Nn;

/// <summary>
/// A tensor that is a learnable weight of a <see cref="Module"/> (<c>torch.nn.Parameter</c>): a leaf that requires
/// grad by default and whose values optimizers replace in place.
/// </summary>
public sealed class Parameter : Tensor
{
    /// <summary>Make a parameter holding a copy of <paramref name="data"/>'s values.</summary>
    /// <param name="data">Initial values.</param>
    /// <param name="requiresGrad">Whether gradients flow to it.</param>
    public Parameter(Tensor data, bool requiresGrad = true)
        : base(new CoreTensor((data ?? throw new ArgumentNullException(nameof(data))).Core.Raw))
    {
        Core.RequiresGrad = requiresGrad;
    }

    internal Parameter(CoreTensor core, bool requiresGrad) : base(new CoreTensor(core.Raw))
    {
        Core.RequiresGrad = requiresGrad;
    }

    /// <summary>Replace the values (same shape and dtype), keeping the gradient flag and the accumulated gradient.</summary>
    /// <param name="value">The new values.</param>
    public void SetData(Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value, nameof(value));
        SetData(value.Core);
    }

    /// <summary>Move the values (and the gradient, if any) to a device, keeping this parameter object, so that
    /// optimizers holding it see the move.</summary>
    internal void MoveTo(Hybrid.Core.Device device)
    {
        if (device.Equals(Core.Device)) return;
        var backend = Hybrid.Core.Devices.backendOf(device);
        var grad = Core.Grad is null ? null : new CoreTensor(backend.Import(Core.Grad.Raw));
        Core = new CoreTensor(backend.Import(Core.Raw)) { RequiresGrad = Core.RequiresGrad, Grad = grad };
    }

    /// <summary>Let the parameter stand for another (possibly recorded) tensor until the returned scope ends:
    /// the exact-Hessian Newton step evaluates the model at a differentiable view of one flat vector.</summary>
    internal IDisposable StandIn(CoreTensor value)
    {
        var saved = Core;
        Core = value;
        return new Restore(() => Core = saved);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    internal void SetData(CoreTensor value)
    {
        if (!value.Shape.AsSpan().SequenceEqual(Core.Shape) || value.DType != Core.DType)
            throw new ArgumentException(
                $"Parameter.SetData: new value of shape [{string.Join(",", value.Shape)}] {value.DType} does not match [{string.Join(",", Core.Shape)}] {Core.DType}",
                nameof(value));
        // a copy: the optimizers update parameters in place, which must not reach the caller's tensor
        CoreTensor copy;
        using (Hybrid.Core.GradMode.NoGrad()) copy = Hybrid.Core.Reshaping.clone(value);
        // the parameter stays on its device: values loaded from the host are uploaded
        if (!copy.Device.Equals(Core.Device)) copy = new CoreTensor(Hybrid.Core.Devices.backendOf(Core.Device).Import(copy.Raw));
        var fresh = new CoreTensor(copy.Raw) { RequiresGrad = Core.RequiresGrad, Grad = Core.Grad };
        Core = fresh;
    }
}
