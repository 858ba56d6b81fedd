"""Getting data files onto disk safely: verified against pinned sizes and SHA-256 sums before a
byte is parsed, downloaded to a temporary file and installed only when whole and verified (never
over an existing file), from the canonical source first and then the mirrors.

Files are opened with ``open_regular``: a FIFO, a device or a link out of the data folder is
refused without being read. Nothing is deleted unless chainrule downloaded it into its own cache
(``ownership.py``); a bad file anywhere else is named, with what was expected, and left alone.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ..io.safe import UnsafeFileError, open_regular
from ..errors import DatasetCorrupt, DatasetMissing
from . import ownership
from .spec import DatasetSpec, RemoteFile

CHUNK = 1 << 20
USER_AGENT = "chainrule-datasets/0.1 (+https://pypi.org/project/chainrule)"


def _sha256(f) -> str:
    h = hashlib.sha256()
    for block in iter(lambda: f.read(CHUNK), b""):
        h.update(block)
    return h.hexdigest()


def check_file(path: Path, remote: RemoteFile, *, root=None) -> str | None:
    """What is wrong with a local file, or None if it has the pinned size and SHA-256.

    The file must be a regular file (inside ``root`` if given); it is never read past its size.

    Parameters
    ----------
    path : pathlib.Path
        The local file.
    remote : RemoteFile
        Its expected name, size and SHA-256.
    root : str or os.PathLike, optional
        If given, the file must lie inside this folder (no symbolic link out of it).

    Returns
    -------
    str or None
        What is wrong (``"is missing"``, ``"has SHA-256 ..., expected ..."``...), or None when valid.
    """
    try:
        f = open_regular(path, root=root)
    except UnsafeFileError as exc:
        return exc.reason
    except FileNotFoundError:
        return "is missing (a broken link?)" if os.path.lexists(path) else "is missing"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    with f:
        size = os.fstat(f.fileno()).st_size
        if size != remote.size:
            what = "is empty" if size == 0 else f"has {size:,} bytes"
            hint = ""
            if 0 < size < 4096:
                head = f.read(256).lstrip().lower()
                if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
                    hint = " (it is an HTML page: the server sent an error or login page instead of the file)"
            return f"{what}, expected {remote.size:,}{hint}"
        digest = _sha256(f)
    if digest != remote.sha256:
        return f"has SHA-256 {digest}, expected {remote.sha256}"
    return None


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError, PermissionError, OSError):
        path.unlink()


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, file=sys.stderr,
                leave=False, disable=not sys.stderr.isatty())


def _download(url: str, dest_dir: Path, remote: RemoteFile, progress: bool, timeout: float) -> Path:
    """Fetch ``url`` into a temporary file in ``dest_dir``; verify; return the temporary path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{remote.name}.", suffix=".part", dir=dest_dir)
    tmp = Path(tmp)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and int(declared) > 4 * remote.size + (1 << 20):
                raise DatasetCorrupt(f"{url} announces {int(declared):,} bytes, expected {remote.size:,}")
            bar = _progress(remote.size, remote.name, progress)
            received = 0
            try:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    received += len(block)
                    if received > 4 * remote.size + (1 << 20):
                        raise DatasetCorrupt(f"{url} sent more than {remote.size:,} bytes; stopped reading")
                    out.write(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
            out.flush()
            os.fsync(out.fileno())
        if declared is not None and received < int(declared):
            raise DatasetCorrupt(f"{url} was cut off after {received:,} of {int(declared):,} bytes")
        problem = check_file(tmp, remote)
        if problem:
            raise DatasetCorrupt(f"{url} {problem}")
        return tmp
    except BaseException:
        _remove(tmp)
        raise


def _install(tmp: Path, path: Path) -> None:
    """Put the verified download ``tmp`` at ``path`` without replacing anything already there."""
    try:
        os.link(tmp, path)                  # fails if ``path`` exists, even as a dangling link
    except OSError as exc:                  # or no hard links here (FAT, some network drives)
        if isinstance(exc, FileExistsError) or os.path.lexists(path):
            _remove(tmp)
            raise DatasetCorrupt(f"{path} appeared while it was being downloaded; left it alone") from None
        os.replace(tmp, path)
    else:
        _remove(tmp)


def _reject(path: Path, remote: RemoteFile, problem: str, folder: Path, owned: bool) -> str:
    """Remove a bad file if chainrule downloaded it into its own cache; say what was done."""
    if owned and ownership.wrote(folder, path):
        _remove(path)
        if os.path.lexists(path):
            return f"{path} {problem}; could not remove it"
        ownership.forget(folder, remote.name)
        return f"{path} {problem}; removed"
    why = "chainrule did not download it" if owned else "chainrule deletes nothing outside its own cache"
    return (f"{path} {problem}; left untouched ({why}): move it away or replace it with the genuine file "
            f"({remote.size:,} bytes, SHA-256 {remote.sha256})")


def fetch(spec: DatasetSpec, folder, files=None, *, download: bool = True, mirrors=(), progress: bool = True,
          timeout: float = 60.0) -> dict[str, Path]:
    """Make sure every file of ``spec`` (or ``files``, a subset) is in ``folder`` and verified.

    Files already present are verified. One that fails is removed (and downloaded again if
    ``download``) only if chainrule downloaded it into its own cache folder; anywhere else it is
    named in the error, with the expected size and SHA-256, and left alone. Downloads go to a
    temporary file, are verified, then renamed: an interrupted download leaves nothing behind.
    Nothing is parsed here.

    Parameters
    ----------
    spec : DatasetSpec
        The data set (``MNIST``, ``CIFAR10_BINARY``...).
    folder : str or os.PathLike
        Where the files are kept.
    files : sequence of str, optional
        Only these file names (default: all of the spec's).
    download : bool, default True
        Download missing or invalid cached files.
    mirrors : sequence of str, default ()
        Base URLs tried after the spec's own sources.
    progress : bool, default True
        Show download progress.
    timeout : float, default 60.0
        Seconds before a stalled connection is given up.

    Returns
    -------
    dict
        ``{file name: pathlib.Path}`` of the verified files.

    Raises
    ------
    DatasetMissing
        If a file is absent and could not be downloaded.
    DatasetCorrupt
        If a file is present but invalid and not chainrule's to replace.
    """
    folder = Path(folder)
    owned = ownership.owns(folder, spec)
    wanted = tuple(files) if files is not None else spec.files
    bases = tuple(spec.urls) + tuple(mirrors or ())
    paths, rejected = {}, []
    for remote in wanted:
        path = folder / remote.name
        if os.path.lexists(path):
            problem = check_file(path, remote, root=folder)
            if problem is None:
                paths[remote.name] = path
                continue
            rejected.append(_reject(path, remote, problem, folder, owned))
            if os.path.lexists(path):
                continue                    # not ours to replace
        if not download:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        attempts = []
        for base in bases:
            url = base.rstrip("/") + "/" + remote.name
            try:
                tmp = _download(url, folder, remote, progress, timeout)
            except urllib.error.HTTPError as exc:
                attempts.append(f"{url}: HTTP {exc.code} {exc.reason}")
                continue
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                attempts.append(f"{url}: {reason}")
                continue
            except DatasetCorrupt as exc:
                attempts.append(str(exc))
                continue
            _install(tmp, path)
            if owned:
                ownership.record(folder, path, remote.sha256)
            paths[remote.name] = path
            break
        else:
            rejected.append(f"{remote.name} could not be downloaded:\n    " + "\n    ".join(attempts))
    missing = [r for r in wanted if r.name not in paths]
    if missing:
        lines = [f"{spec.name}: {len(missing)} file(s) missing or invalid in {folder}."]
        lines += [f"  - {r}" for r in rejected]
        lines.append(f"Place these files in {folder} (from {spec.urls[0]} or a mirror):")
        lines += [f"  {r.name}  ({r.size:,} bytes, SHA-256 {r.sha256})" for r in missing]
        if not download:
            lines.append("or allow downloading (download=True).")
        message = "\n".join(lines)
        corrupt_only = rejected and all("could not be downloaded" not in r for r in rejected)
        raise (DatasetCorrupt if corrupt_only else DatasetMissing)(message)
    return paths


def status(spec: DatasetSpec, folder) -> list[tuple[RemoteFile, str]]:
    """The state of every file of ``spec`` in ``folder``, without downloading anything.

    Parameters
    ----------
    spec : DatasetSpec
        The data set.
    folder : str or os.PathLike
        Where its files would be.

    Returns
    -------
    list of tuple
        ``(RemoteFile, state)`` with state ``"verified"``, ``"missing"`` or ``"invalid: ..."``.
    """
    out = []
    for remote in spec.files:
        path = Path(folder) / remote.name
        if not os.path.lexists(path):
            out.append((remote, "missing"))
        else:
            problem = check_file(path, remote, root=folder)
            out.append((remote, "verified" if problem is None else f"invalid: {problem}"))
    return out
