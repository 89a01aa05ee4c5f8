#!/usr/bin/python3
"""Differential test cases against PyTorch 1.13 (issue 17): random optimizer option sets, random schedules (resumed
ones included), random autodiff graphs with gradients and Hessian-vector products, and hand-made tie and kink cases,
each with torch's answer, written to a JSON file that tests/Facade.Tests/DifferentialTests.cs replays through the
public C# facade (optimizers and schedules to 1e-9 relative in float64, autodiff to 1e-8).

Run with Debian's torch:
    /usr/bin/python3 tests/Facade.Tests/differential/differential.py [--seed N] [--cases K] [--out FILE]
The checked-in cases.json was written with the defaults (seed 17, 6 cases per kind). To replay fresh cases:
    /usr/bin/python3 tests/Facade.Tests/differential/differential.py --seed 12345 --out /tmp/cases.json
    HYBRID_DIFFERENTIAL_CASES=/tmp/cases.json dotnet test tests/Facade.Tests --filter FullyQualifiedName~DifferentialTests

Conditioning: an optimizer case whose trajectory torch itself changes by more than SENSITIVITY (1e-11) when every
gradient is perturbed at rounding level (1 + 2.2e-16·N(0, 1)) is redrawn; the checked-in cases record their
"sensitivity".

CyclicLR: torch 1.13 cycles only a 'momentum' option (Adam cases run with cycle_momentum=False), and when resuming it
reads base_momentum from the group's current momentum; resumed cases put base_momentum there, so that 1.13 computes
the documented cycle (what torch 2.0 and Hybrid do).

NAdam: torch 1.13's _single_tensor_nadam multiplies mu_t into the next product twice
(mu_product_next = mu_product * mu * mu_next; fixed in torch 2.0). Hybrid follows the documented algorithm, so NAdam's
expectations come from `nadam_reference` below: torch 1.13's code, operation for operation, with that line corrected.
"""
import argparse
import json
import math
import random

import warnings

import torch

torch.set_default_dtype(torch.float64)
# SequentialLR restarts its schedules with step(0), which torch 1.13 warns about
warnings.filterwarnings("ignore", message="The epoch parameter")

# ----------------------------------------------------------------------------------------------------- optimizers


def problem(rng):
    """A small regression: yhat = tanh(x W^T + b), loss = mean((yhat - y)^2)."""
    n, i, o = rng.randint(4, 8), rng.randint(2, 4), rng.randint(1, 3)
    g = torch.Generator().manual_seed(rng.randrange(2**31))
    return {
        "x": torch.randn(n, i, generator=g), "y": torch.randn(n, o, generator=g),
        "w0": torch.randn(o, i, generator=g) * 0.5, "b0": torch.randn(o, generator=g) * 0.1,
    }


def u(rng, a, b):
    return rng.uniform(a, b)


def maybe(rng, p, value, default):
    return value if rng.random() < p else default


def betas(rng):
    return [u(rng, 0.5, 0.95), u(rng, 0.9, 0.9999)]


