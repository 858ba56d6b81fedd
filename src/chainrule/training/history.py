"""History: what happened in every epoch, saved to and loaded from JSON."""
from __future__ import annotations

import json
import math

from ..io.atomic import atomic_write_text


class History:
    """What happened in every epoch of a run, and how the run ended.

    The records are dicts with ``epoch``, ``loss`` (the objective: data loss + penalties),
    ``data_loss``, ``accuracy`` or ``error``, ``val_loss``, ``val_accuracy`` or ``val_error``,
    ``lr`` and ``seconds``. ``history["loss"]`` is the list of one field over the epochs.

    Parameters
    ----------
    records : list of dict, optional
        The per-epoch records.
    **meta
        How the run ended: ``interrupted`` (Ctrl-C), ``diverged``, ``stopped_early``,
        ``best_epoch``, and ``info`` (a dict of anything else).
    """

    def __init__(self, records=None, **meta):
        self.records: list[dict] = list(records or [])
        self.interrupted = bool(meta.get("interrupted", False))
        self.diverged = bool(meta.get("diverged", False))
        self.stopped_early = bool(meta.get("stopped_early", False))
        self.best_epoch = meta.get("best_epoch")
        self.info: dict = dict(meta.get("info", {}))

    def append(self, record: dict) -> None:
        """Add one epoch's record (a copy).

        Parameters
        ----------
        record : dict
            The epoch's values.
        """
        self.records.append(dict(record))

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> list:
        if not self.records or all(key not in r for r in self.records):
            raise KeyError(f"history has no field {key!r}; fields: {self.fields()}")
        return [r.get(key) for r in self.records]

    def fields(self) -> list[str]:
        """Every field that appears in a record, in order of first appearance.

        Returns
        -------
        list of str
        """
        seen = []
        for r in self.records:
            for k in r:
                if k not in seen:
                    seen.append(k)
        return seen

    @property
    def last(self) -> dict:
        """The last epoch's record (an empty dict before the first epoch)."""
        return self.records[-1] if self.records else {}

    def to_dict(self) -> dict:
        """The history as standard JSON values (NaN and infinities written as strings).

        Returns
        -------
        dict
        """
        def clean(v):  # JSON has no NaN/inf: write them as strings so the file stays standard
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            return v

        return {
            "records": [{k: clean(v) for k, v in r.items()} for r in self.records],
            "interrupted": self.interrupted, "diverged": self.diverged,
            "stopped_early": self.stopped_early, "best_epoch": self.best_epoch, "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """Rebuild a history from ``to_dict()``.

        Parameters
        ----------
        d : dict
            What ``to_dict()`` returned (or its JSON, parsed).

        Returns
        -------
        History
        """
        def restore(v):
            if v in ("nan", "inf", "-inf"):
                return float(v)
            return v

        records = [{k: restore(v) for k, v in r.items()} for r in d.get("records", [])]
        return cls(records, **{k: d.get(k) for k in ("interrupted", "diverged", "stopped_early", "best_epoch")},
                   info=d.get("info", {}))

    def to_json(self) -> str:
        """The history as a JSON document.

        Returns
        -------
        str
        """
        return json.dumps(self.to_dict(), indent=1)

    def save(self, path) -> None:
        """Write the history as JSON, atomically (a temporary file, then a rename).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.
        """
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path) -> "History":
        """Read a history written by ``save``.

        Parameters
        ----------
        path : str or os.PathLike
            The JSON file.

        Returns
        -------
        History

        Raises
        ------
        ValueError
            If the file is not a history JSON file.
        """
        from ..io.safe import UnsafeFileError, read_json

        try:
            data = read_json(path, "history")       # a regular file, capped, depth and numbers bounded
        except UnsafeFileError as exc:
            raise ValueError(f"{path} is not a history JSON file: {exc.reason}") from None
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ValueError(f"{path} is not a history JSON file: {exc}") from None

    def __repr__(self) -> str:
        flags = [k for k in ("interrupted", "diverged", "stopped_early") if getattr(self, k)]
        return f"History({len(self)} epochs{', ' + ', '.join(flags) if flags else ''})"
