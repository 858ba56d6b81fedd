"""The progress bar: tqdm's on a terminal and in Jupyter, one line per epoch in a log or a pipe."""
from __future__ import annotations

import sys
import time

from .callbacks import Callback


def format_record(record: dict, epochs: int | None = None) -> str:
    parts = [f"epoch {record['epoch'] + 1}" + (f"/{epochs}" if epochs else "")]
    for key, label, fmt in (("loss", "loss", ".4f"), ("accuracy", "acc", ".4f"), ("error", "rmse", ".4f"),
                            ("val_loss", "val_loss", ".4f"), ("val_accuracy", "val_acc", ".4f"),
                            ("val_error", "val_rmse", ".4f"), ("lr", "lr", ".3g"), ("seconds", "", ".2f")):
        v = record.get(key)
        if v is not None:
            parts.append(f"{label} {v:{fmt}}" if label else f"{v:{fmt}}s")
    return "  ".join(parts)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm draws a widget, or a line redrawn in place)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _tqdm_class():
    """tqdm's notebook widget in Jupyter when ipywidgets is installed (tqdm.auto), its text bar otherwise."""
    import importlib.util
    if in_notebook() and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm


class ProgressBar(Callback):
    """A progress bar over each epoch's batches, or one line per epoch.

    tqdm's bar on a terminal and in Jupyter (a widget when ipywidgets is installed); one line per
    epoch otherwise (a log file, a pipe).

    Parameters
    ----------
    verbose : int, default 1
        0 is silent.
    stream : file-like, optional
        Where to write (default: standard error).
    """

    def __init__(self, verbose: int = 1, stream=None):
        self.verbose = int(verbose)
        self.stream = stream
        self._bar = None

    def _out(self):
        return self.stream if self.stream is not None else sys.stderr

    def _use_tqdm(self) -> bool:
        out = self._out()
        if not ((hasattr(out, "isatty") and out.isatty()) or (self.stream is None and in_notebook())):
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
        return True

    def on_train_begin(self, trainer):
        self._tqdm = self.verbose > 0 and self._use_tqdm()

    def on_epoch_begin(self, trainer, epoch):
        if self.verbose <= 0 or not self._tqdm:
            return
        tqdm = _tqdm_class()
        self._bar = tqdm(total=trainer.batches_per_epoch, desc=f"epoch {epoch + 1}/{trainer.epochs}",
                         file=self._out(), leave=True, unit="batch", dynamic_ncols=True)
        self._last = time.perf_counter()

    def on_batch_end(self, trainer, epoch, batch, loss):
        if self._bar is not None:
            self._bar.update(1)
            now = time.perf_counter()
            if now - self._last > 0.25:
                self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                self._last = now

    def on_epoch_end(self, trainer, epoch, record):
        if self.verbose <= 0:
            return
        line = format_record(record, trainer.epochs)
        if self._bar is not None:
            self._bar.set_description_str(line)
            self._bar.close()
            self._bar = None
        else:
            print(line, file=self._out(), flush=True)

    def on_train_end(self, trainer):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.verbose > 0:
            h = trainer.history
            if h.interrupted:
                print(f"interrupted after epoch {trainer.completed_epochs}: weights kept", file=self._out())
            elif h.stopped_early:
                print(f"early stopping: best epoch {h.best_epoch + 1}", file=self._out())