def option_set(rng, name):
    """Random options for one optimizer, torch's names."""
    wd = maybe(rng, 0.5, u(rng, 0.0, 0.1), 0.0)
    mx = rng.random() < 0.3
    eps = maybe(rng, 0.5, 10 ** u(rng, -10, -3), None)
    if name == "SGD":
        mom = maybe(rng, 0.7, u(rng, 0.0, 0.95), 0.0)
        damp = maybe(rng, 0.3, u(rng, 0.0, 0.5), 0.0) if mom > 0 else 0.0
        nest = mom > 0 and damp == 0 and rng.random() < 0.5
        return dict(lr=u(rng, 0.01, 0.3), momentum=mom, dampening=damp, weight_decay=wd, nesterov=nest, maximize=mx)
    if name in ("Adam", "AdamW"):
        o = dict(lr=u(rng, 1e-3, 0.1), betas=betas(rng), weight_decay=wd if name == "Adam" else u(rng, 0, 0.1),
                 amsgrad=rng.random() < 0.5, maximize=mx)
    elif name == "Adagrad":
        o = dict(lr=u(rng, 0.01, 0.5), lr_decay=maybe(rng, 0.5, u(rng, 0, 0.1), 0.0), weight_decay=wd,
                 initial_accumulator_value=maybe(rng, 0.5, u(rng, 0, 1), 0.0), maximize=mx)
    elif name == "Adadelta":
        o = dict(lr=u(rng, 0.1, 2.0), rho=u(rng, 0.5, 0.99), weight_decay=wd, maximize=mx)
    elif name == "Adamax":
        o = dict(lr=u(rng, 1e-3, 0.1), betas=betas(rng), weight_decay=wd, maximize=mx)
    elif name == "NAdam":
        o = dict(lr=u(rng, 1e-3, 0.1), betas=betas(rng), weight_decay=wd, momentum_decay=u(rng, 1e-3, 1e-2))
    elif name == "RAdam":
        o = dict(lr=u(rng, 1e-3, 0.1), betas=betas(rng), weight_decay=wd)
    elif name == "ASGD":
        o = dict(lr=u(rng, 1e-3, 0.1), lambd=10 ** u(rng, -5, -2), alpha=u(rng, 0.5, 1.0),
                 t0=maybe(rng, 0.5, float(rng.randint(1, 20)), 1e6), weight_decay=wd, maximize=mx)
    elif name == "Rprop":
        o = dict(lr=u(rng, 1e-3, 0.1), etas=[u(rng, 0.3, 0.7), u(rng, 1.1, 1.5)],
                 step_sizes=[10 ** u(rng, -6, -3), u(rng, 1, 50)], maximize=mx)
    elif name == "RMSprop":
        o = dict(lr=u(rng, 1e-3, 0.05), alpha=u(rng, 0.8, 0.999), weight_decay=wd,
                 momentum=maybe(rng, 0.5, u(rng, 0, 0.9), 0.0), centered=rng.random() < 0.5, maximize=mx)
    elif name == "LBFGS":
        return dict(lr=u(rng, 0.2, 1.0), max_iter=rng.randint(2, 8), history_size=rng.randint(2, 10),
                    line_search_fn=rng.choice([None, "strong_wolfe"]))
    else:
        raise ValueError(name)
    if eps is not None and name not in ("Rprop", "ASGD"):
        o["eps"] = eps
    return o


def nadam_reference(p, grad, state, lr, beta1, beta2, weight_decay, momentum_decay, eps):
    """torch 1.13's _single_tensor_nadam for one parameter with its mu_product_next corrected to the documented
    mu_product * mu_next (the only change)."""
    if not state:
        state["step"] = torch.tensor(0.0)
        state["mu_product"] = torch.tensor(1.0)
        state["exp_avg"] = torch.zeros_like(p)
        state["exp_avg_sq"] = torch.zeros_like(p)
    exp_avg, exp_avg_sq, mu_product, step_t = state["exp_avg"], state["exp_avg_sq"], state["mu_product"], state["step"]
    step_t += 1
    step = step_t.item()
    bias_correction2 = 1 - beta2 ** step
    if weight_decay != 0:
        grad = grad.add(p, alpha=weight_decay)
    mu = beta1 * (1. - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product *= mu
    mu_product_next = mu_product * mu_next  # torch 1.13: mu_product * mu * mu_next
    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
    p.addcdiv_(grad, denom, value=-lr * (1. - mu) / (1. - mu_product.item()))
    p.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1. - mu_product_next.item()))


def run_optimizer(name, opts, pr, steps, noise=None):
    """torch's losses and parameters after each step; with `noise` (a generator) every gradient is multiplied by
    1 + 2.2e-16·N(0, 1), a rounding-level change, to measure how much the case itself amplifies rounding."""
    w = torch.nn.Parameter(pr["w0"].clone())
    b = torch.nn.Parameter(pr["b0"].clone())
    params = [w, b]

    def loss_fn():
        return ((torch.tanh(pr["x"] @ w.t() + b) - pr["y"]) ** 2).mean()

    def perturb():
        if noise is not None:
            for p in params:
                p.grad.mul_(1 + 2.2e-16 * torch.randn(p.grad.shape, generator=noise))

    losses, traj = [], []
    if name == "NAdam":
        states = [{}, {}]
        o = dict(dict(lr=2e-3, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.0, momentum_decay=4e-3), **opts)
        for _ in range(steps):
            for p in params:
                p.grad = None
            loss = loss_fn()
            loss.backward()
            perturb()
            with torch.no_grad():
                for p, s in zip(params, states):
                    nadam_reference(p, p.grad, s, o["lr"], o["betas"][0], o["betas"][1], o["weight_decay"],
                                    o["momentum_decay"], o["eps"])
            losses.append(loss.item())
            traj.append(torch.cat([w.detach().reshape(-1), b.detach().reshape(-1)]).tolist())
        return losses, traj
    kw = dict(opts)
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    if "etas" in kw:
        kw["etas"] = tuple(kw["etas"])
        kw["step_sizes"] = tuple(kw["step_sizes"])
    opt = getattr(torch.optim, name)(params, **kw)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        perturb()
        return loss

    for _ in range(steps):
        loss = opt.step(closure)
        losses.append(loss.item())
        traj.append(torch.cat([w.detach().reshape(-1), b.detach().reshape(-1)]).tolist())
    return losses, traj


OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "RMSprop", "LBFGS"]


def relative_difference(a, b):
    """max |a − b| / max(|b|, 1e-3·max|b|, 1e-6) over the elements (the C# test's measure)."""
    a, b = torch.tensor(a), torch.tensor(b)
    floor = max(1e-3 * b.abs().max().item(), 1e-6)
    return ((a - b).abs() / torch.clamp(b.abs(), min=floor)).max().item()


# A case whose own trajectory moves by more than this under rounding-level gradient noise is ill-conditioned (it would
# test how much the problem amplifies rounding, not the implementation): it is redrawn. 1e-11 leaves the test's 1e-9 a
# factor of 100 for the rounding differences of a correct implementation.
SENSITIVITY = 1e-11


def optimizer_cases(rng, k):
    out = []
    for name in OPTIMIZERS:
        j, redrawn = 0, 0
        while j < k:
            pr = problem(rng)
            opts = option_set(rng, name)
            steps = 6 if name == "LBFGS" else 36
            losses, traj = run_optimizer(name, opts, pr, steps)
            _, noisy = run_optimizer(name, opts, pr, steps, noise=torch.Generator().manual_seed(rng.randrange(2**31)))
            sensitivity = max(relative_difference(n, t) for n, t in zip(noisy, traj))
            if sensitivity > SENSITIVITY:
                redrawn += 1
                continue
            out.append({"name": f"{name}_{j}", "optimizer": name, "options": opts, "steps": steps, "sensitivity": sensitivity,
                        "x": pr["x"].tolist(), "y": pr["y"].tolist(), "w0": pr["w0"].tolist(), "b0": pr["b0"].tolist(),
                        "losses": losses, "trajectory": traj})
            j += 1
        if redrawn:
            print(f"{name}: redrew {redrawn} ill-conditioned cases (sensitivity > {SENSITIVITY:g})")
    return out

def rule_cases(rng, k):
    """Each first-order rule alone: one parameter fed a fixed random gradient sequence (no model, so no gradient
    rounding), 36 steps. With the operations in torch's order the trajectories agree to the last bits."""
    out = []
    for name in OPTIMIZERS[:-1]:
        for j in range(k):
            opts = option_set(rng, name)
            g = torch.Generator().manual_seed(rng.randrange(2**31))
            n = rng.randint(1, 6)
            p0 = torch.randn(n, generator=g)
            grads = torch.randn(36, n, generator=g) * 10 ** u(rng, -3, 1)
            p = torch.nn.Parameter(p0.clone())
            traj = []
            if name == "NAdam":
                o = dict(dict(lr=2e-3, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.0, momentum_decay=4e-3), **opts)
                state = {}
                for t in range(36):
                    with torch.no_grad():
                        nadam_reference(p, grads[t].clone(), state, o["lr"], o["betas"][0], o["betas"][1], o["weight_decay"],
                                        o["momentum_decay"], o["eps"])
                    traj.append(p.detach().tolist())
            else:
                kw = dict(opts)
                for key in ("betas", "etas", "step_sizes"):
                    if key in kw:
                        kw[key] = tuple(kw[key])
                opt = getattr(torch.optim, name)([p], **kw)
                for t in range(36):
                    p.grad = grads[t].clone()
                    opt.step()
                    traj.append(p.detach().tolist())
            out.append({"name": f"{name}_rule_{j}", "optimizer": name, "options": opts, "p0": p0.tolist(),
                        "grads": grads.tolist(), "trajectory": traj})
    return out

