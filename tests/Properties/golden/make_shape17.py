"""Golden values for ShapeOpsTests (issue 17's shape and linear-algebra ops), from PyTorch 1.13 in float64.
Run: /usr/bin/python3 tests/Properties/golden/make_shape17.py   (writes shape17.json beside this script)

Each case names an op the F# test rebuilds by name, its inputs (shape and values), its output, and the gradient
of every input for the loss sum(y * w) with w = cos(arange(numel(y))) in y's shape. Inputs are seeded normals;
some cases place exact zeros, ties and repeated rows on purpose (zero distances, tiny norms)."""
import json, math, os
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(17)

def randn(*shape):
    return torch.randn(*shape, generator=gen)

cases = []

def case(name, fn, *inputs):
    xs = [x.clone().detach().requires_grad_() for x in inputs]
    y = fn(*xs)
    w = torch.cos(torch.arange(y.numel(), dtype=torch.float64)).reshape(y.shape)
    (y * w).sum().backward()
    def enc(t):
        return {"shape": list(t.shape), "data": [float(v) for v in t.detach().flatten().tolist()]}
    cases.append({
        "name": name,
        "inputs": [enc(x) for x in xs],
        "output": enc(y),
        "grads": [enc(x.grad if x.grad is not None else torch.zeros_like(x)) for x in xs],
    })

# ---- structure
case("flip_0_2", lambda x: torch.flip(x, (0, 2)), randn(2, 3, 4))
case("flip_-1", lambda x: torch.flip(x, (-1,)), randn(3, 4))
case("roll_1_-2_dims_0_1", lambda x: torch.roll(x, (1, -2), (0, 1)), randn(3, 4, 2))
case("roll_flat_5", lambda x: torch.roll(x, 5), randn(3, 4))
case("roll_-7_dim_0", lambda x: torch.roll(x, -7, 0), randn(5))
case("narrow_1_-3_2", lambda x: torch.narrow(x, 1, -3, 2), randn(4, 5))
case("repeat_2_1_3", lambda x: x.repeat(2, 1, 3), randn(2, 3))
case("repeat_0_2", lambda x: x.repeat(0, 2), randn(2, 3))
case("tile_2", lambda x: torch.tile(x, (2,)), randn(2, 3))
case("tile_2_2", lambda x: torch.tile(x, (2, 2)), randn(3))
case("tril_0", lambda x: torch.tril(x), randn(3, 4))
case("tril_-1", lambda x: torch.tril(x, -1), randn(2, 3, 4))
case("triu_1", lambda x: torch.triu(x, 1), randn(4, 3))
case("triu_-2", lambda x: torch.triu(x, -2), randn(3, 5))
case("diag_vec_0", lambda x: torch.diag(x), randn(3))
case("diag_vec_2", lambda x: torch.diag(x, 2), randn(3))
case("diag_vec_-1", lambda x: torch.diag(x, -1), randn(3))
case("diag_mat_1", lambda x: torch.diag(x, 1), randn(3, 4))
case("diag_mat_-2", lambda x: torch.diag(x, -2), randn(4, 3))
case("diagonal_1_2_0", lambda x: torch.diagonal(x, 1, 2, 0), randn(2, 3, 4))
case("diagonal_-1_1_2", lambda x: torch.diagonal(x, -1, 1, 2), randn(3, 4, 5))
case("trace", lambda x: torch.trace(x), randn(3, 4))

# ---- products
case("outer", lambda u, v: torch.outer(u, v), randn(3), randn(4))
case("mm", lambda a, b: torch.mm(a, b), randn(3, 4), randn(4, 2))
case("bmm", lambda a, b: torch.bmm(a, b), randn(2, 3, 4), randn(2, 4, 5))
case("linear", lambda x, w, b: F.linear(x, w, b), randn(2, 3, 4), randn(5, 4), randn(5))
case("linear_nobias", lambda x, w: F.linear(x, w), randn(3, 4), randn(2, 4))

# ---- einsum: the name after "einsum:" is the equation
def es(eq, *shapes):
    case("einsum:" + eq, lambda *xs: torch.einsum(eq, *xs), *[randn(*s) for s in shapes])

es("ij,jk->ik", (3, 4), (4, 2))
es("ij,jk", (3, 4), (4, 2))
es("bij,bjk->bik", (2, 3, 4), (2, 4, 5))
es("bij,bkj->bik", (2, 3, 4), (2, 5, 4))
es("i,j->ij", (3,), (4,))
es("i,i", (5,), (5,))
es("ij,ij->i", (3, 4), (3, 4))
es("ij,ij->ij", (3, 4), (3, 4))
es("ii->i", (4, 4))
es("ii", (4, 4))
es("iij->j", (3, 3, 2))
es("ij->ji", (3, 4))
es("ij->", (3, 4))
es("ijk->kij", (2, 3, 4))
es("bn,anm,bm->ba", (2, 3), (4, 3, 5), (2, 5))
es("...ij,...jk->...ik", (2, 1, 3, 4), (5, 4, 2))
es("abc,cd", (2, 3, 4), (4, 5))
es("ijk,ikl->jl", (2, 3, 4), (2, 4, 5))
es("ij,kl->ijkl", (2, 3), (2, 2))
es("i...,i...->...", (3, 2, 2), (3, 2, 2))
es("bij,j->bi", (2, 3, 4), (4,))
es("...ij->ij", (2, 3, 4))
es("ij,jk", (3, 1), (4, 2))
es("Ab,ba", (2, 3), (3, 2))
es("b...,b...->b", (2, 3), (2, 1))

# ---- distances (a repeated row gives zero distances)
a = randn(4, 3)
b = torch.cat([a[1:2], randn(4, 3)])
for p in [2.0, 1.0, 3.0, 0.5, float("inf"), 0.0]:
    case("cdist:%s" % p, lambda x1, x2, p=p: torch.cdist(x1, x2, p=p), a, b)
case("cdist_batch:2.0", lambda x1, x2: torch.cdist(x1, x2), randn(2, 3, 4), randn(1, 5, 4))
case("cosine_similarity_1", lambda x1, x2: F.cosine_similarity(x1, x2), randn(3, 4), randn(3, 4))
case("cosine_similarity_-1_broadcast", lambda x1, x2: F.cosine_similarity(x1, x2, dim=-1), randn(2, 3, 4), randn(3, 4))
tiny = torch.tensor([[3.0, 4.0], [1e-9, 0.0], [1e-10, -2e-10]])
case("cosine_similarity_1_tiny", lambda x1, x2: F.cosine_similarity(x1, x2), tiny, torch.tensor([[1e-9, 0.0], [3.0, 4.0], [1e-10, 1e-10]]))
case("normalize_2_1", lambda x: F.normalize(x), randn(3, 4))
case("normalize_1_0", lambda x: F.normalize(x, p=1.0, dim=0), randn(3, 4))
case("normalize_3_-1", lambda x: F.normalize(x, p=3.0, dim=-1), randn(2, 3, 4))
case("normalize_2_1_zero_row", lambda x: F.normalize(x), torch.cat([randn(2, 3), torch.zeros(1, 3)]))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shape17.json")
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=0)
os.replace(tmp, out)
print("wrote %d cases to %s" % (len(cases), out))
