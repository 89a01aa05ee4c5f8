namespace Hybrid;

public partial class Tensor
{
    /// <summary>The determinant of each square matrix of this tensor [..., n, n] (<c>torch.Tensor.det</c>); see <see cref="Linalg.Det"/>.</summary>
    /// <returns>The determinants, shape [...].</returns>
    public Tensor Det() => Linalg.Det(this);

    /// <summary>The inverse of each square matrix of this tensor [..., n, n] (<c>torch.Tensor.inverse</c>); see <see cref="Linalg.Inv"/>.</summary>
    /// <returns>The inverses, of this tensor's shape.</returns>
    public Tensor Inverse() => Linalg.Inv(this);
}