# ----------------------------------------------------------------------------------------------------- schedules


SCALE_FNS = {  # CyclicLR scale_fn by name (the C# test has the same functions)
    "inverse": lambda x: 1.0 / (1.0 + x),
    "half_power": lambda x: 0.5 ** x,
    "cosine": lambda x: 0.5 * (1.0 + math.cos(x / 7.0)),
}
LAMBDAS = {  # LambdaLR / MultiplicativeLR functions by name
    "inv_sqrt": lambda e: 1.0 / math.sqrt(1.0 + e),
    "decay095": lambda e: 0.95 ** e,
    "wave": lambda e: 0.9 + 0.1 * math.sin(e),
}


def schedule_args(rng, kind):
    S = torch.optim.lr_scheduler
    if kind == "StepLR":
        a = dict(step_size=rng.randint(1, 7), gamma=u(rng, 0.1, 0.95))
    elif kind == "MultiStepLR":
        a = dict(milestones=sorted(rng.sample(range(1, 30), rng.randint(1, 4))), gamma=u(rng, 0.1, 0.95))
    elif kind == "ExponentialLR":
        a = dict(gamma=u(rng, 0.8, 0.99))
    elif kind == "CosineAnnealingLR":
        a = dict(T_max=rng.randint(2, 15), eta_min=maybe(rng, 0.5, u(rng, 0, 0.01), 0.0))
    elif kind == "CosineAnnealingWarmRestarts":
        a = dict(T_0=rng.randint(1, 8), T_mult=rng.randint(1, 3), eta_min=maybe(rng, 0.5, u(rng, 0, 0.01), 0.0))
    elif kind == "LinearLR":
        a = dict(start_factor=u(rng, 0.05, 1.0), end_factor=u(rng, 0.0, 1.0), total_iters=rng.randint(1, 20))
    elif kind == "ConstantLR":
        a = dict(factor=u(rng, 0.05, 1.0), total_iters=rng.randint(0, 20))
    elif kind == "PolynomialLR":
        a = dict(total_iters=rng.randint(1, 20), power=u(rng, 0.5, 3.0))
    elif kind == "LambdaLR" or kind == "MultiplicativeLR":
        a = dict(lr_lambda=rng.choice(sorted(LAMBDAS)))
    elif kind == "OneCycleLR":
        a = dict(max_lr=u(rng, 0.05, 1.0), total_steps=rng.randint(45, 80), pct_start=u(rng, 0.1, 0.5),
                 anneal_strategy=rng.choice(["cos", "linear"]), div_factor=u(rng, 5, 50),
                 final_div_factor=10 ** u(rng, 2, 4), three_phase=rng.random() < 0.5)
    elif kind == "CyclicLR":
        a = dict(base_lr=u(rng, 1e-3, 0.05), max_lr=u(rng, 0.06, 0.5), step_size_up=rng.randint(1, 9),
                 step_size_down=maybe(rng, 0.5, rng.randint(1, 9), None),
                 mode=rng.choice(["triangular", "triangular2", "exp_range"]), gamma=u(rng, 0.9, 1.0),
                 cycle_momentum=rng.random() < 0.5)
        if rng.random() < 0.4:
            a["scale_fn"] = rng.choice(sorted(SCALE_FNS))
            a["scale_mode"] = rng.choice(["cycle", "iterations"])
    else:
        raise ValueError(kind)
    return a


def make_scheduler(kind, opt, args, last_epoch):
    S = torch.optim.lr_scheduler
    kw = dict(args)
    if kind in ("LambdaLR", "MultiplicativeLR"):
        kw["lr_lambda"] = LAMBDAS[kw["lr_lambda"]]
    if kind == "CyclicLR" and "scale_fn" in kw:
        kw["scale_fn"] = SCALE_FNS[kw["scale_fn"]]
    if kind != "OneCycleLR" or last_epoch != -1:
        kw["last_epoch"] = last_epoch
    return getattr(S, kind)(opt, **kw)


SCHEDULES = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LinearLR",
             "ConstantLR", "PolynomialLR", "LambdaLR", "MultiplicativeLR", "OneCycleLR", "CyclicLR"]


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group.get("momentum", 0.0)


