namespace Hybrid.Core.Backends

/// The backend-neutral op vocabulary: the primitive ops and their parameters as values, compiled before every
/// backend. `RawTensor` (the seam) takes them; each backend (Cpu/, Ilgpu/) interprets them; nothing here knows
/// a dtype's storage or a device.

/// Pointwise functions of one tensor. Parametrised ones carry their scalar.
type UnaryOp =
    | Neg | Abs | Exp | Log | Sqrt | Sin | Cos | Tanh | Sigmoid | Relu | Sign | Erf
    | Softplus | Gelu | Square | Reciprocal | Log1p | Expm1
    | LeakyRelu of slope: float
    | Elu of alpha: float
    | PowScalar of exponent: float
    | Clamp of lo: float * hi: float
    | AddScalar of c: float
    | MulScalar of c: float
    /// 1 where x > 0, else 0 (the derivative of relu).
    | Positive
    | Tan | Atan | Asin | Acos | Sinh | Cosh | Asinh

/// Pointwise functions of two broadcast tensors; comparisons give 1 or 0 in the same dtype.
type BinaryOp =
    | Add | Sub | Mul | Div | Pow | Maximum | Minimum
    | Eq | Ne | Lt | Le | Gt | Ge
    /// atan2(a, b): the angle of the point (b, a), as torch.atan2(input=a, other=b).
    | Atan2
    /// √(a² + b²) without overflow or underflow in the squares.
    | Hypot

/// A running (inclusive) reduction along one dim: torch.cumsum, torch.cumprod.
type ScanOp =
    | CumSum
    | CumProd

/// Geometry of a 2-D convolution (torch.nn.functional.conv2d's arguments).
type Conv2dSpec =
    { Stride: int * int; Padding: int * int; Dilation: int * int; Groups: int }

/// Geometry of a 2-D pooling window (torch.nn.functional.max_pool2d / avg_pool2d).
type Pool2dSpec =
    { Kernel: int * int; Stride: int * int; Padding: int * int; Dilation: int * int
      CeilMode: bool; CountIncludePad: bool }
