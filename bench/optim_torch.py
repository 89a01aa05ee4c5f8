"""torch's Adam (foreach=True) and SGD momentum on 10M float32 params, 2 threads; prints 'adam_ms X' / 'sgd_ms Y'
(median of 15 steps after 3 warm-ups). Called by bench/OptimBench; also runs alone: /usr/bin/python3 bench/optim_torch.py"""
import time
import torch

torch.set_num_threads(2)
N, REPS = 10_000_000, 15


def median_ms(opt):
    for _ in range(3):
        opt.step()
    ts = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        opt.step()
        ts.append((time.perf_counter() - t0) * 1e3)
    return sorted(ts)[REPS // 2]


def make():
    g = torch.Generator().manual_seed(1)
    p = torch.nn.Parameter(torch.rand(N, generator=g) - 0.5)
    p.grad = (torch.rand(N, generator=g) - 0.5) * 1e-3
    return p


with torch.no_grad():
    p = make()
    print("adam_ms", median_ms(torch.optim.Adam([p], lr=1e-3, foreach=True)))
    p = make()
    print("sgd_ms", median_ms(torch.optim.SGD([p], lr=1e-3, momentum=0.9, foreach=True)))
