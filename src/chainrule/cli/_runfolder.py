"""A run folder written as a whole: ``chainrule train --out RUN`` never leaves RUN half old, half new.

A run is written into a sibling folder, ``RUN.partial``, and put in place only once complete:

- at the start, ``RUN.partial`` gets ``command.json`` (the command's settings, which ``--resume``
  continues with) and a marker file; with ``--checkpoint``, ``checkpoint.npz`` after every epoch;
- at the end the model, history, pictures and, last, ``config.json`` are written there, the
  checkpoint is removed, and ``RUN.partial`` replaces RUN (``io.atomic.replace_folder``: one
  atomic exchange on Linux, two renames elsewhere); the old run goes to ``.RUN.replaced`` and is
  deleted.

So whenever the process is killed, RUN holds the previous complete run (or nothing, on a first
run) or the new complete run, never a mix. ``recover`` finishes or cleans what a killed process
left, under the folder's lock, before anything else touches it: a complete ``RUN.partial`` is put
in place, a swapped-out old run is deleted. It tells the old run from the new by the marker:
every new run has it until it is in place, and recover removes it from RUN after a swap, so a
run in RUN never has it when the next run starts.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

from ._errors import UsageError

MARKER = ".chainrule-new-run"
_TEMP = re.compile(r"\.(.+)\.\d+-[0-9a-f]{8}\.[0-9a-f]{8}\.tmp")     # io.atomic's temporary files
COMMAND = "command.json"
CHECKPOINT = "checkpoint.npz"
#: what a run folder may hold (chainrule train's files, chainrule export's model.onnx, and the
#: bookkeeping of a run in progress): a folder holding anything else is not replaced
RUN_FILES = frozenset({"model.safetensors", "config.json", "history.json", "curves.png", "confusion.png",
                       "templates.png", "boundary.png", "mistakes.png", "filters.png", "feature_maps.png",
                       "model.onnx", COMMAND, CHECKPOINT, CHECKPOINT + ".lock", MARKER})
#: settings that say where a run goes, not what it computes: a resumed run takes them from its own
#: command line (a file never chooses where chainrule reads or writes)
PLACE_KEYS = ("out", "data_dir", "no_download", "resume", "checkpoint")
#: settings a resumed run keeps unless its command line gives them (they change no number it computes)
FREE_KEYS = ("quiet",)


class RunFolder:
    """The folder ``out`` of a run, its ``.partial`` sibling and the place of a replaced run."""

    def __init__(self, out):
        self.out = Path(out)
        full = Path(os.path.abspath(out))
        if not full.name:                                  # the root folder
            raise UsageError(f"--out {out} is the current folder or one above it; a run replaces its folder "
                             "whole: name a folder of its own, such as runs/mine")
        self.staging = full.with_name(full.name + ".partial")
        self.trash = full.with_name("." + full.name + ".replaced")

    @staticmethod
    def named(path) -> "RunFolder":
        """The run folder of RUN or of RUN.partial (both name the same run for --resume)."""
        path = Path(os.path.abspath(path)) if not Path(path).name else Path(path)
        if path.name.endswith(".partial") and len(path.name) > len(".partial"):
            path = path.with_name(path.name[: -len(".partial")])
        return RunFolder(path)

    @property
    def checkpoint(self) -> Path:
        return self.staging / CHECKPOINT

    def has_checkpoint(self) -> bool:
        return os.path.lexists(self.checkpoint)

    def staged_complete(self) -> bool:
        return (self.staging / MARKER).exists() and os.path.lexists(self.staging / "config.json")

    # -- what a killed process left ------------------------------------------------------------
    def recover(self) -> bool:
        """Finish a swap a kill interrupted, and delete a replaced run; True if a complete new run
        was put in place now. Call it holding the folder's lock."""
        placed = False
        if self.staged_complete():
            self._remove(self.checkpoint)
            self._remove(self.staging / COMMAND)
            self._clear_trash()
            from ..io.atomic import replace_folder
            replace_folder(self.staging, self.out, self.trash)
            placed = True
        if (self.out / MARKER).exists():               # swapped in: what sits at .partial is the old run
            if self.staging.exists() and not (self.staging / MARKER).exists():
                self._clear_trash()
                os.rename(self.staging, self.trash)
            self._remove(self.out / MARKER)
        self._clear_trash()
        return placed

    # -- a new run -------------------------------------------------------------------------------
    def start(self, settings: dict, command) -> None:
        """Create ``RUN.partial`` with the marker and ``command.json`` (a resume needs them), which
        also proves the folder writable before any data is loaded. A partial run without a
        checkpoint is replaced; one with a checkpoint is refused (``--resume`` continues it)."""
        from ..io.atomic import atomic_write_text

        if self.staging.exists() or self.staging.is_symlink():
            if self.has_checkpoint():
                raise UsageError(f"{self.staging} holds an unfinished run with a checkpoint: continue it with "
                                 f"chainrule train --resume {self.out}, or delete {self.staging} to start again")
            self._remove_tree(self.staging)
        try:
            self.staging.mkdir(parents=True)
            (self.staging / MARKER).write_bytes(b"")
            atomic_write_text(self.staging / COMMAND, json.dumps({"command": command, "settings": settings}, indent=1))
        except OSError as exc:
            self._remove_tree(self.staging)
            raise UsageError(f"--out {self.out}: cannot write a run there ({exc.strerror or exc}: "
                             f"{exc.filename or self.staging})") from None

    def check_replaceable(self) -> None:
        """Refuse an --out that a swap would take from the user: the current folder or one above it,
        or a folder holding files chainrule train did not write (they would be deleted with the old run)."""
        here, out = Path.cwd().resolve(), self.out.resolve()
        if out == here or out in here.parents:
            raise UsageError(f"--out {self.out} is the current folder or one above it; a run replaces its folder "
                             "whole: name a folder of its own, such as runs/mine")
        if not self.out.is_dir():
            return
        strangers = sorted(e.name for e in os.scandir(self.out) if e.name not in RUN_FILES and not _TEMP.fullmatch(e.name))
        if strangers:
            shown = ", ".join(strangers[:3]) + (f" and {len(strangers) - 3} more" if len(strangers) > 3 else "")
            raise UsageError(f"--out {self.out} holds files chainrule train did not write ({shown}); a run replaces "
                             "its folder whole, so choose an empty folder, a run folder, or another name")

    def stored_command(self) -> dict:
        """``command.json`` of the partial run (read through the guarded reader)."""
        from ..io.safe import UnsafeFileError, read_json

        try:
            stored = read_json(self.staging / COMMAND, "config", root=self.staging)
        except FileNotFoundError:
            raise UsageError(f"--resume {self.out}: {self.staging} has no {COMMAND}; it was not written by "
                             "chainrule train (delete it to start again)") from None
        except UnsafeFileError as exc:
            raise UsageError(f"--resume {self.out}: {self.staging / COMMAND} is refused: {exc.reason}") from None
        if not isinstance(stored, dict) or not isinstance(stored.get("settings"), dict):
            raise UsageError(f"--resume {self.out}: {self.staging / COMMAND} holds no settings; delete "
                             f"{self.staging} to start again")
        return stored

    def finish(self) -> None:
        """Put the complete ``RUN.partial`` (config.json written last) in place of RUN, without its
        checkpoint and command.json (config.json records the command and its settings), nor the
        temporary files of writers killed in it."""
        self._remove(self.checkpoint)
        self._remove(self.staging / COMMAND)
        self._remove_dead_temps()
        self.recover()

    # -- helpers ---------------------------------------------------------------------------------
    def _remove_dead_temps(self) -> None:
        """The temporary files that killed writers left in RUN.partial (``io.atomic``'s rule: only
        those whose writer is gone), such as a checkpoint's whose write a kill interrupted."""
        from ..io.atomic import remove_stale_temps

        for entry in os.scandir(self.staging):
            m = _TEMP.fullmatch(entry.name)
            if m is not None:
                remove_stale_temps(self.staging / m.group(1))

    def _clear_trash(self) -> None:
        self._remove_tree(self.trash)

    @staticmethod
    def _remove(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    @staticmethod
    def _remove_tree(path: Path) -> None:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)


