"""Load chainrule model files into torch.nn with ``chainrule.io.to_torch`` (strictly) and compare outputs.

Run in the benchmark environment (make bench creates it):  .venv-bench/bin/python benchmarks/torch_interop.py
PyTorch is not a chainrule dependency; this script shows that ``io.to_torch`` (the README's
mapping, as one table) works for an MLP estimator, the lenet CNN and a ResNet with stochastic
depth (``chainrule.architectures``): every tensor loaded strictly, the same predictions from the
same file, the largest score difference, and the same gradients (float64) for one training step.
"""
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from chainrule import io, losses, optim, registry
from chainrule.architectures import lenet, resnet
from chainrule.datasets import load_digits
from chainrule.models import CNNClassifier, MLPClassifier
from chainrule.training import Trainer


def torch_network(spec):
    """The torch.nn module a chainrule ``Module.spec()`` describes (same state_dict names and shapes),
    in training mode, as ``chainrule.io.to_torch`` builds it (benchmarks/convnets.py uses this)."""
    return io.to_torch(registry.build_module(spec)).train()


def compare(name, ours, path, X) -> bool:
    """to_torch(model file): strict load (to_torch raises otherwise), then the same scores."""
    theirs = io.to_torch(path)
    assert not theirs.training
    with torch.no_grad():
        t = theirs(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))).numpy()
    diff = float(np.abs(ours - t).max())
    same = bool((ours.argmax(1) == t.argmax(1)).all())
    print(f"{name}: io.to_torch(model file) loaded strictly; largest |score difference| {diff:.2e}; "
          f"same predictions on all {len(X)} test images: {same}")
    return diff < 1e-4 * max(1.0, float(np.abs(t).max())) and same


def compare_gradients(name, net, shape) -> bool:
    """One training-mode forward and backward in float64 in both: loss, dL/dx, every parameter's
    gradient and the running statistics must agree to rounding."""
    rng = np.random.default_rng(0)
    tnet = io.to_torch(net).train()                 # float64, as the network
    x, y = rng.random(shape), rng.integers(0, 10, shape[0])
    loss = losses.SoftmaxLogLikelihood()
    value = loss.forward(net.forward(x), y)
    net.zero_grad()
    dx = net.backward(loss.backward(), need_input_grad=True)
    xt = torch.from_numpy(x).requires_grad_()
    value_t = torch.nn.functional.cross_entropy(tnet(xt), torch.from_numpy(y))
    value_t.backward()
    theirs = dict(tnet.named_parameters())
    worst = max([float(np.abs(dx - xt.grad.numpy()).max())]
                + [float(np.abs(p.grad - theirs[k].grad.numpy()).max()) for k, p in net.named_parameters()])
    stats = max((float(np.abs(v - tnet.state_dict()[k].numpy()).max()) for k, v in net.state_dict().items()
                 if "running" in k), default=0.0)
    print(f"{name}, float64 training step: loss {float(value):.12f} vs {value_t.item():.12f}; largest gradient "
          f"difference {worst:.1e}; running statistics {stats:.1e}")
    return abs(float(value) - value_t.item()) < 1e-12 and worst < 1e-12 and stats < 1e-12


def train_network(net, X, y, epochs):
    Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.05, momentum=0.9), batch_size=64,
            epochs=epochs, rng=0).fit(X, y)
    return net.eval()


def main() -> int:
    d = load_digits()
    Xtr, Xte = d.X_train.astype(np.float32) / 16.0, d.X_test.astype(np.float32) / 16.0
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        clf = MLPClassifier((64, 32), dropout=0.2, batch_norm=True, max_iter=20, random_state=0)
        clf.fit(Xtr.reshape(-1, 64), d.y_train)
        io.save(clf, Path(tmp) / "mlp.safetensors")
        ok &= compare("MLPClassifier", clf.decision_function(Xte.reshape(-1, 64)), Path(tmp) / "mlp.safetensors",
                      Xte.reshape(-1, 64))
        images_tr, images_te = Xtr[:, None], Xte[:, None]                  # (N, 1, 8, 8)
        for arch in ("lenet", "resnet"):                                   # the estimator's model file
            cnn = CNNClassifier(arch, width=8, blocks_per_stage=1, max_iter=3, batch_size=32, random_state=0)
            cnn.fit(images_tr, d.y_train)
            io.save(cnn, Path(tmp) / "cnn.safetensors")
            ok &= compare(f"CNNClassifier({arch!r})", cnn.decision_function(images_te), Path(tmp) / "cnn.safetensors",
                          images_te)
        for name, net in [("lenet", lenet(1, 10, 8, rng=0)),
                          ("resnet (stochastic depth)", resnet(1, 10, width=8, blocks_per_stage=2, rng=0))]:
            train_network(net, images_tr, d.y_train, epochs=3)
            path = Path(tmp) / "net.safetensors"
            io.save(net, path)
            ok &= compare(f"{name} ({torch.__version__})", net.forward(images_te), path, images_te)
    ok &= compare_gradients("lenet", lenet(1, 10, 28, rng=0, dtype=np.float64), (6, 1, 28, 28))
    ok &= compare_gradients("resnet", resnet(3, 10, width=4, blocks_per_stage=1, p_last=1.0, rng=0, dtype=np.float64),
                            (6, 3, 32, 32))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
