"""Checkpoints: everything a run needs to continue bit for bit, in one atomic .npz file.

NumPy's own format read with ``allow_pickle=False``: arrays (model, optimizer state, callback
memory) plus a JSON header stored as bytes (epochs done, generators' states, history).
"""
from __future__ import annotations

import json

import numpy as np

from .._atomic import atomic_open
from ..core.module import Module
from .callbacks import get_state_arrays
from .history import History

CHECKPOINT_FORMAT = "chainrule-checkpoint"
CHECKPOINT_VERSION = 1


def generators(model: Module, rng: np.random.Generator) -> list[np.random.Generator]:
    """The run's generator, then every distinct generator held by a module (dropout masks)."""
    gens, seen = [rng], {id(rng)}
    for m in model.modules():
        g = getattr(m, "rng", None)
        if isinstance(g, np.random.Generator) and id(g) not in seen:
            gens.append(g)
            seen.add(id(g))
    return gens


def write_checkpoint(trainer, path, completed_epochs: int) -> None:
    arrays = {f"model/{k}": v for k, v in trainer.model.state_dict().items()}
    opt_arrays, opt_meta = trainer.optimizer.state_dict()
    arrays.update({f"optim/{k}": v for k, v in opt_arrays.items()})
    cb_arrays, cb_meta = get_state_arrays(trainer.callbacks)
    arrays.update({f"callback/{k}": v for k, v in cb_arrays.items()})
    arrays.update({f"extra/{k}": np.asarray(v) for k, v in trainer.checkpoint_arrays.items()})
    meta = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
        "completed_epochs": completed_epochs, "epochs": trainer.epochs, "base_lr": trainer.base_lr,
        "divergence_ref": trainer._divergence_ref, "split_seed": trainer.split_seed, "optimizer": opt_meta,
        "generators": [g.bit_generator.state for g in generators(trainer.model, trainer.rng)],
        "history": trainer.history.to_dict(), "callbacks": cb_meta, "extra": trainer.checkpoint_extra,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def read_checkpoint(path):
    """(arrays, meta) of a checkpoint file; never unpickles anything."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError...
        raise ValueError(f"{path} is not a readable chainrule checkpoint: {exc}") from None
    if "meta" not in arrays:
        raise ValueError(f"{path} is not a chainrule checkpoint (no meta entry)")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} has a damaged checkpoint header: {exc}") from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a chainrule checkpoint (format {meta.get('format')!r})")
    return arrays, meta


def restore(trainer, path) -> None:
    """Put a checkpoint's model, optimizer, generators, callbacks and history into ``trainer``."""
    arrays, meta = read_checkpoint(path)
    trainer.model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
    trainer.optimizer.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("optim/")},
                                      meta["optimizer"])
    gens = generators(trainer.model, trainer.rng)
    states = meta["generators"]
    if len(states) != len(gens):
        raise ValueError(f"checkpoint holds {len(states)} random generators; this run has {len(gens)}")
    for g, st in zip(gens, states):
        g.bit_generator.state = st
    cb_meta = meta.get("callbacks", {})
    for i, cb in enumerate(trainer.callbacks):
        if str(i) in cb_meta:
            prefix = f"callback/{i}."
            cb.set_state({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}, cb_meta[str(i)])
    trainer.history = History.from_dict(meta["history"])
    trainer.history.interrupted = False
    trainer.base_lr = meta["base_lr"]
    trainer._divergence_ref = meta.get("divergence_ref")
    trainer.split_seed = meta.get("split_seed")
    trainer.start_epoch = trainer.completed_epochs = int(meta["completed_epochs"])
    trainer.checkpoint_extra = meta.get("extra", {})
    trainer.checkpoint_arrays = {k[6:]: v for k, v in arrays.items() if k.startswith("extra/")}
