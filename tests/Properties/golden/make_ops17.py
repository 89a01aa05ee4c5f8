"""Golden values of issue 17's ops from PyTorch 1.13 (float64): values and gradients on fixed inputs,
including the ties and kinks where torch's subgradient conventions decide the answer.

Run: /usr/bin/python3 tests/Properties/golden/make_ops17.py
Writes tests/Properties/golden/ops17.json (checked in), read by tests/Properties/Ops17GoldenTests.fs.
Each case: op (a name the F# test maps to Hybrid's op), inputs [{shape, values}], outputs [{shape, values}]
(float values; int64 indices as floats), weights w of the first output and grads of each input of
L = sum(w * out[0]) (null where torch gives none).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(1713)

cases = []


def rnd(*shape, lo=-2.0, hi=2.0):
    return (torch.rand(*shape, generator=gen) * (hi - lo) + lo).tolist()


def enc(t):
    return {"shape": list(t.shape), "values": [float(v) for v in t.detach().reshape(-1).tolist()]}


def case(op, fn, *inputs, grad=True):
    xs = [torch.tensor(v, dtype=torch.float64, requires_grad=grad) for v in inputs]
    out = fn(*xs)
    outs = list(out) if isinstance(out, tuple) else [out]
    w = torch.rand(outs[0].shape, generator=gen) * 2 - 1
    grads = [None] * len(xs)
    if grad:
        loss = (w * outs[0]).sum()
        gs = torch.autograd.grad(loss, xs, allow_unused=True)
        grads = [None if g is None else enc(g)["values"] for g in gs]
    cases.append({"op": op, "inputs": [enc(x) for x in xs], "outputs": [enc(o.to(torch.float64)) for o in outs],
                  "w": enc(w)["values"], "grads": grads})


X = [[-1.7, -0.3, 1e-9], [0.45, 2.2, -1e-12]]
U = [[-0.9, -0.3, 1e-10], [0.45, 2.2, 30.0]]          # > -1 (log1p)
P = [[0.2, 1.5, 3e-5], [7.0, 0.9, 40.0]]              # > 0
A = [[-0.95, -0.3, 1e-9], [0.45, 0.8, 0.0]]            # in [-1, 1)
B2 = [[1.3, -0.4, 2.0], [-0.7, 0.0, 1e-3]]
BIG = [1e200, -3e-300, 5.0]
BIG2 = [2e200, 4e-300, -12.0]

# ---- pointwise
case("log1p", torch.log1p, U)
case("expm1", torch.expm1, X)
case("rsqrt", torch.rsqrt, P)
case("reciprocal", torch.reciprocal, B2[:1] + [[-0.7, 2.5, 1e-3]])
case("sign", torch.sign, [-2.0, 0.0, 3.0, -0.0, 1e-300])
case("tan", torch.tan, X)
case("atan", torch.atan, [[-30.0, -0.3, 1e-9], [0.45, 2.2, 1e5]])
case("asin", torch.asin, A)
case("acos", torch.acos, A)
case("sinh", torch.sinh, X)
case("cosh", torch.cosh, X)
case("asinh", torch.asinh, [[-1e9, -0.3, 1e-9], [0.45, 2.2, 3e10]])
case("atan2", torch.atan2, X, B2)
case("atan2", torch.atan2, [[1.0], [-2.0]], [0.5, -0.5, 3.0])
case("hypot", torch.hypot, X, B2)
case("hypot", torch.hypot, BIG, BIG2)
case("logaddexp", torch.logaddexp, X, B2)
case("logaddexp", torch.logaddexp, [700.0, -800.0, 3.0, 1.0], [699.0, -801.0, 3.0, -40.0])
case("lerp", torch.lerp, X, B2, [[0.3, 0.7, 1.0], [-0.2, 0.5, 1.4]])
case("lerp_scalar_0.7", lambda a, b: torch.lerp(a, b, 0.7), X, B2)
case("addcmul_0.5", lambda x, a, b: torch.addcmul(x, a, b, value=0.5), X, B2, [[0.3], [-1.1]])
case("addcdiv_-1.5", lambda x, a, b: torch.addcdiv(x, a, b, value=-1.5), X, B2, [[0.3, 2.0, -1.1]])
MASK = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
case("masked_fill_2.5", lambda x: x.masked_fill(torch.tensor(MASK) != 0, 2.5), X)
case("clamp_min_0.45", lambda x: torch.clamp(x, min=0.45), X)
case("clamp_max_-0.3", lambda x: torch.clamp(x, max=-0.3), X)

# ---- activations (kinks included)
K = [[-4.0, -3.0, -1.0, 0.0], [0.5, 1.0, 3.0, 25.0]]
case("silu", F.silu, K)
case("mish", F.mish, K)
case("selu", F.selu, K)
case("celu_1.0", lambda x: F.celu(x, 1.0), K)
case("celu_1.3", lambda x: F.celu(x, 1.3), K)
case("logsigmoid", F.logsigmoid, [[-40.0, -3.0, -1.0, 0.0], [0.5, 1.0, 3.0, 40.0]])
case("softsign", F.softsign, K)
case("hardtanh", F.hardtanh, K)
case("hardtanh_-2_0.5", lambda x: F.hardtanh(x, -2.0, 0.5), K)
case("hardswish", F.hardswish, K)
case("softmin_1", lambda x: F.softmin(x, dim=1), K)
case("softmin_0", lambda x: F.softmin(x, dim=0), K)

# ---- reductions and scans
T = [[1.0, 3.0, 3.0], [-1.0, 3.0, 0.0]]
case("amax", lambda x: torch.amax(x), T)
case("amin", lambda x: torch.amin(x), [[1.0, -1.0, 3.0], [-1.0, 3.0, 0.0]])
case("amax_1", lambda x: torch.amax(x, dim=1), T)
case("amax_0_keep", lambda x: torch.amax(x, dim=0, keepdim=True), T)
case("amin_02", lambda x: torch.amin(x, dim=(0, 2)), [[[1.0, 2.0], [0.0, 5.0]], [[1.0, -2.0], [0.0, 4.0]]])
case("prod", torch.prod, X)
case("prod", torch.prod, [2.0, 0.0, 3.0, -1.5])
case("prod", torch.prod, [0.0, 2.0, 0.0, 3.0])
case("prod_1", lambda x: torch.prod(x, 1), [[2.0, 0.0, 3.0], [1.5, -2.0, 0.5], [0.0, 0.0, 4.0]])
case("prod_0_keep", lambda x: torch.prod(x, 0, keepdim=True), [[2.0, 0.0, 3.0], [1.5, -2.0, 0.5]])
case("cumsum_1", lambda x: torch.cumsum(x, 1), X)
case("cumsum_0", lambda x: torch.cumsum(x, 0), X)
case("cumprod_1", lambda x: torch.cumprod(x, 1), [[2.0, -0.5, 3.0, 1.5], [1.5, 0.0, 0.5, 2.0], [0.0, 2.0, 0.0, 3.0]])
case("cumprod_0", lambda x: torch.cumprod(x, 0), [[2.0, -0.5, 3.0], [1.5, 0.0, 0.5], [0.7, 2.0, -1.0]])
case("median", torch.median, [[1.0, 4.0, 2.0], [2.0, 9.0, -1.0]])
case("median", torch.median, [5.0, 1.0, 3.0, 2.0])
case("median_1", lambda x: torch.median(x, 1), [[1.0, 4.0, 2.0, 7.0], [2.0, 9.0, -1.0, 0.5]])
case("median_0_keep", lambda x: torch.median(x, 0, keepdim=True), [[1.0, 4.0], [2.0, 9.0], [-1.0, 3.0]])
case("sort_1", lambda x: torch.sort(x, dim=1, stable=True), [[3.0, 1.0, 3.0, 2.0, 1.0], [0.5, -1.0, 0.5, 0.5, 7.0]])
case("sort_1_desc", lambda x: torch.sort(x, dim=1, descending=True, stable=True), [[3.0, 1.0, 3.0, 2.0, 1.0], [0.5, -1.0, 0.5, 0.5, 7.0]])
case("sort_0", lambda x: torch.sort(x, dim=0, stable=True), [[3.0, 1.0], [1.0, 2.0], [2.0, -1.0]])
case("topk_2", lambda x: torch.topk(x, 2), [[3.0, 1.0, 4.0, 2.0, 0.0], [0.5, -1.0, 0.25, 6.0, 7.0]])
case("topk_3_smallest_0", lambda x: torch.topk(x, 3, dim=0, largest=False), [[3.0, 1.0], [1.5, 2.0], [2.0, -1.0], [0.0, 5.0]])
case("logsumexp_all", lambda x: torch.logsumexp(x, dim=(0, 1)), X)
case("var_all", torch.var, X)
case("std_all", torch.std, X)
case("norm_3_1", lambda x: torch.norm(x, 3, dim=1), X)
case("norm_2_0_keep", lambda x: torch.norm(x, 2, dim=0, keepdim=True), X)
case("norm_1_01", lambda x: torch.norm(x, 1, dim=(0, 1)), X)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops17.json")
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
os.replace(tmp, out)
print(f"wrote {len(cases)} cases to {out}")
