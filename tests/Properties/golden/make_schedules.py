"""Golden lr sequences from torch.optim.lr_scheduler (torch 1.13, float64 lr values).

Run: /usr/bin/python3 make_schedules.py > schedules.txt
Each line: name, then the lr after construction and after each of 100 scheduler.step() calls
(101 values); for OneCycleLR and CyclicLR a `<name>_momentum` line gives the group's momentum. The plateau lines give the lr after each ReduceLROnPlateau.step(metric) on METRICS.
"""
import math
import warnings

import torch
from torch.optim import SGD
from torch.optim import lr_scheduler as S

warnings.filterwarnings("ignore")
STEPS = 100
LR0 = 0.1


def opt():
    return SGD([torch.zeros(1, dtype=torch.float64, requires_grad=True)], lr=LR0, momentum=0.9)


def run(name, make):
    o = opt()
    s = make(o)
    lrs = [s.get_last_lr()[0]]
    moms = [o.param_groups[0]["momentum"]]
    for _ in range(STEPS):
        o.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
        moms.append(o.param_groups[0]["momentum"])
    print(name, " ".join(repr(float(v)) for v in lrs))
    if name.startswith("onecycle") or name.startswith("cyclic"):
        print(name + "_momentum", " ".join(repr(float(v)) for v in moms))


run("step", lambda o: S.StepLR(o, step_size=7, gamma=0.5))
run("multistep", lambda o: S.MultiStepLR(o, milestones=[10, 25, 60], gamma=0.3))
run("exponential", lambda o: S.ExponentialLR(o, gamma=0.95))
run("exp_decay", lambda o: S.ExponentialLR(o, gamma=math.exp(-0.03)))
run("cosine", lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.001))
run("warm_restarts", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001))
run("warm_restarts_mult1", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=13, T_mult=1, eta_min=0.0))
run("linear_warmup", lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=20))
run("linear_decay", lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=30))
run("constant_factor", lambda o: S.ConstantLR(o, factor=0.5, total_iters=10))
run("polynomial", lambda o: S.PolynomialLR(o, total_iters=50, power=2.0))
run("onecycle_cos", lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=100))
run("onecycle_linear_3phase", lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=120, pct_start=0.25,
                                                     anneal_strategy="linear", div_factor=10.0,
                                                     final_div_factor=100.0, three_phase=True))
run("cyclic_triangular", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=10))
run("cyclic_triangular2", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=8,
                                                step_size_down=12, mode="triangular2"))
run("cyclic_exp_range", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                              mode="exp_range", gamma=0.98))
run("lambda", lambda o: S.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.1 * e)))
run("multiplicative", lambda o: S.MultiplicativeLR(o, lambda e: 0.97))
run("sequential_warmup_cosine", lambda o: S.SequentialLR(
    o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
        S.CosineAnnealingLR(o, T_max=40, eta_min=0.0)], milestones=[10]))
run("sequential_three", lambda o: S.SequentialLR(
    o, [S.ConstantLR(o, factor=0.1, total_iters=5), S.ExponentialLR(o, gamma=0.9),
        S.StepLR(o, step_size=10, gamma=0.5)], milestones=[5, 30]))
run("chained_constant_exp", lambda o: S.ChainedScheduler(
    [S.ConstantLR(o, factor=0.1, total_iters=4), S.ExponentialLR(o, gamma=0.9)]))
run("chained_cosine_multistep", lambda o: S.ChainedScheduler(
    [S.CosineAnnealingLR(o, T_max=20, eta_min=0.0), S.MultiStepLR(o, milestones=[30, 60], gamma=0.5)]))

# ReduceLROnPlateau on a scripted metric: improves, plateaus with noise, improves, plateaus
METRICS = [1.0 / (1 + k) for k in range(10)] + [0.1 + 0.001 * ((k * 7) % 5) for k in range(25)] \
    + [0.09 - 0.005 * k for k in range(10)] + [0.045 + 0.0001 * (k % 3) for k in range(35)]
print("plateau_metrics", " ".join(repr(float(v)) for v in METRICS))


def plateau(name, **kw):
    o = opt()
    s = S.ReduceLROnPlateau(o, **kw)
    lrs = []
    for m in METRICS:
        s.step(m)
        lrs.append(o.param_groups[0]["lr"])
    print(name, " ".join(repr(float(v)) for v in lrs))


plateau("plateau_min_rel", mode="min", factor=0.5, patience=3, threshold=1e-2)
plateau("plateau_min_abs_cooldown", mode="min", factor=0.3, patience=2, threshold=1e-3,
        threshold_mode="abs", cooldown=4, min_lr=0.002)
plateau("plateau_max_rel", mode="max", factor=0.5, patience=4, threshold=1e-4, eps=1e-3)
