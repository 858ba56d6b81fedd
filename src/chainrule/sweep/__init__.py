"""Hyperparameter sweeps: a grid or random search with k-fold cross-validation over any
scikit-learn estimator, on this machine's cores (loky) or a Dask cluster, that survives Ctrl-C, a
killed worker and a killed driver.

>>> from sklearn.datasets import load_digits
>>> from chainrule.models import LinearClassifier
>>> from chainrule.sweep import sweep
>>> X, y = load_digits(return_X_y=True)
>>> result = sweep(LinearClassifier(max_iter=5, random_state=0), {"alpha": [1e-4, 1e-2]},
...                X[:300] / 16, y[:300], cv=3, n_jobs=1, progress=False)
>>> len(result.rows), sorted(result.best_params)
(6, ['alpha'])

``chainrule sweep`` is the same on the command line. Files (with ``out``): the journal
(``sweep.json`` and ``journal/``, see ``journal.py``), ``results.csv`` and ``results.json`` (one
row per fit), ``sweep.png`` and the refitted best model ``model.safetensors``. A fit that raises is
recorded as failed with its error (a resume tries it again, at most ``MAX_ATTEMPTS`` times in all);
a sweep in which every fit failed raises ``SweepFailed`` with the first error.
"""
from .backends import ENV as SCHEDULER_ENV
from .backends import SchedulerError
from .journal import MAX_ATTEMPTS, SweepMismatch
from .picture import plot_sweep
from .search import SweepFailed, SweepInterrupted, SweepResult, sweep

__all__ = ["sweep", "SweepResult", "SweepInterrupted", "SweepFailed", "SweepMismatch", "SchedulerError",
           "SCHEDULER_ENV", "MAX_ATTEMPTS", "plot_sweep"]