def schedule_cases(rng, k):
    out = []
    for kind in SCHEDULES + ["SequentialLR", "ChainedScheduler"]:
        for j in range(k):
            lr0 = u(rng, 0.01, 1.0)
            use_adam = rng.random() < 0.3
            p = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.Adam([p], lr=lr0) if use_adam else torch.optim.SGD([p], lr=lr0, momentum=0.9)
            steps = 40
            case = {"name": f"{kind}_{j}", "scheduler": kind, "lr0": lr0, "optimizer": "Adam" if use_adam else "SGD",
                    "steps": steps}
            if kind in ("SequentialLR", "ChainedScheduler"):
                kinds = [rng.choice(["StepLR", "ExponentialLR", "LinearLR", "ConstantLR", "CosineAnnealingLR", "PolynomialLR",
                                     "MultiStepLR"]) for _ in range(rng.randint(2, 3))]
                inner_args = [schedule_args(rng, c) for c in kinds]
                inner = [make_scheduler(c, opt, a, -1) for c, a in zip(kinds, inner_args)]
                case["inner"] = [{"scheduler": c, "args": a} for c, a in zip(kinds, inner_args)]
                if kind == "SequentialLR":
                    ms = sorted(rng.sample(range(1, 30), len(kinds) - 1))
                    case["milestones"] = ms
                    sch = torch.optim.lr_scheduler.SequentialLR(opt, inner, milestones=ms)
                else:
                    sch = torch.optim.lr_scheduler.ChainedScheduler(inner)
                case["last_epoch"] = -1
            else:
                args = schedule_args(rng, kind)
                case["args"] = args
                # a third of the cases resume at a given step (torch's last_epoch: initial_lr must be set)
                last_epoch = -1
                if rng.random() < 0.35:
                    last_epoch = rng.randint(0, 30 if kind != "OneCycleLR" else args["total_steps"] - steps - 2)
                    if last_epoch < 0:
                        last_epoch = -1
                if last_epoch >= 0:
                    initial = (args["max_lr"] / args["div_factor"] if kind == "OneCycleLR"
                               else args["base_lr"] if kind == "CyclicLR" else u(rng, 0.01, 1.0))
                    opt.param_groups[0]["initial_lr"] = initial
                    case["initial_lr"] = initial
                    if kind == "OneCycleLR":
                        # what the original run's construction left in the group (torch reads these when resuming)
                        g = opt.param_groups[0]
                        g["max_lr"] = args["max_lr"]
                        g["min_lr"] = initial / args["final_div_factor"]
                        g["max_momentum"], g["base_momentum"] = 0.95, 0.85
                if kind == "CyclicLR" and use_adam:
                    # torch 1.13's CyclicLR cycles only a 'momentum' option (beta1 from torch 2.0; Hybrid has both)
                    args["cycle_momentum"] = False
                if kind == "CyclicLR" and last_epoch >= 0 and args["cycle_momentum"]:
                    # torch 1.13 takes base_momentum from the group's current momentum when resuming (torch 2.0 keeps
                    # it in the group); Hybrid follows the documented cycle between base_momentum and max_momentum,
                    # which 1.13 computes when the group holds base_momentum (0.8, the default) at construction
                    opt.param_groups[0]["momentum"] = 0.8
                case["last_epoch"] = last_epoch
                sch = make_scheduler(kind, opt, args, last_epoch)
            lrs, moms = [opt.param_groups[0]["lr"]], [momentum_of(opt.param_groups[0])]
            for _ in range(steps - 1):
                opt.step()
                sch.step()
                lrs.append(opt.param_groups[0]["lr"])
                moms.append(momentum_of(opt.param_groups[0]))
            case["lrs"] = lrs
            case["momenta"] = moms
            out.append(case)
    return out

# ----------------------------------------------------------------------------------------------------- autodiff


UNARY = ["tanh", "sigmoid", "sin", "cos", "square", "softplus", "gelu", "erf", "elu", "leaky_relu", "relu", "abs",
         "exp_tanh", "log_sq1", "sqrt_sq1", "pow3", "softmax1", "log_softmax1", "sum_keep1", "mean_keep0", "lse_keep1",
         "max_keep1", "matmul_c", "clamp"]
