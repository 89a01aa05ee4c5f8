"""PyTorch reference for `hybrid train`: the same models, optimizer, batch size and data, timed per epoch.

Run with Debian's interpreter (PyTorch 1.13 on OpenBLAS): /usr/bin/python3 bench/train_torch.py --model mlp --epochs 1
Prints one line per epoch: "torch <model> epoch <k> seconds <s> test_accuracy <a>".
On a GPU machine: python3 bench/train_torch.py --model cnn --device cuda (batches are moved to the device one by one,
as `hybrid train --device cuda` does; the clock stops after a synchronize).

--loader picks how batches are made (the model, optimizer and step are the same in all three):
  lean        slices of the whole training set, converted to normalized float tensors once (no DataLoader): the
              fastest PyTorch loop we know, the default;
  dataloader  torch.utils.data.DataLoader(TensorDataset(x, y), batch_size, shuffle=True) over the same converted
              tensors: what `hybrid train` does (an in-memory Dataset, shuffled batches from a DataLoader);
  tutorial    torchvision.datasets.FashionMNIST with transforms ToTensor and Normalize, through a DataLoader: PyTorch's
              own quickstart pipeline (needs python3-torchvision; the files are unpacked once under $TMPDIR).
"""
import argparse, gzip, os, struct, time
import numpy as np
import torch
import torch.nn as nn

def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

def find(dirname, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(dirname, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(dirname, stem))

def load(dirname):
    x = read_idx(find(dirname, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = read_idx(find(dirname, "train-labels-idx1-ubyte")).astype(np.int64)
    xt = read_idx(find(dirname, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0
    yt = read_idx(find(dirname, "t10k-labels-idx1-ubyte")).astype(np.int64)
    norm = lambda a: (a - 0.2860) / 0.3530
    return torch.from_numpy(norm(x)).unsqueeze(1), torch.from_numpy(y), torch.from_numpy(norm(xt)).unsqueeze(1), torch.from_numpy(yt)

def model_of(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10))

def tutorial_set(dirname):
    """torchvision's FashionMNIST over the files in dirname (unpacked once into the raw/ folder torchvision reads)."""
    from torchvision import datasets, transforms
    import tempfile
    root = os.path.join(tempfile.gettempdir(), "hybrid-torchvision")
    raw = os.path.join(root, "FashionMNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        dst = os.path.join(raw, stem)
        if not os.path.exists(dst):
            src = find(dirname, stem)
            with (gzip.open if src.endswith(".gz") else open)(src, "rb") as f, open(dst + ".part", "wb") as g:
                g.write(f.read())
            os.replace(dst + ".part", dst)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
    return datasets.FashionMNIST(root, train=True, download=False, transform=tf)

def batches(a, data, x, y, epoch):
    """The epoch's (inputs, labels) batches, made as --loader says (data: the Dataset of the DataLoader ones)."""
    g = torch.Generator().manual_seed(epoch)
    if a.loader == "lean":
        order = torch.randperm(x.shape[0], generator=g)
        return ((x[idx], y[idx]) for idx in (order[i:i + a.batch_size] for i in range(0, x.shape[0], a.batch_size)))
    return torch.utils.data.DataLoader(data, batch_size=a.batch_size, shuffle=True, generator=g)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.environ.get("HYBRID_DATA", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--loader", default="lean", choices=["lean", "dataloader", "tutorial"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x, y, xt, yt = load(a.data)
    data = tutorial_set(a.data) if a.loader == "tutorial" else torch.utils.data.TensorDataset(x, y)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = model_of(a.model).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        for xb, yb in batches(a, data, x, y, epoch):
            opt.zero_grad()
            loss = loss_fn(model(xb.to(dev)), yb.to(dev))
            loss.backward()
            opt.step()
        sync()
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            acc = (model(xt.to(dev)).argmax(1).cpu() == yt).float().mean().item()
        print(f"torch {a.model} epoch {epoch + 1} seconds {secs:.3f} test_accuracy {acc:.4f} loader {a.loader}", flush=True)

if __name__ == "__main__":
    main()
