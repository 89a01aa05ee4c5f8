#!/usr/bin/python3
"""PyTorch reference for bench/: the same elementwise, reduction and matmul cases as Hybrid.Bench,
on 2 threads, printed as the same CSV (class,case,size,dtype,best_ms,gflops,gbs).
Usage: /usr/bin/python3 bench/torch_ref.py [--quick] [--out FILE]"""
import sys, time
import torch

torch.set_num_threads(2)
quick = "--quick" in sys.argv
out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
ITER_S = 0.15 if quick else 0.5   # target seconds per measured iteration (like BenchmarkDotNet's)
ITERS = 5 if quick else 15


def best_seconds(f):
    """Best per-call time over ITERS iterations of `reps` calls each (the cores are shared: best, not median)."""
    f(); f()
    t0 = time.perf_counter(); f(); one = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, int(ITER_S / one))
    for _ in range(2):  # warmup iterations
        for _ in range(reps): f()
    best = float("inf")
    for _ in range(ITERS):
        t0 = time.perf_counter()
        for _ in range(reps): f()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


rows = []
# 256², 512², 1024², 2048² and 4096² elements, as Hybrid.Bench
SIZES = (1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24)


def record(cls, case, size, dtype, secs, flops, nbytes):
    rows.append("%s,%s,%d,%s,%.4f,%.2f,%.2f" % (cls, case, size, dtype, secs * 1e3, flops / secs * 1e-9, nbytes / secs * 1e-9))
    print(rows[-1], flush=True)


g = torch.Generator().manual_seed(0)
with torch.no_grad():
    for n in SIZES:
        a = torch.rand(n, generator=g) * 2 - 1
        b = torch.rand(n, generator=g) * 2 - 1
        # binary ops read two arrays and write one; unary read one and write one (4 bytes each)
        record("Elementwise", "Add", n, "f32", best_seconds(lambda: torch.add(a, b)), n, 12.0 * n)
        record("Elementwise", "Mul", n, "f32", best_seconds(lambda: torch.mul(a, b)), n, 12.0 * n)
        record("Elementwise", "Exp", n, "f32", best_seconds(lambda: torch.exp(a)), n, 8.0 * n)
        record("Elementwise", "Relu", n, "f32", best_seconds(lambda: torch.relu(a)), n, 8.0 * n)
        del a, b
    for n in SIZES:
        side = int(round(n ** 0.5))
        x = torch.rand(side, side, generator=g) * 2 - 1
        record("Reductions", "SumAll", n, "f32", best_seconds(lambda: x.sum()), n, 4.0 * n)
        record("Reductions", "SumDim0", n, "f32", best_seconds(lambda: x.sum(0)), n, 4.0 * n)
        record("Reductions", "SumDim1", n, "f32", best_seconds(lambda: x.sum(1)), n, 4.0 * n)
        del x
    for s in (256, 512, 1024, 2048):
        for name, dt, w in (("f32", torch.float32, 4), ("f64", torch.float64, 8)):
            a = (torch.rand(s, s, generator=g) * 2 - 1).to(dt)
            b = (torch.rand(s, s, generator=g) * 2 - 1).to(dt)
            record("Matmul", "Torch", s, name, best_seconds(lambda: torch.mm(a, b)), 2.0 * s ** 3, 3.0 * s * s * w)

if out:
    with open(out, "w") as f:
        f.write("class,case,size,dtype,best_ms,gflops,gbs\n" + "\n".join(rows) + "\n")
