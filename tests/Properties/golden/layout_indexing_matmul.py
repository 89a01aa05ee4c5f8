"""Golden values for LayoutTests / IndexingTests / LinalgTests (PyTorch 1.13, float64).
Run: /usr/bin/python3 tests/Properties/golden/layout_indexing_matmul.py
The printed arrays are pasted into the F# tests; the inputs are built from arange so both sides agree."""
import torch
torch.set_default_dtype(torch.float64)

def show(name, t):
    print(name, list(t.shape), "[|", "; ".join(repr(float(v)) for v in t.flatten().tolist()), "|]")

# matmul with broadcast batch dims, and its gradients for loss = sum(c * w)
a = (torch.arange(2 * 1 * 3 * 4) / 10.0).reshape(2, 1, 3, 4).requires_grad_()
b = (torch.arange(3 * 4 * 2) / 10.0 - 1.0).reshape(3, 4, 2).requires_grad_()
c = torch.matmul(a, b)
w = torch.cos(torch.arange(c.numel()).double()).reshape(c.shape)
(c * w).sum().backward()
show("matmul", c)
show("matmul.gradA", a.grad)
show("matmul.gradB", b.grad)

# matmul rank promotion: vector @ batch of matrices, matrix @ vector
v = torch.tensor([1.0, -2.0, 0.5])
m = torch.arange(2 * 3 * 2).reshape(2, 3, 2) / 4.0
show("vecmat", torch.matmul(v, m))
show("matvec", torch.matmul(m.transpose(-1, -2), v))

# linear: x [2,2,3], weight [4,3], bias [4]; loss = sum(y * y)
x = (torch.arange(12) / 6.0 - 1.0).reshape(2, 2, 3).requires_grad_()
W = (torch.arange(12) / 5.0 - 0.5).reshape(4, 3).requires_grad_()
bias = torch.tensor([0.1, -0.2, 0.3, -0.4], requires_grad=True)
y = torch.nn.functional.linear(x, W, bias)
(y * y).sum().backward()
show("linear", y)
show("linear.gradX", x.grad)
show("linear.gradW", W.grad)
show("linear.gradB", bias.grad)

# indexing on x = arange(12).reshape(3,4)
x = torch.arange(12.0).reshape(3, 4)
show("index_select", torch.index_select(x, 1, torch.tensor([3, 0, 3])))
show("index_add", x.index_add(0, torch.tensor([2, 0, 2]), torch.ones(3, 4)))
idx = torch.tensor([[0, 2], [1, 0], [2, 2]])
show("gather", torch.gather(x, 1, idx))
show("scatter_add", torch.zeros(3, 4).scatter_add(1, idx, torch.arange(6.0).reshape(3, 2) + 1))
show("one_hot", torch.nn.functional.one_hot(torch.tensor([[2, 0], [1, 2]]), 3).double())

# slices with Python's rules (torch has no negative steps, so lists give the reference)
xs = list(range(10))
print("slice 8:1:-3", xs[8:1:-3], " -7:100:2", xs[-7:100:2], " ::-1", xs[::-1], " 5:2:1", xs[5:2:1])