BINARY = ["add", "sub", "mul", "div_sq1", "maximum", "minimum"]
FINAL = ["sum", "mean", "max", "min", "norm", "wsum", "var", "std"]


def apply(op, args, consts):
    a = args[0]
    if op == "tanh": return torch.tanh(a)
    if op == "sigmoid": return torch.sigmoid(a)
    if op == "sin": return torch.sin(a)
    if op == "cos": return torch.cos(a)
    if op == "square": return torch.square(a)
    if op == "softplus": return torch.nn.functional.softplus(a)
    if op == "gelu": return torch.nn.functional.gelu(a)
    if op == "erf": return torch.erf(a)
    if op == "elu": return torch.nn.functional.elu(a)
    if op == "leaky_relu": return torch.nn.functional.leaky_relu(a, 0.1)
    if op == "relu": return torch.relu(a)
    if op == "abs": return torch.abs(a)
    if op == "exp_tanh": return torch.exp(torch.tanh(a))
    if op == "log_sq1": return torch.log(torch.square(a) + 1.0)
    if op == "sqrt_sq1": return torch.sqrt(torch.square(a) + 1.0)
    if op == "pow3": return torch.pow(a, 3.0)
    if op == "softmax1": return torch.softmax(a, 1)
    if op == "log_softmax1": return torch.log_softmax(a, 1)
    if op == "sum_keep1": return a.sum(1, keepdim=True)
    if op == "mean_keep0": return a.mean(0, keepdim=True)
    if op == "lse_keep1": return torch.logsumexp(a, [1], keepdim=True)
    if op == "max_keep1": return a.max(1, keepdim=True)[0]
    if op == "matmul_c": return a @ consts["c"]
    if op == "clamp": return torch.clamp(a, -0.5, 0.5)
    b = args[1]
    if op == "add": return a + b
    if op == "sub": return a - b
    if op == "mul": return a * b
    if op == "div_sq1": return a / (torch.square(b) + 1.0)
    if op == "maximum": return torch.maximum(a, b)
    if op == "minimum": return torch.minimum(a, b)
    raise ValueError(op)


def final(op, a, consts):
    if op == "sum": return a.sum()
    if op == "mean": return a.mean()
    if op == "max": return a.max()
    if op == "min": return a.min()
    if op == "norm": return torch.linalg.vector_norm(a)
    if op == "wsum": return (a * consts["w"][: a.shape[0], : a.shape[1]]).sum()
    if op == "var": return a.var([0, 1], correction=1) if a.numel() > 1 else a.sum()
    if op == "std": return a.std([0, 1], correction=1) if a.numel() > 1 else a.sum()
    raise ValueError(op)


def evaluate(program, x, consts):
    regs = [x, consts["k"]]
    for ins in program["ops"]:
        regs.append(apply(ins[0], [regs[i] for i in ins[1:]], consts))
    return final(program["final"], regs[-1], consts)


def autodiff_case(name, x, program, consts, v):
    f = lambda t: evaluate(program, t, consts)
    xr = x.clone().requires_grad_(True)
    y = f(xr)
    g = torch.autograd.grad(y, xr, allow_unused=True)[0] if y.requires_grad else None
    g = torch.zeros_like(x) if g is None else g
    _, hv = torch.autograd.functional.hvp(f, x.clone(), v, strict=False)
    return {"name": name, "x": x.tolist(), "v": v.tolist(), "program": program,
            "k": consts["k"].tolist(), "c": consts["c"].tolist(), "w": consts["w"].tolist(),
            "value": y.item(), "grad": g.tolist(), "hvp": hv.tolist()}


def random_consts(g, r, c):
    return {"k": torch.randn(r, c, generator=g), "c": torch.randn(c, c, generator=g) * 0.5, "w": torch.randn(r, c, generator=g)}


