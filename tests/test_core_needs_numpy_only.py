"""The differentiable core and the training loop need NumPy only (the other packages are extras)."""
import subprocess
import sys
import textwrap


def test_core_imports_and_trains_with_every_other_package_blocked():
    code = textwrap.dedent("""
        import sys
        class Block:
            BLOCKED = ("sklearn", "scipy", "matplotlib", "tqdm", "safetensors", "skimage", "threadpoolctl",
                       "platformdirs", "pandas", "PIL", "torch")
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in self.BLOCKED:
                    raise ImportError(f"blocked for this test: {name}")
                return None
        sys.meta_path.insert(0, Block())
        import numpy as np
        from chainrule import grad, losses, nn, optim, regularizers
        from chainrule.training import EarlyStopping, Trainer
        rng = np.random.default_rng(0)
        X = rng.standard_normal((200, 4)).astype(np.float32)
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
        net = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Dropout(0.1, rng=1), nn.Linear(8, 2, rng=2))
        net[0].weight.regularizer = regularizers.L2(1e-3)
        h = Trainer(net, losses.SoftmaxLogLikelihood(), optim.SGD(net, lr=0.1, momentum=0.9), batch_size=32,
                    epochs=20, rng=0, verbose=1, callbacks=[EarlyStopping(3)]).fit(X, y, validation_fraction=0.2)
        assert h["accuracy"][-1] > 0.9, h["accuracy"]
        net64 = nn.Sequential(nn.Linear(4, 3, rng=0, dtype=np.float64), nn.Tanh())
        assert grad.check_gradients(net64, rng.standard_normal((5, 4))).passed
        print("ok", sorted(m for m in ("sklearn", "scipy", "matplotlib", "tqdm") if m in sys.modules))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok []")
    assert "epoch 1/20" in result.stderr          # progress lines work without tqdm
