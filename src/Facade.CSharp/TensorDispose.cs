namespace Hybrid;

public partial class Tensor : IDisposable
{
    private bool _disposed;

    /// <summary>
    /// Release the tensor now: a device buffer (cuda, ilgpu-cpu) goes back to its pool rather than waiting for the
    /// garbage collector (a CPU tensor's memory stays the collector's). On every device, any later use of this tensor throws
    /// <see cref="ObjectDisposedException"/> naming its shape. Tensors that share the buffer — <see cref="Detach"/>
    /// and <see cref="Reshape"/> results of a device tensor — must not be used afterwards. Calling it twice is harmless.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        (_core.Raw as IDisposable)?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Whether <see cref="Dispose"/> has been called.</summary>
    public bool IsDisposed => _disposed;

    private ObjectDisposedException DisposedError() =>
        new(nameof(Tensor), $"this tensor (shape {Hybrid.Core.Shape.show(_core.Shape)}, {_core.DType}) was disposed and can no longer be used");
}
