using Hybrid.Core;
using Hybrid.Core.Optim;
using Hybrid.Nn;
using Microsoft.FSharp.Core;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Cli;

/// <summary>Classic test functions of optimization, written with differentiable tensor ops.</summary>
internal static class TestFunctions
{
    public static readonly string[] Names = { "rosenbrock", "beale", "booth", "quadratic", "lasso" };

    /// <summary>The function, its starting point and its known minimiser (null when it has no closed form).</summary>
    public static (Func<Tensor, Tensor> F, double[] X0, double[]? XStar) Get(string name, int dim)
    {
        switch (name)
        {
            case "rosenbrock":
            {
                if (dim < 2) throw new ArgumentException($"optimize: --dim {dim} is too small for rosenbrock (expected >= 2)");
                // Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²
                Tensor F(Tensor x)
                {
                    var head = x.Slice(0, 0, dim - 1);
                    var tail = x.Slice(0, 1, dim);
                    var a = tail - head * head;
                    var b = 1.0 - head;
                    return (a * a * 100.0 + b * b).Sum();
                }
                var x0 = Enumerable.Range(0, dim).Select(i => i % 2 == 0 ? -1.2 : 1.0).ToArray();
                return (F, x0, Enumerable.Repeat(1.0, dim).ToArray());
            }
            case "beale":
            {
                // (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²
                Tensor F(Tensor v)
                {
                    var x = v.Select(0, 0);
                    var y = v.Select(0, 1);
                    var t1 = 1.5 - x + x * y;
                    var t2 = 2.25 - x + x * y * y;
                    var t3 = 2.625 - x + x * y * y * y;
                    return t1 * t1 + t2 * t2 + t3 * t3;
                }
                return (F, new[] { 1.0, 1.0 }, new[] { 3.0, 0.5 });
            }
            case "booth":
            {
                // (x + 2y − 7)² + (2x + y − 5)²
                Tensor F(Tensor v)
                {
                    var x = v.Select(0, 0);
                    var y = v.Select(0, 1);
                    var t1 = x + y * 2.0 - 7.0;
                    var t2 = x * 2.0 + y - 5.0;
                    return t1 * t1 + t2 * t2;
                }
                return (F, new[] { 0.0, 0.0 }, new[] { 1.0, 3.0 });
            }
            case "quadratic":
            {
                // ½ Σ λ_i x_i² − Σ x_i with λ from 1 to 100 (condition number 100); x* = 1/λ
                var lambdas = Enumerable.Range(0, dim).Select(i => dim == 1 ? 1.0 : 1.0 + 99.0 * i / (dim - 1)).ToArray();
                var l = Tensor.FromArray(lambdas);
                Tensor F(Tensor x) => (l * x * x * 0.5 - x).Sum();
                return (F, new double[dim], lambdas.Select(v => 1.0 / v).ToArray());
            }
            case "lasso":
            {
                var (xMat, y) = LassoData(dim);
                var n = y.Shape[0];
                // smooth part ½‖Xθ − y‖²/n (the λ‖θ‖₁ part is the prox's)
                Tensor F(Tensor theta)
                {
                    var r = xMat.Matmul(theta) - y;
                    return (r * r).Sum() * (0.5 / n);
                }
                return (F, new double[dim], null);
            }
            default:
                throw new ArgumentException($"optimize: unknown function '{name}' (expected {string.Join(", ", Names)})");
        }
    }

    /// <summary>A fixed random Lasso problem: 50 samples, a sparse θ* with 3 nonzeros, small noise.</summary>
    public static (Tensor X, Tensor Y) LassoData(int dim)
    {
        var gen = new Generator(7);
        var x = Enumerable.Range(0, 50 * dim).Select(_ => gen.NextNormal()).ToArray();
        var theta = Enumerable.Range(0, dim).Select(i => i < 3 ? 3.0 - i : 0.0).ToArray();
        var y = Enumerable.Range(0, 50).Select(i => Enumerable.Range(0, dim).Sum(j => x[i * dim + j] * theta[j]) + 0.01 * gen.NextNormal()).ToArray();
        return (Tensor.FromArray(x, 50, dim), Tensor.FromArray(y, 50));
    }
}

