"""The training loop, its history and callbacks."""
from .batching import batch_slices, predict_in_batches, random_split, stratified_split
from .callbacks import Callback, Checkpoint, EarlyStopping
from .history import History
from .metrics import accuracy, confusion_matrix, rmse, scores_to_labels
from .progress import ProgressBar
from .trainer import Trainer

__all__ = ["Trainer", "History", "Callback", "EarlyStopping", "Checkpoint", "ProgressBar", "batch_slices",
           "stratified_split", "random_split", "accuracy", "rmse", "confusion_matrix", "scores_to_labels",
           "predict_in_batches"]


def __dir__():
    """Only the public names (what tab completion shows)."""
    return list(__all__)
