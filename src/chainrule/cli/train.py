"""chainrule train: fit a model on a data set and leave the model, its history and pictures."""
from __future__ import annotations

import argparse
import contextlib
import io as io_module
import json
import sys
import time
import warnings

import numpy as np

from .._compiled.workers import using_threads
from ..io.lock import PathLock, PathLocked
from ..registry import ACTIVATIONS, CLASSIFICATION_LOSSES, OPTIMIZERS, PENALTIES
from . import data
from ._parser import UsageError, refuse_given
from ._runfolder import RunFolder, prepare_resume
from ._settings import command_line, command_settings, run_config
from ._types import FRACTION, POSITIVE_INT, SEED, Number, PathArg, Sizes

# Adam's step for a network on images; the linear model and the small point sets (a few hundred
# samples, so few steps per epoch) need a step ten times larger to converge in the default 30
# epochs (README: `--dataset xor --features poly2 --model linear` reaches 0.56 at 0.002, 0.99 at 0.02).
ADAM_LR_NETWORK_ON_IMAGES = 2e-3
ADAM_LR_OTHERWISE = 2e-2
SGD_LR = 0.05
# The training curves of curves.png are measured like the validation curves, in evaluation mode
# at each epoch's end, on at most this many training rows (evenly spaced, the same every epoch):
# one forward pass over them per epoch (measured: README, "The pictures of a digits run").
CURVE_TRAIN_ROWS = 10_000
MODELS = ("linear", "mlp", "cnn", "resnet")
CONV_MODELS = ("cnn", "resnet")
MLP_ONLY = ("--hidden", "--dropout", "--activation", "--batch-norm")
RESNET_ONLY = ("--width", "--blocks-per-stage", "--p-last")
# One default with the estimators' n_threads (issue 22.4): "auto", the compiled kernels' workers chosen
# by the load at every step and BLAS's threads once per run (guide/command-line: Threads, measured on 2 cores).
DEFAULT_THREADS = "auto"


def default_lr(optimizer: str, model: str, dataset: str) -> float:
    """The learning rate used when --lr is not given."""
    if optimizer == "sgd":
        return SGD_LR
    return ADAM_LR_NETWORK_ON_IMAGES if model != "linear" and dataset in data.IMAGE_SETS else ADAM_LR_OTHERWISE


