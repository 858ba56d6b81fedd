"""Load a chainrule model file into an equivalent torch.nn.Sequential and compare predictions.

Run in the benchmark environment (make bench creates it):  .venv-bench/bin/python benchmarks/torch_interop.py
PyTorch is not a chainrule dependency; this script shows the README's mapping works.
"""
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from chainrule import io
from chainrule.datasets import load_digits
from chainrule.models import MLPClassifier


def torch_equivalent(arch):
    """The torch.nn.Sequential matching chainrule.io.architecture(model)."""
    layers = []
    for cfg in arch:
        kind = cfg["type"]
        if kind == "Linear":
            layers.append(torch.nn.Linear(cfg["in_features"], cfg["out_features"], bias=cfg["bias"]))
        elif kind == "BatchNorm1d":
            layers.append(torch.nn.BatchNorm1d(cfg["num_features"], eps=cfg["eps"], momentum=cfg["momentum"]))
        elif kind == "Dropout":
            layers.append(torch.nn.Dropout(cfg["p"]))
        elif kind == "ReLU":
            layers.append(torch.nn.ReLU())
        elif kind == "LeakyReLU":
            layers.append(torch.nn.LeakyReLU(cfg["negative_slope"]))
        else:
            layers.append({"Sigmoid": torch.nn.Sigmoid, "Tanh": torch.nn.Tanh, "Identity": torch.nn.Identity,
                           "Softmax": lambda: torch.nn.Softmax(dim=-1)}[kind]())
    return torch.nn.Sequential(*layers)


def main() -> int:
    d = load_digits()
    Xtr, Xte = d.X_train.reshape(-1, 64) / 16.0, d.X_test.reshape(-1, 64) / 16.0
    clf = MLPClassifier((64, 32), dropout=0.2, batch_norm=True, max_iter=20, random_state=0).fit(Xtr, d.y_train)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.safetensors"
        io.save(clf, path)
        state = {k: v for k, v in load_file(str(path)).items() if not k.startswith("extra.")}
        net = torch_equivalent(io.architecture(clf.model_))
        net.load_state_dict(state, strict=True)   # every name and shape must match
    net.eval()
    with torch.no_grad():
        ours = clf.decision_function(Xte)
        theirs = net(torch.from_numpy(Xte.astype(np.float32))).numpy()
    diff = float(np.abs(ours - theirs).max())
    same = bool((ours.argmax(1) == theirs.argmax(1)).all())
    print(f"torch {torch.__version__}: strict load_state_dict ok; largest |score difference| {diff:.2e}; "
          f"same predictions on all {len(Xte)} test images: {same}")
    return 0 if diff < 1e-4 and same else 1


if __name__ == "__main__":
    sys.exit(main())
