"""Golden values of torch.linalg (torch 1.13, float64) for tests/Properties/LinalgDecompTests.fs.

Run: /usr/bin/python3 tests/Properties/golden/make_linalg.py  (writes linalg.json beside this file).
Inputs are fixed literal matrices (so the F# test rebuilds them exactly). For each case the JSON holds the input,
the outputs and the gradient of the loss L = sum(w * out) for a fixed weight w = 0.1, 0.2, ... (cycled) per output.
Eigenvectors / singular vectors / QR factors are sign-ambiguous: the test compares them up to column sign,
and their losses are sign-invariant (sum(w * out * out)).
"""
import json, os, tempfile
import torch

torch.set_default_dtype(torch.float64)

def w_like(t, k=0):
    n = t.numel()
    return torch.tensor([0.1 * ((i + k) % 7 + 1) for i in range(n)]).reshape(t.shape)

def lin(t, k=0):  # sum(w * t)
    return (w_like(t, k) * t).sum()

def sq(t, k=0):   # sum(w * t * t): invariant to sign flips
    return (w_like(t, k) * t * t).sum()

A = torch.tensor([[4.0, 1.0, -0.5], [0.3, 3.0, 0.7], [-0.2, 0.4, 2.5]])
B = torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]])
S = torch.tensor([[5.0, 1.0, 0.5], [1.0, 4.0, -0.3], [0.5, -0.3, 3.0]])  # SPD
T = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.7], [-2.0, 1.5]])     # tall 4x2
Ab = torch.stack([A, A.T + torch.eye(3)])                                  # batch [2, 3, 3]
Sing = torch.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # rank 2

cases = {}

def record(name, inputs, fn, loss):
    xs = [x.clone().requires_grad_(True) for x in inputs]
    outs = fn(*xs)
    if not isinstance(outs, tuple):
        outs = (outs,)
    l = loss(*outs)
    grads = torch.autograd.grad(l, xs)
    cases[name] = {
        "inputs": [{"shape": list(x.shape), "data": x.detach().flatten().tolist()} for x in inputs],
        "outputs": [{"shape": list(o.shape), "data": o.detach().flatten().tolist()} for o in outs],
        "grads": [g.flatten().tolist() for g in grads],
    }

record("solve", [A, B], torch.linalg.solve, lambda x: lin(x))
record("solve_batched", [Ab, B], torch.linalg.solve, lambda x: lin(x))
record("inv", [A], torch.linalg.inv, lambda y: lin(y))
record("det", [A], torch.linalg.det, lambda d: d * 0.7)
record("det_batched", [Ab], torch.linalg.det, lambda d: lin(d))
record("det_singular", [Sing], torch.linalg.det, lambda d: d * 1.0)  # torch 1.13's gradient here is zero (the test uses the cofactor matrix)
record("slogdet", [A], torch.linalg.slogdet, lambda s, l: l * 1.0)
record("cholesky", [S], torch.linalg.cholesky, lambda l: lin(l))
record("eigh", [S], torch.linalg.eigh, lambda l, v: lin(l) + sq(v, 3))
record("svd", [T], lambda x: torch.linalg.svd(x, full_matrices=False), lambda u, s, vh: lin(s) + sq(u, 1) + sq(vh, 2))
record("qr", [T], torch.linalg.qr, lambda q, r: sq(q) + sq(r, 2))
record("lstsq", [T, torch.tensor([[1.0], [2.0], [0.5], [-1.0]])], lambda a, b: torch.linalg.lstsq(a, b).solution, lambda x: lin(x))

out = {"torch": torch.__version__, "cases": cases}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "linalg.json")
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
with os.fdopen(fd, "w") as f:
    json.dump(out, f, indent=1)
os.replace(tmp, path)
print("wrote", path)
