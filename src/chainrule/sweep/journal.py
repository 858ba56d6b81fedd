"""The journal of a sweep: every finished fit, one record each, so that a sweep stopped by Ctrl-C,
a killed worker or a killed driver continues where it stopped without refitting anything.

Layout of a sweep folder::

    sweep.json                 the manifest: what is being swept (estimator, candidates, folds,
                               scoring, a SHA-256 of the data); a resume must match it exactly
    journal/p00003-f01.json    one record per finished fit (candidate 3, fold 1), written atomically

Each record is written by the driver alone (workers only return results), through
``io.atomic`` (a temporary file, fsync'ed, then renamed): a record is either whole or absent,
whatever kills the process and when. Appending costs one small file per fit, never a rewrite of
the records before it. A fit is done exactly when its record exists and holds no error, so a
record is never written twice (a result that arrives twice, as a rescheduled Dask task may, is
dropped).

A fit that raised is journaled too, as failed (its error and ``attempts``, the times it was
tried), so the results show it; a resumed sweep tries it again while ``attempts`` is below
``MAX_ATTEMPTS`` (a failure caused by the machine, such as memory, may pass; a bad value fails
every time, and three tries bound what it costs). Records are read through
``io.safe.read_json``: a FIFO, a huge or deeply nested record is refused, never read.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path

from ..io.atomic import atomic_write_text
from ..io.safe import read_json

FORMAT = "chainrule-sweep"
VERSION = 1
_RECORD = re.compile(r"p(\d{5,})-f(\d{2,})\.json")
#: how many times a failed fit is tried in all: once, then once more by each of up to two resumes
MAX_ATTEMPTS = 3


class SweepMismatch(ValueError):
    """``resume`` was asked for a folder that holds another sweep (other estimator, candidates,
    folds, scoring or data), or a folder that already holds a sweep without ``resume``."""


def data_digest(*arrays) -> str:
    """SHA-256 over the dtype, shape and bytes of each array (the data a sweep was run on)."""
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"\0none")
            continue
        a = np.ascontiguousarray(np.asarray(a))
        if a.dtype.kind == "O":
            h.update(repr(a.tolist()).encode())
        else:
            h.update(f"\0{a.dtype.str}\0{a.shape}\0".encode())
            h.update(a.tobytes())
    return h.hexdigest()


class Journal:
    """The manifest and the finished fits of one sweep folder."""

    def __init__(self, folder):
        """``folder=None``: no files, the records are kept in memory only."""
        self.folder = None if folder is None else Path(folder)
        self.records_dir = None if folder is None else self.folder / "journal"
        self.manifest_path = None if folder is None else self.folder / "sweep.json"
        self.done: dict[tuple[int, int], dict] = {}
        self._tried_now: set[tuple[int, int]] = set()     # fits recorded by this run (never twice)

    # -- opening --------------------------------------------------------------------------------
    def open(self, manifest: dict, resume: bool) -> "Journal":
        """Start a new journal, or (``resume``) check the folder holds this very sweep and read
        its finished fits. Refuses to mix two sweeps in one folder either way."""
        manifest = {"format": FORMAT, "version": VERSION, **manifest}
        self.done, self._tried_now = {}, set()
        if self.folder is None:                            # a sweep kept in memory only
            return self
        existing = self._read_manifest()
        if existing is None:
            if self.records_dir.exists() and any(self.records_dir.iterdir()):
                raise SweepMismatch(f"{self.folder} holds journal records but no sweep.json; "
                                    "remove the folder or choose another one")
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1, sort_keys=True))
        elif not resume and (existing != manifest or self._has_records()):   # an empty start may start again
            raise SweepMismatch(f"{self.folder} already holds a sweep; continue it with resume=True (--resume) "
                                "or choose another folder")
        elif resume:
            differ = [k for k in sorted(set(manifest) | set(existing)) if manifest.get(k) != existing.get(k)]
            if differ:
                raise SweepMismatch(f"{self.folder} holds another sweep: its {', '.join(differ)} differ from this "
                                    "one's; resume only the same sweep (same estimator, grid, folds, scoring and "
                                    "data), or choose another folder")
        self.records_dir.mkdir(parents=True, exist_ok=True)
        self.done = self._read_records(manifest["n_candidates"], manifest["n_splits"]) if resume else {}
        return self

    def _has_records(self) -> bool:
        return self.records_dir.is_dir() and any(_RECORD.fullmatch(e.name) for e in os.scandir(self.records_dir))

    def _read_manifest(self):
        if not os.path.lexists(self.manifest_path):
            return None
        try:
            data = read_json(self.manifest_path, "sweep", root=self.folder)
        except (OSError, ValueError) as exc:      # UnsafeFileError (a FIFO, too large, too deep...) is both
            raise SweepMismatch(f"{self.manifest_path} is not a readable sweep manifest: "
                                f"{getattr(exc, 'reason', exc)}; remove the folder or choose another one") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SweepMismatch(f"{self.manifest_path} is not a chainrule sweep manifest")
        return data

    def _read_records(self, n_candidates: int, n_splits: int) -> dict:
        done = {}
        for entry in sorted(os.scandir(self.records_dir), key=lambda e: e.name):
            m = _RECORD.fullmatch(entry.name)
            if m is None:
                continue                                  # a temporary file of a killed writer, or a stranger
            key = (int(m.group(1)), int(m.group(2)))
            try:
                record = read_json(entry.path, "journal", root=self.records_dir)
                ok = (isinstance(record, dict) and (record.get("candidate"), record.get("fold")) == key
                      and key[0] < n_candidates and key[1] < n_splits)
            except (OSError, ValueError):
                ok = False
            if not ok:
                warnings.warn(f"{entry.path} is not a valid record of this sweep; that fit will be run again",
                              UserWarning, stacklevel=3)
                continue
            done[key] = record
        return done

    # -- what is left to do -------------------------------------------------------------------
    def to_run(self, keys) -> list[tuple[int, int]]:
        """The fits of ``keys`` to run now: those without a record, and failed ones tried fewer than
        ``MAX_ATTEMPTS`` times (a journal read by ``open(resume=True)`` sees the earlier runs' failures)."""
        out = []
        for key in keys:
            record = self.done.get(key)
            if record is None or (record.get("error") is not None and _attempts(record) < MAX_ATTEMPTS
                                  and key not in self._tried_now):
                out.append(key)
        return out

    def failed(self) -> list[tuple[tuple[int, int], dict]]:
        """The failed fits, in key order."""
        return [(k, r) for k, r in sorted(self.done.items()) if r.get("error") is not None]

    # -- appending ------------------------------------------------------------------------------
    def record_path(self, key: tuple[int, int]) -> Path:
        return self.records_dir / f"p{key[0]:05d}-f{key[1]:02d}.json"

    def add(self, key: tuple[int, int], record: dict) -> bool:
        """Write the record of a finished or failed fit (atomically); False if that fit was recorded
        already in this run, or succeeded before. A failed record of an earlier run is replaced,
        its ``attempts`` carried on."""
        old = self.done.get(key)
        if old is not None and (old.get("error") is None or key in self._tried_now):
            return False
        record = {**record, "attempts": (_attempts(old) if old is not None else 0) + 1}
        if self.folder is not None:
            atomic_write_text(self.record_path(key), json.dumps(record, sort_keys=True))
        self.done[key] = record
        self._tried_now.add(key)
        return True


def _attempts(record: dict) -> int:
    n = record.get("attempts", 1)
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else 1
