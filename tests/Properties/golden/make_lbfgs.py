"""Golden L-BFGS iterates from torch.optim.LBFGS (torch 1.13, float64).

Run: /usr/bin/python3 make_lbfgs.py > lbfgs.txt
Problems: 2-D Rosenbrock from (-1.2, 1), and a 4-D convex quartic
f(x) = sum_i a_i (x_i - c_i)^2 + 0.25 (sum_i x_i^2)^2.
Each line: config name, step k, the loss step k returned, func_evals, n_iter, then the parameters
after step k.
"""
import torch
from torch.optim import LBFGS

A = [1.0, 2.0, 0.5, 3.0]
C = [1.0, -0.5, 2.0, 0.25]


def rosen(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def quartic(x):
    a = torch.tensor(A, dtype=torch.float64)
    c = torch.tensor(C, dtype=torch.float64)
    return (a * (x - c) ** 2).sum() + 0.25 * (x * x).sum() ** 2


def run(name, f, x0, steps, **kw):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    o = LBFGS([x], **kw)

    def closure():
        o.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    for k in range(steps):
        loss = o.step(closure)
        st = o.state[x]
        print(name, k, repr(float(loss)), st["func_evals"], st["n_iter"],
              " ".join(repr(float(v)) for v in x.detach().tolist()))


run("rosen_wolfe", rosen, [-1.2, 1.0], 6, lr=1, max_iter=5, history_size=10, line_search_fn="strong_wolfe")
run("rosen_wolfe_default", rosen, [-1.2, 1.0], 3, line_search_fn="strong_wolfe")
run("rosen_fixed", rosen, [-1.2, 1.0], 4, lr=0.05, max_iter=6, history_size=3)
run("quartic_fixed", quartic, [0.0, 0.0, 0.0, 0.0], 5, lr=0.5, max_iter=4, history_size=5)
run("quartic_wolfe", quartic, [0.0, 0.0, 0.0, 0.0], 3, max_iter=10, history_size=4, line_search_fn="strong_wolfe")
