"""Golden lr (and momentum) sequences from torch.optim.lr_scheduler (torch 1.13) for the C# facade's schedulers.

Run: /usr/bin/python3 make_schedulers.py   (writes schedulers.json next to this file)
Each case: an optimizer with TWO parameter groups (lr 0.1 and 0.05, unless the case says otherwise), the scheduler
built as named, then `lrs[g]` = group g's lr after construction and after each of 100 scheduler.step() calls
(101 values), and `momentum[g]` the group's momentum (or beta1) at the same points when the case cycles it.
Plateau cases: `metrics` are fed to step(metric) in order; `lrs[g]` has the lr after each step.
The C# test LrSchedulerTests builds the same schedulers by case name.
"""
import json
import math
import os
import warnings

import torch
from torch.optim import SGD, Adam
from torch.optim import lr_scheduler as S

warnings.filterwarnings("ignore")
STEPS = 100
LRS = (0.1, 0.05)


def params():
    return [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in LRS]


def sgd(lrs=LRS):
    ps = params()
    return SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], lr=lrs[0], momentum=0.9)


def adam(lrs=LRS):
    ps = params()
    return Adam([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], lr=lrs[0], betas=(0.9, 0.999))


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


cases = {}


def run(name, make, opt=sgd, with_momentum=False):
    o = opt()
    s = make(o)
    groups = o.param_groups
    lrs = [[g["lr"]] for g in groups]
    moms = [[momentum_of(g)] for g in groups]
    for _ in range(STEPS):
        o.step()
        s.step()
        for k, g in enumerate(groups):
            lrs[k].append(g["lr"])
            moms[k].append(momentum_of(g))
    case = {"lrs": [[float(v) for v in l] for l in lrs]}
    if with_momentum:
        case["momentum"] = [[float(v) for v in m] for m in moms]
    cases[name] = case


run("StepLR", lambda o: S.StepLR(o, step_size=7, gamma=0.5))
run("MultiStepLR", lambda o: S.MultiStepLR(o, milestones=[10, 25, 60], gamma=0.3))
run("ExponentialLR", lambda o: S.ExponentialLR(o, gamma=0.95))
run("CosineAnnealingLR", lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.001))
run("CosineAnnealingWarmRestarts", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001))
run("CosineAnnealingWarmRestarts_mult1", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=13))
run("LinearLR", lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=20))
run("LinearLR_defaults", lambda o: S.LinearLR(o))
run("ConstantLR", lambda o: S.ConstantLR(o, factor=0.5, total_iters=10))
run("PolynomialLR", lambda o: S.PolynomialLR(o, total_iters=50, power=2.0))
run("LambdaLR", lambda o: S.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.1 * e)))
run("LambdaLR_per_group", lambda o: S.LambdaLR(o, [lambda e: 0.97 ** e, lambda e: 1.0 / (1.0 + e)]))
run("MultiplicativeLR", lambda o: S.MultiplicativeLR(o, lambda e: 0.97))
run("OneCycleLR", lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=101), with_momentum=True)
run("OneCycleLR_per_group_linear_3phase", lambda o: S.OneCycleLR(
    o, max_lr=[0.5, 0.2], epochs=11, steps_per_epoch=11, pct_start=0.25, anneal_strategy="linear",
    div_factor=10.0, final_div_factor=100.0, three_phase=True), with_momentum=True)
run("OneCycleLR_adam", lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=120), opt=adam, with_momentum=True)
run("CyclicLR", lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=10), with_momentum=True)
run("CyclicLR_triangular2_per_group", lambda o: S.CyclicLR(
    o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.02], step_size_up=8, step_size_down=12, mode="triangular2"),
    with_momentum=True)
run("CyclicLR_exp_range_no_momentum", lambda o: S.CyclicLR(
    o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.98, cycle_momentum=False))
run("SequentialLR", lambda o: S.SequentialLR(
    o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
        S.CosineAnnealingLR(o, T_max=40, eta_min=0.0)], milestones=[10]))
run("SequentialLR_three", lambda o: S.SequentialLR(
    o, [S.ConstantLR(o, factor=0.1, total_iters=5), S.ExponentialLR(o, gamma=0.9),
        S.StepLR(o, step_size=10, gamma=0.5)], milestones=[5, 30]))
run("SequentialLR_warm_restarts", lambda o: S.SequentialLR(
    o, [S.LinearLR(o, start_factor=0.2, total_iters=8),
        S.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.0005)], milestones=[8]))
run("ChainedScheduler", lambda o: S.ChainedScheduler(
    [S.ConstantLR(o, factor=0.1, total_iters=4), S.ExponentialLR(o, gamma=0.9)]))
run("ChainedScheduler_cosine_multistep", lambda o: S.ChainedScheduler(
    [S.CosineAnnealingLR(o, T_max=20, eta_min=0.0), S.MultiStepLR(o, milestones=[30, 60], gamma=0.5)]))
run("ChainedScheduler_linear_lambda", lambda o: S.ChainedScheduler(
    [S.LinearLR(o, start_factor=0.5, total_iters=10), S.LambdaLR(o, lambda e: 0.99 ** e)]))

# ReduceLROnPlateau on a scripted metric: improves, plateaus with noise, improves, plateaus
METRICS = [1.0 / (1 + k) for k in range(10)] + [0.1 + 0.001 * ((k * 7) % 5) for k in range(25)] \
    + [0.09 - 0.005 * k for k in range(10)] + [0.045 + 0.0001 * (k % 3) for k in range(55)]


def plateau(name, metrics, **kw):
    o = sgd()
    s = S.ReduceLROnPlateau(o, **kw)
    lrs = [[] for _ in o.param_groups]
    for m in metrics:
        s.step(m)
        for k, g in enumerate(o.param_groups):
            lrs[k].append(float(g["lr"]))
    cases[name] = {"metrics": [float(m) for m in metrics], "lrs": lrs}


plateau("ReduceLROnPlateau", METRICS, patience=3)
plateau("ReduceLROnPlateau_cooldown_minlr", METRICS, factor=0.5, patience=2, cooldown=3, min_lr=[0.01, 0.02])
plateau("ReduceLROnPlateau_max_abs", [-m for m in METRICS], mode="max", factor=0.3, patience=4,
        threshold=0.002, threshold_mode="abs")

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schedulers.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "steps": STEPS, "groupLrs": list(LRS), "cases": cases}, f, indent=1)
print("wrote", out, len(cases), "cases")
