"""Golden values of Hybrid's losses from PyTorch (float64), printed as F# literals.

Run: /usr/bin/python3 tests/Properties/golden/make_losses.py
Paste the output into tests/Properties/LossTests.fs (module Golden). Inputs are fixed below and
repeated literally in the F# test.
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

X = [0.3, -1.2, 2.5, 0.05, -0.7, 1.1, -2.2, 0.9, 1.6, -0.4, 0.0, -3.1]       # [3,4]
Y = [0.1, -0.2, 2.0, 1.0, -0.75, 0.2, -1.0, 0.95, 0.4, -0.45, 0.6, -2.0]     # [3,4]
B = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.5, 0.25, 1.0, 0.0]            # [3,4] in [0,1]
T = [2, 0, 3]                                                                # classes of [3,4]
P = [0.1, 0.2, 0.3, 0.4, 0.5, 0.0, 0.25, 0.25, 0.7, 0.1, 0.1, 0.1]           # rows sum to 1
PW = [2.0, 0.5, 1.0, 3.0]                                                    # posWeight [4]


def t(v, grad=False):
    return torch.tensor(v).reshape(3, 4).requires_grad_(grad)


def fs(name, vals):
    body = "; ".join(repr(float(v)) for v in vals)
    print(f"    let {name} = [| {body} |]")


def case(name, f, grad_target=True):
    x, y = t(X, True), None
    out, y = f(x)
    # seed: ones for a scalar, fixed weights 1..n for a vector (so 'none' checks each element's grad)
    seed = torch.arange(1.0, out.numel() + 1).reshape(out.shape) if out.dim() > 0 else torch.tensor(1.0)
    gx, *gy = torch.autograd.grad(out, [x] + ([y] if (grad_target and y is not None and y.requires_grad) else []), seed)
    fs(name + "Value", out.detach().reshape(-1).tolist())
    fs(name + "GradInput", gx.reshape(-1).tolist())
    if gy:
        fs(name + "GradTarget", gy[0].reshape(-1).tolist())


def with_target(v, f):
    def g(x):
        y = t(v, True)
        return f(x, y), y
    return g


case("mseSum", with_target(Y, lambda x, y: F.mse_loss(x, y, reduction="sum")))
case("mseNone", with_target(Y, lambda x, y: F.mse_loss(x, y, reduction="none")))
case("l1Mean", with_target(Y, lambda x, y: F.l1_loss(x, y, reduction="mean")))
case("smoothL1Beta05Sum", with_target(Y, lambda x, y: F.smooth_l1_loss(x, y, beta=0.5, reduction="sum")))
case("smoothL1Beta2None", with_target(Y, lambda x, y: F.smooth_l1_loss(x, y, beta=2.0, reduction="none")))
case("huberDelta07Mean", with_target(Y, lambda x, y: F.huber_loss(x, y, delta=0.7, reduction="mean")))
case("huberDelta15Sum", with_target(Y, lambda x, y: F.huber_loss(x, y, delta=1.5, reduction="sum")))
case("nllSum", lambda x: (F.nll_loss(F.log_softmax(x, 1), torch.tensor(T), reduction="sum"), None))
case("nllMeanRaw", lambda x: (F.nll_loss(x, torch.tensor(T), reduction="mean"), None))
case("ceMean", lambda x: (F.cross_entropy(x, torch.tensor(T)), None))
case("ceSmooth01Mean", lambda x: (F.cross_entropy(x, torch.tensor(T), label_smoothing=0.1), None))
case("ceSmooth03None", lambda x: (F.cross_entropy(x, torch.tensor(T), label_smoothing=0.3, reduction="none"), None))
case("ceProbSmooth02Sum", with_target(P, lambda x, y: F.cross_entropy(x, y, label_smoothing=0.2, reduction="sum")))
case("ceProbMean", with_target(P, lambda x, y: F.cross_entropy(x, y)))
case("bceMean", with_target(B, lambda x, y: F.binary_cross_entropy_with_logits(x, y)))
case("bcePosWeightSum", with_target(B, lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.tensor(PW), reduction="sum")))
case("bcePosWeightNone", with_target(B, lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.tensor(PW), reduction="none")))
