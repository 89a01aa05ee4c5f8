"""torch's Adam (foreach=True) and SGD momentum on 10M float32 params, 2 threads; prints best and median ms of
21 steps after 3 warm-ups as 'adam_best_ms X' lines, then
the tape overhead of y = a + b; y.backward(ones) on 16 elements (best of 7 batches of 20,000, microseconds). Called by bench/OptimBench; also runs alone: /usr/bin/python3 bench/optim_torch.py"""
import time
import torch

torch.set_num_threads(2)
N, REPS = 10_000_000, 21


def times_ms(opt):
    for _ in range(3):
        opt.step()
    ts = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        opt.step()
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[0], ts[REPS // 2]


def make():
    g = torch.Generator().manual_seed(1)
    p = torch.nn.Parameter(torch.rand(N, generator=g) - 0.5)
    p.grad = (torch.rand(N, generator=g) - 0.5) * 1e-3
    return p


with torch.no_grad():
    p = make()
    best, med = times_ms(torch.optim.Adam([p], lr=1e-3, foreach=True))
    print("adam_best_ms", best)
    print("adam_median_ms", med)
    p = make()
    best, med = times_ms(torch.optim.SGD([p], lr=1e-3, momentum=0.9, foreach=True))
    print("sgd_best_ms", best)
    print("sgd_median_ms", med)

a = torch.arange(16, dtype=torch.float32).requires_grad_()
b = torch.arange(16, dtype=torch.float32).requires_grad_()
ones = torch.ones(16)


def tape_batch():
    t0 = time.perf_counter()
    for _ in range(20_000):
        (a + b).backward(ones)
    return (time.perf_counter() - t0) * 1e6 / 20_000


tape_batch()
print("tape_add16_us", min(tape_batch() for _ in range(7)))
