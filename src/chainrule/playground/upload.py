"""A CSV file of points sent by the page, parsed in memory (never written to disk) with a size cap;
a bad file is refused with the line and the problem.

Two layouts, one row per point, an optional header line, ``#`` comments and blank lines skipped:

- ``x1,x2,label``: a 2-D classification set, labels the integers 0 to 4 (at least two classes);
- ``x,y``: a 1-D regression set (the under/over-fitting picture with your own points).
"""
from __future__ import annotations

import math

import numpy as np

#: the largest file the page may send, in bytes (the command line can change it)
MAX_UPLOAD_BYTES = 1_000_000
MAX_ROWS = 10_000
MIN_ROWS = 10
MAX_LABEL = 4


class UploadError(ValueError):
    """The file cannot be used; the message names the line and the problem."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_size(n_bytes: int, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse a file larger than ``limit`` bytes, saying both sizes.

    Parameters
    ----------
    n_bytes : int
        The file's size.
    limit : int
        The largest size accepted.

    Raises
    ------
    UploadError
        If the file is too large.
    """
    if n_bytes > limit:
        raise UploadError(f"the file is {n_bytes:,} bytes; the playground takes files of at most {limit:,} bytes "
                          f"({MAX_ROWS:,} rows)")


def parse_csv(text: str, limit: int = MAX_UPLOAD_BYTES):
    """Points and targets from CSV text.

    Parameters
    ----------
    text : str
        The file's content.
    limit : int, default ``MAX_UPLOAD_BYTES``
        The largest size accepted, in bytes (UTF-8).

    Returns
    -------
    X : ndarray of float64, shape (N, 2) or (N, 1)
    y : ndarray
        int64 class indices (3 columns) or float64 targets (2 columns).

    Raises
    ------
    UploadError
        If the file is too large, empty, has rows of different lengths, a value that is not a
        finite number, a label that is not an integer from 0 to 4, fewer than 10 rows or more
        than 10,000, or a single class (the message names the line).
    """
    if not isinstance(text, str):
        raise UploadError(f"the file must be sent as text; got {type(text).__name__}")
    check_size(len(text.encode("utf-8")), limit)
    rows, width, first_line = [], None, None
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if width is None:
            if len(fields) not in (2, 3):
                raise UploadError(f"line {number}: expected 3 values (x1, x2, label) or 2 (x, y); got {len(fields)}")
            width, first_line = len(fields), number
            if not all(_is_number(f) for f in fields):      # a header line
                continue
        elif len(fields) != width:
            layout = "x1, x2, label" if width == 3 else "x, y"
            raise UploadError(f"line {number}: expected {width} values ({layout}) as on line {first_line}; "
                              f"got {len(fields)}")
        values = []
        for col, f in enumerate(fields, start=1):
            try:
                v = float(f)
            except ValueError:
                raise UploadError(f"line {number}: value {col} ({f[:30]!r}) is not a number") from None
            if not math.isfinite(v):
                raise UploadError(f"line {number}: value {col} is {f!r}; every value must be finite")
            values.append(v)
        if width == 3 and not (values[2] == int(values[2]) and 0 <= values[2] <= MAX_LABEL):
            raise UploadError(f"line {number}: the label must be a class index, an integer from 0 to {MAX_LABEL}; "
                              f"got {fields[2][:30]!r}")
        rows.append(values)
        if len(rows) > MAX_ROWS:
            raise UploadError(f"line {number}: the file has more than {MAX_ROWS:,} rows")
    if width is None:
        raise UploadError("the file has no rows: expected lines of x1,x2,label or x,y")
    if len(rows) < MIN_ROWS:
        raise UploadError(f"the file has {len(rows)} row{'s' * (len(rows) != 1)} of data; the playground needs at "
                          f"least {MIN_ROWS} (to split into training and test points)")
    data = np.array(rows, dtype=np.float64)
    if width == 2:
        return data[:, :1], data[:, 1]
    y = data[:, 2].astype(np.int64)
    present = np.unique(y)
    if present.size < 2:
        raise UploadError(f"every row has label {int(present[0])}: a classifier needs at least two classes")
    return data[:, :2], y