/// <summary>`hybrid optimize`: minimizes a test function and prints each iterate.</summary>
internal static class OptimizeCommand
{
    public static readonly string[] Methods =
        { "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "bfgs", "lbfgs", "newton", "ista", "fista" };

    private const double LassoLambda = 0.1;

    private static void Print(int k, double f, double[] x, double[] g) =>
        Console.WriteLine($"iter {k,5}  f = {f,-22:G15} |grad| = {Math.Sqrt(g.Sum(v => v * v)),-12:G4} x = [{string.Join(", ", x.Take(6).Select(v => v.ToString("G8")))}{(x.Length > 6 ? ", ..." : "")}]");

    public static int Run(string function, string method, int steps, double? lr, int dim)
    {
        if (!Methods.Contains(method)) throw new ArgumentException($"optimize: unknown optimizer '{method}' (expected {string.Join(", ", Methods)})");
        if (steps <= 0) throw new ArgumentException($"optimize: --steps {steps} is invalid (expected a positive integer)");
        if (lr is double r && !(r > 0)) throw new ArgumentException($"optimize: --lr {r} is invalid (expected a positive number)");
        if (function is "beale" or "booth") dim = 2;
        var (f, x0, xStar) = TestFunctions.Get(function, dim);
        if (function == "lasso" && method is not ("ista" or "fista"))
            throw new ArgumentException($"optimize: lasso is non-smooth; use --optimizer ista or fista (got {method})");
        if (method is "ista" or "fista" && function != "lasso")
            Console.WriteLine("note: ISTA/FISTA with λ = 0 on a smooth function is plain (accelerated) gradient descent");
        Console.WriteLine($"minimizing {function} (dim {x0.Length}) with {method}");
        var coreF = FuncConvert.FromFunc<CoreTensor, CoreTensor>(t => f(new Tensor(t)).Core);
        var start = Create.ofFloat64(x0, new[] { x0.Length });
        double[] final;
        switch (method)
        {
            case "bfgs":
            {
                var obj = ObjectiveModule.ofTensorFn(Hybrid.Core.DType.Float64, x0.Length, coreF);
                var s = Bfgs.init(obj, start);
                Print(0, s.Value, s.X, s.Grad);
                for (int k = 1; k <= steps && Norm(s.Grad) > 1e-10; k++) { s = Bfgs.step(Bfgs.defaults, obj, s); Print(k, s.Value, s.X, s.Grad); }
                final = s.X;
                break;
            }
            case "newton":
            {
                var obj = ObjectiveModule.ofTensorFn(Hybrid.Core.DType.Float64, x0.Length, coreF);
                var s = Newton.init(obj, start);
                Print(0, s.Value, s.X, s.Grad);
                for (int k = 1; k <= steps && Norm(s.Grad) > 1e-10; k++) { s = Newton.step(Newton.defaults, coreF, obj, s); Print(k, s.Value, s.X, s.Grad); }
                final = s.X;
                break;
            }
            case "lbfgs":
            {
                var obj = ObjectiveModule.ofTensorFn(Hybrid.Core.DType.Float64, x0.Length, coreF);
                var hyper = Lbfgs.create(lr ?? 1.0, 1, FSharpOption<int>.None, 1e-10, 1e-14, 10, "strong_wolfe");
                var s = Lbfgs.init();
                var x = start;
                for (int k = 0; k <= steps; k++)
                {
                    var (v, g) = obj.Eval.Invoke(x.ToFloat64Array());
                    Print(k, v, x.ToFloat64Array(), g);
                    if (Norm(g) <= 1e-10 || k == steps) break;
                    var res = Lbfgs.step(hyper, obj, s, x);
                    s = res.State;
                    x = res.Params;
                }
                final = x.ToFloat64Array();
                break;
            }
            case "ista":
            case "fista":
            {
                var obj = ObjectiveModule.ofTensorFn(Hybrid.Core.DType.Float64, x0.Length, coreF);
                var hyper = new ProxHyper(function == "lasso" ? LassoLambda : 0.0, Regularizer.L1,
                    lr is double step ? ProxStepRule.NewFixedStep(step) : ProxStepRule.NewBacktracking(1.0, 0.5), method == "fista");
                var s = ProximalGradient.init(hyper, obj, start);
                for (int k = 0; k <= steps; k++)
                {
                    var (_, g) = obj.Eval.Invoke(s.X);
                    Print(k, ProximalGradient.objective(hyper, obj, s.X), s.X, g);
                    if (k == steps) break;
                    s = ProximalGradient.step(hyper, obj, s);
                }
                final = s.X;
                break;
            }
            default:
            {
                var p = new Parameter(Tensor.FromArray(x0));
                var rate = lr ?? (method is "adam" or "rmsprop" ? 0.01 : method == "adagrad" ? 0.1 : 1e-3);
                Hybrid.Optim.Optimizer opt = method switch
                {
                    "gd" => new Hybrid.Optim.SGD(new[] { p }, lr: rate),
                    "momentum" => new Hybrid.Optim.SGD(new[] { p }, lr: rate, momentum: 0.9),
                    "nesterov" => new Hybrid.Optim.SGD(new[] { p }, lr: rate, momentum: 0.9, nesterov: true),
                    "adagrad" => new Hybrid.Optim.Adagrad(new[] { p }, lr: rate),
                    "rmsprop" => new Hybrid.Optim.RMSprop(new[] { p }, lr: rate),
                    _ => new Hybrid.Optim.Adam(new[] { p }, lr: rate),
                };
                for (int k = 0; k <= steps; k++)
                {
                    opt.ZeroGrad();
                    var loss = f(p);
                    loss.Backward();
                    Print(k, loss.Item<double>(), p.ToArray<double>(), p.Grad!.ToArray<double>());
                    if (k == steps) break;
                    opt.Step();
                }
                final = p.ToArray<double>();
                break;
            }
        }
        if (xStar is not null)
            Console.WriteLine($"distance to the minimiser: {Math.Sqrt(final.Zip(xStar, (a, b) => (a - b) * (a - b)).Sum()):G6}");
        return 0;
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));
}
