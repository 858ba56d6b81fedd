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

    Raised by the training loop instead of carrying on with NaN weights; its attributes (the
    parameters below, of the same names) say where it happened, so a caller can lower the
    learning rate and retry or plot the history so far.

    Parameters
    ----------
    message : str
        What happened, in words (the exception's text).
    epoch : int, optional
        The epoch in which the loss diverged.
    batch : int, optional
        The batch within that epoch.
    lr : float, optional
        The learning rate in use at that step.
    loss : float, optional
        The offending loss value (NaN, infinite or exploded).
    history : History, optional
        The training history up to the divergence.
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
