"""Checkpoints: everything a run needs to continue bit for bit, in one atomic .npz file.

NumPy's own format read with ``allow_pickle=False``: arrays (model, optimizer state, callback
memory) plus a JSON header stored as bytes (epochs done, generators' states, history, and the
run's settings). A run resumes only with the settings it was written with: ``restore`` compares
them and refuses a checkpoint of another run with one message naming every difference.
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from .._compiled import workers
from ..io.atomic import atomic_open
from ..io.safe import cap, loads_json
from ..io.safe_arrays import load_npz_capped
from .callbacks import get_state_arrays
from .history import History

CHECKPOINT_FORMAT = "chainrule-checkpoint"
CHECKPOINT_VERSION = 2


def generators(trainer) -> list[np.random.Generator]:
    """The run's generator, then every distinct generator the model's modules draw from."""
    gens = [trainer.rng]
    gens += [g for g in trainer.model.all_generators() if g is not trainer.rng]
    return gens


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def run_settings(trainer) -> dict:
    """Every setting that changes the bits of a run, as JSON-able values."""
    opt = trainer.optimizer
    loss = trainer.loss
    loss_config = {k: v for k, v in vars(loss).items() if not k.startswith("_")}
    penalties = {name: [repr(p.regularizer), repr(p.constraint)] for name, p in trainer.model.named_parameters()
                 if p.regularizer is not None or p.constraint is not None}
    seed = None
    if trainer.initial_rng_state is not None:
        seed = hashlib.sha256(json.dumps(trainer.initial_rng_state, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return _jsonable({
        "model": trainer.model.spec(),
        "loss": {"type": type(loss).__name__, **loss_config},
        "optimizer": {"type": type(opt).__name__, **opt.hyperparameters(), "lr": trainer.base_lr},
        "lr_schedule": trainer.schedule.to_config(),
        "batch_size": trainer.batch_size,
        **({} if trainer.shuffle else {"shuffle": False}),   # absent when shuffled (older checkpoints)
        **({"penalty_per_batch": True} if trainer.penalty_per_batch else {}),   # absent when off (the same)
        "epochs": trainer.epochs,
        "task": trainer.task,
        "divergence_factor": trainer.guard.factor,
        "penalties": penalties,
        "seed": seed,
    })


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        out = {f"{prefix}.length": len(value)}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}.{i}"))
        return out
    return {prefix: value}


def settings_differences(stored: dict, current: dict) -> list[str]:
    """'name: checkpoint X, this run Y' for every setting that differs (the seed only when both know it)."""
    a, b = _flatten(stored), _flatten(current)
    diffs = []
    for key in list(a) + [k for k in b if k not in a]:
        if key == "seed" and (a.get(key) is None or b.get(key) is None):
            continue
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            what = "the random seed" if key == "seed" else key
            diffs.append(f"{what}: checkpoint {a.get(key, '<absent>')!r}, this run {b.get(key, '<absent>')!r}")
    return diffs


def write_checkpoint(trainer, path, completed_epochs: int) -> None:
    arrays = {f"model/{k}": v for k, v in trainer.model.state_dict().items()}
    opt_arrays, opt_meta = trainer.optimizer.state_dict()
    arrays.update({f"optim/{k}": v for k, v in opt_arrays.items()})
    cb_arrays, cb_meta = get_state_arrays(trainer.callbacks)
    arrays.update({f"callback/{k}": v for k, v in cb_arrays.items()})
    arrays.update({f"extra/{k}": np.asarray(v) for k, v in trainer.checkpoint_arrays.items()})
    meta = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
        "completed_epochs": completed_epochs, "settings": run_settings(trainer),
        "divergence_ref": trainer.guard.reference, "split_seed": trainer.split_seed, "optimizer": opt_meta,
        "generators": [g.bit_generator.state for g in generators(trainer)],
        "history": trainer.history.to_dict(), "callbacks": cb_meta, "extra": trainer.checkpoint_extra,
        # BLAS's threads of a run with threads "auto" (None otherwise): a resumed run takes them again
        "blas_threads": workers.run_blas_threads(),
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def read_checkpoint(path):
    """(arrays, meta) of a checkpoint file; never unpickles anything.

    The file must be a regular file of at most ``io.safe.cap("checkpoint")`` bytes
    (``CHAINRULE_MAX_CHECKPOINT_BYTES``). Checkpoints are written uncompressed, so a genuine one
    holds about its own size in arrays: the archive is refused before anything is decompressed
    if it declares more than twice its size plus 16 MB, or more than 100,000 entries
    (``io.safe_arrays.load_npz_capped``). The header is JSON read with a depth and a number-length
    limit (``io.safe.loads_json``). Every error is a ``ValueError`` that names the file."""
    try:
        size = os.stat(path).st_size
        limit = cap("checkpoint")
        if size > limit:
            raise ValueError(f"must be at most {limit:,} bytes; got {size:,} (if it is genuine, raise the limit with "
                             "CHAINRULE_MAX_CHECKPOINT_BYTES)")
        arrays = load_npz_capped(path, max_total_bytes=2 * size + 16 * 2**20, max_members=100_000,
                                 root=os.path.dirname(os.path.abspath(path)))
    except FileNotFoundError:
        raise
    except Exception as exc:  # UnsafeFileError, zipfile.BadZipFile, ValueError, OSError...
        raise ValueError(f"{path} is not a readable chainrule checkpoint: {getattr(exc, 'reason', exc)}") from None
    if "meta" not in arrays:
        raise ValueError(f"{path} is not a chainrule checkpoint (no meta entry)")
    try:
        meta = loads_json(arrays.pop("meta").tobytes(), f"{path}: its header")
    except ValueError as exc:
        raise ValueError(f"{path} has a damaged checkpoint header: {getattr(exc, 'reason', exc)}") from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a chainrule checkpoint (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} is a checkpoint of format version {meta.get('version')!r}; this chainrule reads "
                         f"version {CHECKPOINT_VERSION} (start the run again, or resume it with the chainrule that wrote it)")
    return arrays, meta


def _check_meta(path, meta, trainer) -> None:
    """Refuse impossible values and a run with other settings, naming each difference."""
    done = meta.get("completed_epochs")
    if isinstance(done, bool) or not isinstance(done, int) or done < 0:
        raise ValueError(f"{path}: completed_epochs must be an integer >= 0; got {done!r}")
    stored = meta.get("settings")
    if not isinstance(stored, dict):
        raise ValueError(f"{path} holds no run settings to compare with; it cannot be resumed safely")
    diffs = settings_differences(stored, run_settings(trainer))
    if diffs:
        raise ValueError(f"{path} was written by a run with other settings; resuming would not continue it. "
                         "Differences: " + "; ".join(diffs))
    if done > trainer.epochs:
        raise ValueError(f"{path}: completed_epochs ({done}) is beyond the run's epochs ({trainer.epochs})")


def restore(trainer, path) -> None:
    """Put a checkpoint's model, optimizer, generators, callbacks and history into ``trainer``."""
    arrays, meta = read_checkpoint(path)
    _check_meta(path, meta, trainer)
    gens = generators(trainer)
    states = meta["generators"]
    if not isinstance(states, list) or len(states) != len(gens):
        raise ValueError(f"{path} holds {len(states) if isinstance(states, list) else 'no'} random generators; "
                         f"this run has {len(gens)}")
    trainer.model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
    trainer.optimizer.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("optim/")},
                                      meta["optimizer"])
    trainer.optimizer.zero_grad()
    for g, st in zip(gens, states):
        g.bit_generator.state = st
    cb_meta = meta.get("callbacks", {})
    for i, cb in enumerate(trainer.callbacks):
        if str(i) in cb_meta:
            prefix = f"callback/{i}."
            cb.set_state({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}, cb_meta[str(i)])
    trainer.history = History.from_dict(meta["history"])
    trainer.history.interrupted = False
    trainer.guard.reference = meta.get("divergence_ref")
    trainer.split_seed = meta.get("split_seed")
    trainer.start_epoch = trainer.completed_epochs = int(meta["completed_epochs"])
    trainer.checkpoint_extra = meta.get("extra", {})
    workers.follow_run(meta.get("blas_threads"))          # absent in checkpoints before 0.2: None
    trainer.checkpoint_arrays = {k[6:]: v for k, v in arrays.items() if k.startswith("extra/")}
