namespace Hybrid;

public partial class Tensor : IDisposable
{
    private bool _disposed;

    /// <summary>
    /// Give a device buffer (cuda, ilgpu-cpu) back to its pool now rather than when the garbage collector finds the
    /// tensor; a no-op for CPU tensors, whose memory is managed. Tensors that share the buffer — <see cref="Detach"/>
    /// and <see cref="Reshape"/> results of a device tensor — must not be used afterwards. Calling it twice is harmless.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        (Core.Raw as IDisposable)?.Dispose();
        GC.SuppressFinalize(this);
    }
}