def add_parser(sub):
    p = sub.add_parser("train", help="train a model and write it, its history and pictures to --out",
                       description="Train a linear classifier or a network on a data set. Writes model.safetensors, "
                                   "config.json, history.json and pictures (curves, confusion, templates, "
                                   "boundary, mistakes; filters and feature maps for cnn and resnet) to --out.")
    p.add_argument("--dataset", default="digits", choices=data.ALL, help="data set (digits needs no network)")
    data.add_file_options(p, "folder holding the data set's files (default: the cache, see chainrule data); "
                             "for mnist, mnist10k and cifar10")
    p.add_argument("--model", default="mlp", choices=MODELS,
                   help="linear classifier s = Wx + b, a fully connected network, or a convolutional network on the "
                        "images: cnn (the lenet: two 3 x 3 convolutions with pooling) or resnet (stochastic depth)")
    p.add_argument("--loss", default="softmax", choices=tuple(CLASSIFICATION_LOSSES), help="classification loss")
    p.add_argument("--hidden", type=Sizes(8192), default=(256, 128), help="hidden layer sizes, e.g. 512,256 (mlp)")
    p.add_argument("--activation", default="relu", choices=tuple(ACTIVATIONS), help="hidden activation (mlp)")
    p.add_argument("--optimizer", default="adam", choices=tuple(OPTIMIZERS), help="update rule")
    p.add_argument("--lr", type=Number(float, 0, 10, low_open=True), default=None,
                   help=f"learning rate (default: adam {ADAM_LR_NETWORK_ON_IMAGES:g} for a network on images, "
                        f"{ADAM_LR_OTHERWISE:g} for the linear model and the point sets; sgd {SGD_LR:g})")
    p.add_argument("--lr-schedule", default="cosine", choices=("constant", "step", "exponential", "cosine"),
                   help="how the learning rate changes over the epochs")
    p.add_argument("--momentum", type=FRACTION, default=0.9, help="momentum (sgd only)")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=32, help="samples per step")
    p.add_argument("--epochs", type=Number(int, 1, 100_000), default=30, help="passes over the training set")
    p.add_argument("--penalty", default="l2", choices=tuple(str(v).lower() for v in PENALTIES),
                   help="penalty on the weights (maxnorm: a bound on each unit's weight norm, see --max-norm)")
    p.add_argument("--alpha", type=Number(float, 0, 100), default=1e-4, help="penalty strength lambda (l2, l1, elasticnet)")
    p.add_argument("--max-norm", type=Number(float, 0, 1e6, low_open=True), default=3.0,
                   help="largest norm of each unit's weight vector (with --penalty maxnorm)")
    p.add_argument("--dropout", type=FRACTION, default=0.2, help="drop probability after each hidden layer (mlp)")
    p.add_argument("--batch-norm", action="store_true", help="batch normalisation after each hidden linear layer (mlp)")
    p.add_argument("--features", default="raw", choices=("raw", "hog", "poly2"),
                   help="raw pixels/coordinates, HOG (images), or degree-2 polynomial features")
    p.add_argument("--validation-fraction", type=Number(float, 0, 0.9), default=0.1,
                   help="share of the training set held out for validation curves (0 for none)")
    p.add_argument("--early-stopping", type=Number(int, 1, 100_000), default=None, metavar="PATIENCE",
                   help="stop when the validation accuracy has not improved for PATIENCE epochs; keep the best weights "
                        "(default: off)")
    p.add_argument("--width", type=Number(int, 1, 1024), default=16,
                   help="channels of the resnet's first stage; the second and third have 2 and 4 times as many (resnet)")
    p.add_argument("--blocks-per-stage", type=Number(int, 1, 100), default=3,
                   help="residual blocks in each of the resnet's three stages; 3 gives ResNet-20 (resnet)")
    p.add_argument("--p-last", type=Number(float, 0, 1, low_open=True), default=0.5,
                   help="survival probability of the last residual block under stochastic depth's linear decay "
                        "rule; 1 turns stochastic depth off (resnet)")
    p.add_argument("--seed", type=SEED, default=0, help="one seed for initialisation, shuffling, dropout and splits")
    p.add_argument("--threads", type=Number(int, 1, 256, words=("auto",)), default=DEFAULT_THREADS,
                   help="threads of the compiled kernels and of BLAS; auto: the kernels' workers follow the machine's "
                        "load at every step, BLAS one thread per core when the machine is quiet as the run starts, one "
                        "when busy (guide/command-line, Threads)")
    p.add_argument("--out", type=PathArg("out_dir"), default=None,
                   help="output folder, created if missing; replaced whole when the run completes (default: "
                        "runs/<dataset>-<model>)")
    p.add_argument("--checkpoint", action="store_true",
                   help="write a checkpoint after every epoch (in OUT.partial while the run lasts), so that a killed "
                        "or interrupted run continues with --resume")
    p.add_argument("--resume", type=PathArg("dir"), default=None, metavar="RUN",
                   help="continue the run that was training into RUN (its --out) from its last checkpoint, with its "
                        "own settings, to the same bits as an uninterrupted run (default: start a new run)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(run=run)
    return p


def default_out(args) -> str:
    return f"runs/{args.dataset}-{args.model}"


def check(args) -> None:
    """Refuse settings that cannot work together or that would be silently ignored, before any
    data is loaded or written."""
    if args.model == "linear":
        refuse_given(args, MLP_ONLY, "--model linear: a linear classifier has no hidden layers")
    if args.model in CONV_MODELS:
        refuse_given(args, MLP_ONLY, f"--model {args.model}: it sets the fully connected network (--model mlp); "
                                     "the convolutional networks have their own architecture")
        if args.dataset in data.POINT_SETS:
            raise UsageError(f"--model {args.model} needs images; {args.dataset} is points in the plane")
        if args.features != "raw":
            raise UsageError(f"--features {args.features} has no effect with --model {args.model}: a convolutional "
                             "network learns its features from the raw pixels")
    if args.model != "resnet":
        refuse_given(args, RESNET_ONLY, f"--model {args.model}: it sets the resnet (--model resnet)")
    if args.penalty in ("maxnorm", "none"):
        refuse_given(args, ["--alpha"], f"--penalty {args.penalty}: " + (
            "max-norm bounds each unit's weight norm (set it with --max-norm) and adds no penalty"
            if args.penalty == "maxnorm" else "there is no penalty"))
    if args.penalty != "maxnorm":
        refuse_given(args, ["--max-norm"], f"--penalty {args.penalty}: it is the bound of --penalty maxnorm")
    if args.optimizer != "sgd":
        refuse_given(args, ["--momentum"], f"--optimizer {args.optimizer}: it is SGD's; Adam keeps its own moment "
                                           "estimates")
    if args.batch_norm and args.batch_size < 2:
        raise UsageError(f"--batch-norm needs --batch-size 2 or more: the statistics of a batch of "
                         f"{args.batch_size} sample are not defined")
    if args.early_stopping is not None and args.validation_fraction == 0:
        raise UsageError("--early-stopping needs a validation set, and --validation-fraction 0 holds none out")
    if args.early_stopping is not None and args.early_stopping + 2 > args.epochs:
        p, e = args.early_stopping, args.epochs
        fix = f"give --epochs {p + 2} or more" + (f", or --early-stopping {e - 2} or less" if e >= 3 else "")
        raise UsageError(f"--early-stopping {p} can never act within --epochs {e}: a run stops after more than {p} "
                         f"epochs in a row without improvement, so after epoch {p + 2} at the earliest (the first "
                         f"sets the best score); {fix}")
    data.refuse_file_options(args, args.dataset)
    if args.out is None:                  # the default folder gets the check --out gets at parse time
        try:
            PathArg("out_dir")(default_out(args))
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--out (default {default_out(args)}): {exc}") from None
    shape = data.SAMPLE_SHAPES[args.dataset]
    if args.features == "hog" and args.dataset in data.POINT_SETS:
        raise UsageError(f"--features hog needs images; {args.dataset} is points in the plane")
    if args.features == "poly2" and args.dataset in data.IMAGE_SETS:
        d = int(np.prod(shape))
        if d > 100:
            raise UsageError(f"--features poly2 on {d} inputs gives {(d + 1) * (d + 2) // 2:,} features; "
                             f"use raw or hog for {args.dataset}")


def _steps(args, split) -> list:
    """The preprocessing of --features for this data set (fitted on the training images only)."""
    from ..datasets import Flatten, ScaleToUnit, Standardize
    from ..features import HOGFeatures, PolynomialFeatures

    if split.kind == "image":
        if args.model in CONV_MODELS:        # images stay images, in the convolutions' (N, C, H, W)
            from ..datasets import ChannelsFirst
            return [("scale", ScaleToUnit(split.pixel_max)), ("channels", ChannelsFirst())]
        if args.features == "raw":
            return [("scale", ScaleToUnit(split.pixel_max)), ("flatten", Flatten())]
        if args.features == "hog":
            hog = HOGFeatures(cells_per_block=(2, 2), **data.hog_settings(split.image_shape))
            return [("hog", hog), ("standardize", Standardize())]
        return [("scale", ScaleToUnit(split.pixel_max)), ("flatten", Flatten()), ("poly2", PolynomialFeatures(2))]
    if args.features == "poly2":
        return [("poly2", PolynomialFeatures(2))]
    return []


def _estimator(args, checkpoint=None):
    from ..models import CNNClassifier, LinearClassifier, MLPClassifier

    lr = args.lr if args.lr is not None else default_lr(args.optimizer, args.model, args.dataset)
    penalty = None if args.penalty == "none" else args.penalty
    common = dict(loss=args.loss, penalty=penalty, alpha=args.alpha, max_norm=args.max_norm, solver=args.optimizer,
                  learning_rate_init=lr, momentum=args.momentum, nesterovs_momentum=False,
                  batch_size=args.batch_size, max_iter=args.epochs,
                  lr_schedule=None if args.lr_schedule == "constant" else args.lr_schedule,
                  early_stopping=args.early_stopping is not None, n_iter_no_change=args.early_stopping or 10,
                  tol=0.0, random_state=args.seed, verbose=0 if args.quiet else 1, checkpoint=checkpoint)
    if args.model == "linear":
        return LinearClassifier(**common)
    # the MLP's alpha is scikit-learn's, 0.5 alpha ||W||^2 / B on a batch of B samples, so the notes'
    # lambda of --alpha is alpha / (2 B) at the --batch-size
    mlp = dict(common, alpha=2 * args.batch_size * args.alpha)
    if args.model in CONV_MODELS:
        return CNNClassifier("lenet" if args.model == "cnn" else "resnet", width=args.width,
                             blocks_per_stage=args.blocks_per_stage, p_last=args.p_last, **mlp)
    return MLPClassifier(hidden_layer_sizes=tuple(args.hidden), activation=args.activation, dropout=args.dropout,
                         batch_norm=args.batch_norm, weight_init="activation", **mlp)


def _fit(args, split, folder, steps, resume_from=None):
    from sklearn.pipeline import Pipeline

    from ..datasets import train_validation_split
    from ..errors import TrainingDiverged

    Xtr, ytr = split.X_train, split.y_train
    val = None
    if args.validation_fraction > 0:
        try:
            Xtr, Xva, ytr, yva = train_validation_split(Xtr, ytr, args.validation_fraction, random_state=args.seed)
        except ValueError as exc:
            raise UsageError(f"--validation-fraction {args.validation_fraction:g} cannot split the {len(ytr)} "
                             f"training samples of {split.name}: {exc}") from None
        val = (Xva, yva)
    est = _estimator(args, str(folder.checkpoint) if args.checkpoint else None)
    prep = Pipeline(steps) if steps else None
    Xfit = prep.fit_transform(Xtr) if prep is not None else Xtr
    val_t = (prep.transform(val[0]) if prep is not None else val[0], val[1]) if val is not None else None
    t0 = time.perf_counter()
    try:
        # the progress lines go to stderr; scikit-learn's own "Iteration N, loss = ..." lines (stdout) would
        # only repeat them. --epochs is the run's length (tol 0), so reaching it is no convergence failure.
        from sklearn.exceptions import ConvergenceWarning
        with contextlib.redirect_stdout(io_module.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(Xfit, ytr, validation_data=val_t, eval_train=CURVE_TRAIN_ROWS, resume_from=resume_from)
    except TrainingDiverged as exc:
        if exc.history is not None:                       # beside the run it did not replace
            exc.history.save(folder.staging / "history.json")
        raise
    seconds = time.perf_counter() - t0
    model = Pipeline(steps + [("model", est)]) if steps else est
    return model, est, (Xtr, ytr), val, seconds


def _pictures(args, split, model, est, out, y_pred, train) -> list[str]:
    from .. import plotting
    from ..training.metrics import confusion_matrix

    written = []
    from ..registry import CLASSIFICATION_LOSSES
    kind = CLASSIFICATION_LOSSES[args.loss]
    loss = (kind.multiclass if len(split.class_names) > 2 else kind.binary).__name__
    plotting.plot_curves(est.history_, out / "curves.png", loss=loss, model=getattr(est, "model_", None),
                         title=f"{args.model} on {split.name}: loss and accuracy per epoch")
    written.append("curves.png")
    cm = confusion_matrix(split.y_test, y_pred, len(split.class_names))
    plotting.plot_confusion(cm, split.class_names, out / "confusion.png")
    written.append("confusion.png")
    if split.kind == "image":
        if args.model == "linear" and args.features == "raw":
            plotting.plot_templates(est.coef_, split.image_shape, split.class_names, out / "templates.png")
            written.append("templates.png")
        if args.model in CONV_MODELS:
            plotting.plot_filters(est, out / "filters.png",
                                  title=f"{args.model} on {split.name}: the first layer's filters "
                                        "(low-level features: edges, corner points)")
            i = 0
            plotting.plot_feature_maps(model, model[:-1].transform(split.X_test[i:i + 1])[0], out / "feature_maps.png",
                                       label=f"true {split.class_names[split.y_test[i]]}, "
                                             f"predicted {split.class_names[y_pred[i]]}")
            written += ["filters.png", "feature_maps.png"]
        plotting.plot_mistakes(split.X_test, split.y_test, y_pred, split.class_names, out / "mistakes.png",
                               pixel_max=split.pixel_max)
        written.append("mistakes.png")
    else:
        plotting.plot_boundary(model.predict, train[0], train[1], split.class_names, out / "boundary.png",
                               title=f"{args.model} on {split.name} ({args.features} features): decision regions",
                               X_test=split.X_test, y_test=split.y_test)
        written.append("boundary.png")
    return written


def run(args) -> int:
    given = getattr(args, "given", set())
    if args.resume is not None:
        if "out" in given:
            raise UsageError("--out has no effect with --resume: the run continues in the folder RUN names")
        folder = RunFolder.named(args.resume)
    else:
        check(args)
        folder = RunFolder(args.out or default_out(args))
    try:
        lock = PathLock(folder.out).acquire()      # one live run per --out folder
    except PathLocked as exc:
        print(f"chainrule train: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        raise UsageError(f"--out {folder.out}: cannot write a run there ({exc.strerror or exc}: "
                         f"{exc.filename or folder.out.parent})") from None
    with lock:
        folder.check_replaceable()                # never the current folder, nor one holding the user's files
        placed = folder.recover()                 # finish or clean what a killed run left
        resume_from, original = None, command_line(args)
        if args.resume is not None:
            prepared = prepare_resume(args, folder, placed, check)
            if prepared is None:
                return 0                          # a complete run: nothing to resume
            resume_from, original = prepared
        else:
            folder.start(command_settings(args), command_line(args))
        with using_threads(args.threads):       # the compiled kernels' workers and BLAS's threads
            return _train(args, folder, resume_from, original)


def _train(args, folder: RunFolder, resume_from, command) -> int:
    from .. import io
    from ..io.atomic import atomic_write_text

    split = data.load(args.dataset, args.data_dir, download=not args.no_download, seed=args.seed)
    steps = _steps(args, split)
    out, stage = folder.out, folder.staging
    print(f"{split.name}: {len(split.y_train):,} training and {len(split.y_test):,} test samples, "
          f"{len(split.class_names)} classes; model {args.model}, features {args.features}", file=sys.stderr)
    model, est, (Xtr, ytr), val, seconds = _fit(args, split, folder, steps, resume_from)
    history = est.history_
    n = len(history)
    if history.interrupted and args.checkpoint:           # nothing lost: the checkpoint continues it
        sys.stdout.flush()
        print(f"chainrule train: interrupted (Ctrl-C) after {n} complete epoch{'' if n == 1 else 's'}; continue "
              f"with chainrule train --resume {out} ({folder.checkpoint} holds the last complete epoch; "
              f"{out} is unchanged)", file=sys.stderr)
        return 130
    est.set_params(checkpoint=None)                       # the model file does not point into RUN.partial
    y_pred = np.asarray(model.predict(split.X_test)).astype(int)
    metrics = {"train_accuracy": float(model.score(Xtr, ytr)),
               "validation_accuracy": float(model.score(*val)) if val is not None else None,
               "test_accuracy": float(np.mean(y_pred == split.y_test)),
               "epochs": n, "seconds": round(seconds, 3),
               "interrupted": history.interrupted, "stopped_early": history.stopped_early}
    io.save(model, stage / "model.safetensors")
    history.save(stage / "history.json")
    pictures = _pictures(args, split, model, est, stage, y_pred, (Xtr, ytr)) if n else []
    config = run_config(args, split, len(ytr), len(val[1]) if val else 0, command=command, metrics=metrics,
                        **({"resumed_by": command_line(args)} if resume_from is not None else {}))
    atomic_write_text(stage / "config.json", json.dumps(config, indent=1))    # last: the run is complete
    folder.finish()                                       # RUN.partial replaces RUN, whole
    val_text = f"  validation {metrics['validation_accuracy']:.4f}" if val is not None else ""
    print(f"accuracy: train {metrics['train_accuracy']:.4f}{val_text}  test {metrics['test_accuracy']:.4f}")
    print(f"model, config and history in {out}/ (model.safetensors, config.json, history.json)")
    if pictures:
        print(f"pictures in {out}/: {', '.join(pictures)}")
    if history.interrupted:
        sys.stdout.flush()
        print(f"chainrule train: interrupted (Ctrl-C) after {n} complete epoch{'' if n == 1 else 's'}; "
              f"the model trained so far is saved in {out}/ (--checkpoint would let --resume continue it)",
              file=sys.stderr)
        return 130
    return 0