def autodiff_cases(rng, k):
    out = []
    j = 0
    while j < 8 * k:
        g = torch.Generator().manual_seed(rng.randrange(2**31))
        r, c = rng.randint(1, 4), rng.randint(2, 4)
        x = torch.randn(r, c, generator=g)
        consts = random_consts(g, r, c)
        ops = []
        n = 2
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.6:
                ops.append([rng.choice(UNARY), rng.randrange(n)])
            else:
                ops.append([rng.choice(BINARY), rng.randrange(n), rng.randrange(n)])
            n += 1
        # the last op uses the one before it, so every op can matter
        ops[-1][1] = n - 2
        program = {"ops": ops, "final": rng.choice(FINAL)}
        v = torch.randn(r, c, generator=g)
        try:
            case = autodiff_case(f"graph_{j}", x, program, consts, v)
        except RuntimeError:
            continue  # shapes that do not fit (matmul_c after a keep-dim reduction): draw another graph
        if not all(math.isfinite(z) and abs(z) < 1e6 for z in [case["value"]] + sum(case["grad"], []) + sum(case["hvp"], [])):
            continue
        out.append(case)
        j += 1
    return out


def kink_cases():
    """Ties and kinks, where torch's subgradient conventions decide the answer."""
    g = torch.Generator().manual_seed(1713)
    cases = []

    def add(name, x, ops, fin, v=None, k=None):
        x = torch.tensor(x)
        consts = random_consts(g, x.shape[0], x.shape[1])
        if k is not None:
            consts["k"] = torch.tensor(k)
        v = torch.randn(x.shape, generator=g) if v is None else torch.tensor(v)
        cases.append(autodiff_case(name, x, {"ops": ops, "final": fin}, consts, v))

    add("max_ties", [[1.0, 3.0, 3.0], [-1.0, 3.0, 0.0]], [], "max")
    add("min_ties", [[2.0, -1.0], [-1.0, 5.0]], [], "min")
    add("max_ties_curved", [[1.0, 3.0, 3.0]], [["square", 0], ["mul", 2, 0]], "max")
    add("relu_at_zero", [[0.0, 1.0, -1.0, 0.0]], [["relu", 0]], "sum")
    add("relu_at_zero_curved", [[0.0, 1.5, -1.0, 0.0]], [["relu", 0], ["mul", 2, 0], ["mul", 3, 0]], "sum")
    add("abs_at_zero", [[0.0, -2.0, 2.0]], [["abs", 0]], "sum")
    add("abs_at_zero_curved", [[0.0, -2.0, 2.0]], [["abs", 0], ["square", 2]], "sum")
    add("leaky_relu_at_zero", [[0.0, 1.0, -1.0]], [["leaky_relu", 0]], "wsum")
    add("maximum_ties", [[1.0, 2.0, -3.0]], [["maximum", 0, 1]], "wsum", k=[[1.0, 0.5, -3.0]])
    add("minimum_ties", [[1.0, 2.0, -3.0]], [["minimum", 0, 1]], "wsum", k=[[1.0, 0.5, -3.0]])
    add("maximum_self", [[1.0, -2.0]], [["maximum", 0, 0], ["square", 2]], "sum")
    add("clamp_at_bounds", [[-0.5, 0.5, 0.0, 1.0]], [["clamp", 0]], "wsum")
    add("max_dim_ties", [[1.0, 4.0, 4.0], [2.0, 2.0, 0.0]], [["max_keep1", 0]], "sum")
    add("norm_at_zero", [[0.0, 0.0, 0.0]], [], "norm")
    add("linear", [[0.3, -0.7, 1.1]], [["mul", 0, 1]], "sum")
    add("elu_at_zero", [[0.0, 0.5, -0.5]], [["elu", 0]], "wsum")
    return cases

# ----------------------------------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=17, help="seed of every random choice (default 17)")
    ap.add_argument("--cases", type=int, default=6, help="cases per optimizer / scheduler kind (default 6)")
    ap.add_argument("--out", default=None, help="output file (default: cases.json next to this script)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    torch.manual_seed(a.seed)
    doc = {
        "torch": torch.__version__, "seed": a.seed, "cases_per_kind": a.cases,
        "optimizers": optimizer_cases(rng, a.cases),
        "rules": rule_cases(rng, a.cases),
        "schedules": schedule_cases(rng, a.cases),
        "autodiff": autodiff_cases(rng, a.cases) + kink_cases(),
    }
    import os
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.json")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
    os.replace(tmp, out)
    print(f"{out}: {len(doc['optimizers'])} optimizer, {len(doc['rules'])} rule, {len(doc['schedules'])} schedule, "
          f"{len(doc['autodiff'])} autodiff cases")


if __name__ == "__main__":
    main()
