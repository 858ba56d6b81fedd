"""Exceptions raised by chainrule.

Every error names the argument, what was expected and what was received (DESIGN.md, principle 7).
"""


class NoForwardError(RuntimeError, ValueError):
    """``backward()`` was called before ``forward()``.

    It is both a ``RuntimeError`` (a call-order mistake) and a ``ValueError`` (so code that guards
    chainrule calls with ``except ValueError`` catches it too).
    """


class TrainingDiverged(RuntimeError):
    """The training loss became non-finite or exploded.

    Attributes ``epoch``, ``batch``, ``lr``, ``loss`` and ``history`` (the history so far) say where.
    """

    def __init__(self, message, *, epoch=None, batch=None, lr=None, loss=None, history=None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.lr = lr
        self.loss = loss
        self.history = history


class DatasetMissing(FileNotFoundError):
    """A data set's files are not on disk and could not be downloaded; the message names the
    files and the folder to put them in."""


class DatasetCorrupt(ValueError):
    """A data file failed verification or parsing; the message names the file and the fault."""
