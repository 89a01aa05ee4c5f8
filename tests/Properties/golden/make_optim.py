"""Golden trajectories of torch.optim (1.13) for the F# optimizers (tests/Properties/OptimTests.fs).

Run: /usr/bin/python3 tests/Properties/golden/make_optim.py > tests/Properties/golden/optim.txt
Problem: f(x) = (1 - x0)^2 + 5 (x1 - x0^2)^2 + 0.5 (x2 - 0.5 x1)^2, float64, with the parameters split in
two tensors a = x[0:2] (start [-0.5, 1.2]) and b = x[2:3] (start [0.8]); the gradient is analytic (the F#
side computes it with the same formula). Cases with maximize=True are given -grad f (they maximize -f).
Each output line: case k x0 x1 x2 (the iterate after step k, k = 1..20).
NAdam: torch 1.13's code multiplies mu_t into mu_product_next twice (fixed in torch 2.0), so the NAdam
cases use the documented algorithm, written below with torch ops.
"""
import math
import torch

torch.set_default_dtype(torch.float64)
STEPS = 20


def grad_f(x):
    x0, x1, x2 = x
    r = x1 - x0 * x0
    s = x2 - 0.5 * x1
    return [-2.0 * (1.0 - x0) - 20.0 * x0 * r, 10.0 * r - 0.5 * s, s]


def run_torch(make, maximize=False):
    a = torch.tensor([-0.5, 1.2], requires_grad=True)
    b = torch.tensor([0.8], requires_grad=True)
    opt = make([a, b])
    out = []
    for _ in range(STEPS):
        x = a.tolist() + b.tolist()
        g = grad_f(x)
        if maximize:
            g = [-v for v in g]
        a.grad = torch.tensor(g[0:2])
        b.grad = torch.tensor(g[2:3])
        opt.step()
        out.append(a.tolist() + b.tolist())
    return out


def run_nadam(lr, beta1, beta2, eps, wd, psi):
    """NAdam as printed in torch's documentation (Dozat 2016)."""
    ps = [torch.tensor([-0.5, 1.2]), torch.tensor([0.8])]
    ms = [torch.zeros_like(p) for p in ps]
    vs = [torch.zeros_like(p) for p in ps]
    mu_product = 1.0
    out = []
    for t in range(1, STEPS + 1):
        x = ps[0].tolist() + ps[1].tolist()
        g = grad_f(x)
        gs = [torch.tensor(g[0:2]), torch.tensor(g[2:3])]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product *= mu
        for p, gr, m, v in zip(ps, gs, ms, vs):
            gr = gr + wd * p
            m.mul_(beta1).add_(gr, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(gr, gr, value=1 - beta2)
            denom = (v / (1 - beta2 ** t)).sqrt() + eps
            p.addcdiv_(gr, denom, value=-lr * (1 - mu) / (1 - mu_product))
            p.addcdiv_(m, denom, value=-lr * mu_next / (1 - mu_product * mu_next))
        out.append(ps[0].tolist() + ps[1].tolist())
    return out


O = torch.optim
cases = {
    "sgd": lambda: run_torch(lambda p: O.SGD(p, lr=0.01)),
    "sgd_momentum_nesterov_wd": lambda: run_torch(lambda p: O.SGD(p, lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1)),
    "sgd_momentum_dampening": lambda: run_torch(lambda p: O.SGD(p, lr=0.01, momentum=0.9, dampening=0.3)),
    "sgd_maximize": lambda: run_torch(lambda p: O.SGD(p, lr=0.01, momentum=0.5, maximize=True), True),
    "adagrad": lambda: run_torch(lambda p: O.Adagrad(p, lr=0.1)),
    "adagrad_decay_wd_init": lambda: run_torch(lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
    "adagrad_maximize": lambda: run_torch(lambda p: O.Adagrad(p, lr=0.1, maximize=True), True),
    "rmsprop": lambda: run_torch(lambda p: O.RMSprop(p, lr=0.01)),
    "rmsprop_centered_momentum_wd": lambda: run_torch(lambda p: O.RMSprop(p, lr=0.01, alpha=0.9, centered=True, momentum=0.9, weight_decay=0.1)),
    "rmsprop_maximize_momentum": lambda: run_torch(lambda p: O.RMSprop(p, lr=0.01, momentum=0.5, maximize=True), True),
    "adadelta": lambda: run_torch(lambda p: O.Adadelta(p)),
    "adadelta_wd_maximize": lambda: run_torch(lambda p: O.Adadelta(p, lr=0.5, rho=0.8, weight_decay=0.1, maximize=True), True),
    "adam": lambda: run_torch(lambda p: O.Adam(p, lr=0.05)),
    "adam_amsgrad_wd": lambda: run_torch(lambda p: O.Adam(p, lr=0.05, betas=(0.8, 0.99), amsgrad=True, weight_decay=0.1)),
    "adam_maximize": lambda: run_torch(lambda p: O.Adam(p, lr=0.05, maximize=True), True),
    "adamw": lambda: run_torch(lambda p: O.AdamW(p, lr=0.05, weight_decay=0.1)),
    "adamw_amsgrad": lambda: run_torch(lambda p: O.AdamW(p, lr=0.05, amsgrad=True)),
    "nadam": lambda: run_nadam(0.05, 0.9, 0.999, 1e-8, 0.0, 4e-3),
    "nadam_wd": lambda: run_nadam(0.05, 0.8, 0.99, 1e-8, 0.1, 4e-2),
    "adamax": lambda: run_torch(lambda p: O.Adamax(p, lr=0.05)),
    "adamax_wd_maximize": lambda: run_torch(lambda p: O.Adamax(p, lr=0.05, weight_decay=0.1, maximize=True), True),
    "radam": lambda: run_torch(lambda p: O.RAdam(p, lr=0.05)),
    "radam_wd": lambda: run_torch(lambda p: O.RAdam(p, lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)),
    "asgd": lambda: run_torch(lambda p: O.ASGD(p, lr=0.01)),
    "asgd_t0_wd_maximize": lambda: run_torch(lambda p: O.ASGD(p, lr=0.01, lambd=0.01, alpha=0.6, t0=5, weight_decay=0.1, maximize=True), True),
    "rprop": lambda: run_torch(lambda p: O.Rprop(p, lr=0.01)),
    "rprop_etas_maximize": lambda: run_torch(lambda p: O.Rprop(p, lr=0.01, etas=(0.4, 1.5), step_sizes=(1e-4, 0.05), maximize=True), True),
}

print("# torch", torch.__version__, "float64; case k x0 x1 x2")
for name, run in cases.items():
    for k, x in enumerate(run(), 1):
        print(name, k, " ".join(repr(v) for v in x))
