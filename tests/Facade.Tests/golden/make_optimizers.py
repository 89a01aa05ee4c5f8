"""Golden trajectories of torch.optim (1.13, float64) on a small fixed model, for OptimizerTests.cs.

Model: ŷ = tanh(x Wᵀ + b), loss = mean((ŷ − y)²) with W [3,4], b [3], x [8,4], y [8,3] drawn once from seed 0.
Each case runs `steps` optimizer steps and records W and b (flattened, W first) after every step.
Run: /usr/bin/python3 make_optimizers.py  (writes optimizers.json next to this file)
"""
import json, os
import torch

torch.set_default_dtype(torch.float64)
g = torch.Generator().manual_seed(0)
X = torch.randn(8, 4, generator=g)
Y = torch.randn(8, 3, generator=g).clamp(-0.9, 0.9)
W0 = torch.randn(3, 4, generator=g) * 0.5
B0 = torch.randn(3, generator=g) * 0.1

def loss_of(W, b, negate):
    l = ((torch.tanh(X @ W.T + b) - Y) ** 2).mean()
    return -l if negate else l

O = torch.optim
CASES = [
    ("sgd_nesterov_wd", lambda W, b: O.SGD([W, b], lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), False, 20),
    ("sgd_dampening", lambda W, b: O.SGD([W, b], lr=0.1, momentum=0.8, dampening=0.3), False, 20),
    ("sgd_groups", lambda W, b: O.SGD([{"params": [W], "lr": 0.2, "momentum": 0.9}, {"params": [b]}], lr=0.01), False, 20),
    ("adam_amsgrad_wd", lambda W, b: O.Adam([W, b], lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True), False, 20),
    ("adam_maximize", lambda W, b: O.Adam([W, b], lr=0.01, maximize=True), True, 20),
    ("adamw", lambda W, b: O.AdamW([W, b], lr=0.02, weight_decay=0.1), False, 20),
    ("rmsprop_centered", lambda W, b: O.RMSprop([W, b], lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.01), False, 20),
    ("adagrad", lambda W, b: O.Adagrad([W, b], lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1), False, 20),
    ("adadelta", lambda W, b: O.Adadelta([W, b], lr=1.0, rho=0.8, weight_decay=0.01), False, 20),
    ("adamax", lambda W, b: O.Adamax([W, b], lr=0.01, betas=(0.85, 0.99), weight_decay=0.01), False, 20),
    ("radam", lambda W, b: O.RAdam([W, b], lr=0.01, weight_decay=0.01), False, 20),
    ("asgd", lambda W, b: O.ASGD([W, b], lr=0.05, lambd=1e-3, alpha=0.75, t0=5, weight_decay=0.01), False, 20),
    ("rprop", lambda W, b: O.Rprop([W, b], lr=0.01, etas=(0.4, 1.3), step_sizes=(1e-4, 1.0)), False, 20),
    ("lbfgs_strong_wolfe", lambda W, b: O.LBFGS([W, b], lr=1, max_iter=5, history_size=4, line_search_fn="strong_wolfe"), False, 6),
    ("lbfgs_fixed", lambda W, b: O.LBFGS([W, b], lr=0.5, max_iter=4), False, 6),
]

out = {"x": X.flatten().tolist(), "y": Y.flatten().tolist(), "w0": W0.flatten().tolist(), "b0": B0.tolist(), "cases": []}
for name, make, negate, steps in CASES:
    W = W0.clone().requires_grad_()
    b = B0.clone().requires_grad_()
    opt = make(W, b)
    traj, losses = [], []
    def closure():
        opt.zero_grad()
        l = loss_of(W, b, negate)
        l.backward()
        return l
    for _ in range(steps):
        losses.append(float(opt.step(closure)))
        traj.append(torch.cat([W.detach().flatten(), b.detach()]).tolist())
    out["cases"].append({"name": name, "steps": steps, "negate": negate, "trajectory": traj, "losses": losses})

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizers.json"), "w") as f:
    json.dump(out, f)
print("wrote", len(out["cases"]), "cases")