def prepare_resume(args, folder: RunFolder, placed: bool, check):
    """``(checkpoint or None, the original command)`` for ``chainrule train --resume``, with ``args``
    given the run's stored settings and checked by ``check``; None when RUN is a complete run (said
    in one line). Called holding the folder's lock, after ``recover`` (``placed``: it completed a run)."""
    import sys

    from . import data

    if not folder.staging.exists():
        if placed or (folder.out / "config.json").exists():
            print(f"chainrule train: {folder.out} is a complete run; nothing to resume", file=sys.stderr)
            return None
        raise UsageError(f"--resume {args.resume}: no run to resume ({folder.staging} does not exist and "
                         f"{folder.out} holds no complete run)")
    stored = folder.stored_command()
    resume_settings(args, stored["settings"], folder)
    args.out, args.checkpoint = folder.out, args.checkpoint or bool(stored["settings"].get("checkpoint"))
    check(args)
    recorded = stored["settings"].get("data_dir")
    if isinstance(recorded, str) and args.dataset in data.FILE_SETS and (
            args.data_dir is None or Path(args.data_dir).resolve() != Path(recorded)):
        print(f"chainrule train: {folder.staging / COMMAND} records the data folder {recorded}; it is not used (a "
              f"file's settings never choose where chainrule reads or downloads data): give --data-dir {recorded} "
              "to use it", file=sys.stderr)
    if folder.has_checkpoint():
        print(f"resuming {folder.out} from {folder.checkpoint}", file=sys.stderr)
        return folder.checkpoint, stored.get("command")
    print(f"{folder.staging} holds no checkpoint yet (killed in its first epoch, or started without --checkpoint): "
          f"training {folder.out} again from its first epoch, with its settings", file=sys.stderr)
    return None, stored.get("command")


def resume_settings(args, stored: dict, folder: RunFolder) -> None:
    """Give ``args`` the stored settings of the run being resumed, refusing an option given on this
    command line that differs from it (each difference named). Where a run goes (``PLACE_KEYS``)
    comes from this command line only; ``FREE_KEYS`` from it when it gives them."""
    from ._settings import plain

    given = getattr(args, "given", set())
    diffs = []
    for key, value in stored.items():
        if key in PLACE_KEYS or not hasattr(args, key):
            continue
        mine = plain(getattr(args, key))
        if key in FREE_KEYS and key in given:
            continue
        if key in given and mine != value:
            diffs.append(f"--{key.replace('_', '-')}: the run has {_shown(value)}, this command {_shown(mine)}")
        else:
            setattr(args, key, tuple(value) if isinstance(value, list) else value)
    if diffs:
        raise UsageError(f"--resume {folder.out} continues a run with its own settings; this command changes them "
                         f"({'; '.join(diffs)}): leave them out, or start a new run with another --out")


def _shown(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "(default)" if value is None else str(value)
