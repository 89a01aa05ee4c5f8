using Hybrid;

namespace Hybrid.Cli;

/// <summary>`hybrid demo`: fit y = Xw + b by full-batch gradient descent, θ ← θ − η∇L(θ), printing the loss falling.</summary>
internal static class Demo
{
    public static int Run(int steps, double lr)
    {
        const int n = 256, d = 8;
        var x = Tensor.Randn(new long[] { n, d }, DType.Float64, seed: 42);
        var wTrue = Tensor.Randn(new long[] { d, 1 }, DType.Float64, seed: 43);
        var y = x.Matmul(wTrue) + Tensor.Randn(new long[] { n, 1 }, DType.Float64, seed: 44) * 0.01;
        var w = Tensor.Zeros(new long[] { d, 1 }, DType.Float64).RequiresGrad_();
        var b = Tensor.Zeros(new long[] { 1 }, DType.Float64).RequiresGrad_();
        Console.WriteLine($"fitting y = Xw + b ({n} samples, {d} features) by gradient descent, lr {lr}");
        for (int step = 0; step <= steps; step++)
        {
            var err = x.Matmul(w) + b - y;
            var loss = (err * err).Mean();
            loss.Backward();
            if (step % Math.Max(1, steps / 10) == 0) Console.WriteLine($"step {step,4}  loss {loss.Item<double>():E6}");
            using (Tensor.NoGrad())
            {
                w = (w - w.Grad! * lr).Detach().RequiresGrad_();
                b = (b - b.Grad! * lr).Detach().RequiresGrad_();
            }
        }
        return 0;
    }
}
