"""chainrule demo: the notes' three illustrations (over-fitting, feature transforms, hand-crafted
against learned features), each leaving a picture or a table in --out."""
from __future__ import annotations

import json
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write_text
from . import data
from ._types import SEED, Number, Numbers, PathArg


def add_parser(sub):
    p = sub.add_parser("demo", help="the notes' illustrations: overfitting, features, handcrafted")
    demos = p.add_subparsers(dest="demo", required=True, metavar="DEMO", parser_class=type(p))
    d = demos.add_parser("overfitting", help="polynomial orders 1, 2, 3, 4, 12 on 13 noisy points of a cubic")
    d.add_argument("--orders", type=Numbers(Number(int, 1, 20)), default=[1, 2, 3, 4, 12],
                   help="polynomial orders, e.g. 1,3,12")
    d.add_argument("--points", type=Number(int, 2, 100_000), default=13, help="noisy training points")
    d.add_argument("--seed", type=SEED, default=0, help="seed of the noise")
    d.add_argument("--out", type=PathArg("out_dir"), default="runs/demo-overfitting", help="output folder")
    d.set_defaults(run=overfitting)
    d = demos.add_parser("features", help="XOR before and after the notes' transform, with decision boundaries")
    d.add_argument("--seed", type=SEED, default=0, help="seed of the points and the training")
    d.add_argument("--out", type=PathArg("out_dir"), default="runs/demo-features", help="output folder")
    d.set_defaults(run=features)
    d = demos.add_parser("handcrafted", help="HOG with nearest neighbour, a linear SVM and a random forest against "
                                             "an MLP and a CNN on raw pixels")
    d.add_argument("--dataset", default="digits", choices=data.IMAGE_SETS, help="image data set")
    data.add_file_options(d, "folder holding the data set's files (default: the cache); for mnist, mnist10k and cifar10")
    d.add_argument("--seed", type=SEED, default=0, help="seed of the training")
    d.add_argument("--out", type=PathArg("out_dir"), default="runs/demo-handcrafted", help="output folder")
    d.set_defaults(run=handcrafted)
    return p


def _stop_if_interrupted(model) -> None:
    """The trainer turns a Ctrl-C into the end of training; a demo then stops altogether."""
    history = getattr(model, "history_", None)
    if history is not None and history.interrupted:
        raise KeyboardInterrupt


def _fit_interruptibly(model, X, y):
    """Fit a scikit-learn model in a helper thread while the main thread waits in short joins.

    liblinear (LinearSVC) and the forest's tree builder run in C with the GIL released and do not
    return to Python for seconds; Python runs its Ctrl-C handler only in the main thread between
    bytecodes, so a fit called directly would swallow Ctrl-C until it ended. Waiting here, the main
    thread raises KeyboardInterrupt at once; the abandoned fit (a daemon thread) ends with the process.
    chainrule's own estimators are fitted in the main thread: their trainer stops after the batch.
    """
    result = {}

    def work():
        try:
            result["model"] = model.fit(X, y)
        except BaseException as exc:  # handed to the main thread as it is
            result["error"] = exc

    worker = threading.Thread(target=work, name="chainrule-demo-fit", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)
    if "error" in result:
        raise result["error"]
    return result["model"]


def _table(header, rows) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(f"{str(h):>{w}}" for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(f"{str(v):>{w}}" for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def overfitting(args) -> int:
    from ..datasets import make_polynomial_curve
    from ..models import PolynomialRegression
    from ..plotting import plot_polynomial_fits

    orders = list(args.orders)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x, y, truth = make_polynomial_curve(args.points, rng=args.seed)
    xt, yt, _ = make_polynomial_curve(200, rng=args.seed + 1)
    fits, rows = {}, []
    for k in orders:
        model = PolynomialRegression(degree=k).fit(x, y)
        fits[k] = model.predict
        tr = float(np.mean((model.predict(x) - y) ** 2))
        te = float(np.mean((model.predict(xt) - yt) ** 2))
        rows.append((k, f"{tr:.4f}", f"{te:.4f}"))
    best = min(rows, key=lambda r: float(r[2]))[0]
    plot_polynomial_fits(x, y, xt, yt, fits, truth=truth, path=out / "overfitting.png")
    table = _table(("order", "train MSE", "test MSE"), rows)
    print(f"{args.points} noisy points of a cubic; test set of 200 points (noise variance 0.0625)")
    print(table)
    print(f"lowest test error: order {best}. Orders 1 and 2 under-fit; order 12 interpolates the "
          f"{args.points} training points and over-fits.")
    atomic_write_text(out / "overfitting.json", json.dumps({"orders": orders, "rows": rows}, indent=1))
    print(f"picture: {out / 'overfitting.png'}")
    return 0


def features(args) -> int:

    from sklearn.exceptions import ConvergenceWarning

    from ..datasets import make_xor, xor_points
    from ..features import notes_transform
    from ..models import LinearClassifier
    from ..plotting import new_figure, plot_boundary, save_png

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_xor(200, noise=0.08, rng=args.seed)
    corners, labels = xor_points()
    settings = dict(loss="hinge", max_iter=200, tol=0, learning_rate_init=0.05, batch_size=None, alpha=0,
                    random_state=args.seed)
    Xt = notes_transform(X)
    # tol=0: the 200 epochs (max_iter) are the run's length, so reaching them is no convergence failure to warn about
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        before = LinearClassifier(**settings).fit(X, y)
        _stop_if_interrupted(before)
        after = LinearClassifier(**settings).fit(Xt, y)
        _stop_if_interrupted(after)
    fig = new_figure(11, 5)
    ax1, ax2 = fig.subplots(1, 2)
    plot_boundary(before.predict, X, y, ("a, d", "b, c"), ax=ax1, title=f"original space: accuracy {before.score(X, y):.2f}")
    plot_boundary(after.predict, Xt, y, ("a', d'", "b', c'"), ax=ax2, axis_names=("x1'", "x2'"),
                  title=f"x' = x / (2 x1 x2 + 0.5): accuracy {after.score(Xt, y):.2f}")
    for ax, pts in ((ax1, corners), (ax2, notes_transform(corners))):
        for name, (u, v) in zip("abcd", pts):
            ax.annotate(name + ("'" if ax is ax2 else ""), (u, v), fontsize=12, fontweight="bold")
    fig.suptitle("a linear classifier on XOR, before and after the notes' feature transform")
    save_png(fig, out / "features.png")
    print("the notes' points a, b, c, d and their images under x' = x / (2 x1 x2 + 0.5):")
    for name, p, q in zip("abcd", corners, notes_transform(corners)):
        print(f"  {name} = ({p[0]:g}, {p[1]:g}) -> ({q[0]:g}, {q[1]:g})")
    print(f"linear classifier accuracy on noisy XOR: before {before.score(X, y):.2f}, after {after.score(Xt, y):.2f}")
    print(f"picture: {out / 'features.png'}")
    return 0


def handcrafted(args) -> int:
    data.refuse_file_options(args, args.dataset)
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits
    from sklearn.svm import LinearSVC

    from ..datasets import ChannelsFirst, Standardize
    from ..features import HOGFeatures, KNeighborsClassifier
    from ..models import CNNClassifier, LinearClassifier, MLPClassifier
    from ..plotting import plot_handcrafted

    split = data.load(args.dataset, args.data_dir, download=not args.no_download, seed=args.seed)
    print(f"{split.name}: {len(split.y_train):,} training and {len(split.y_test):,} test images; "
          "eight methods, the learned features last")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    flat = lambda A: A.reshape(len(A), -1).astype(np.float32) / split.pixel_max  # noqa: E731
    Xtr, Xte = flat(split.X_train), flat(split.X_test)
    small = max(split.image_shape[:2]) < 16
    hog = HOGFeatures(**data.hog_settings(split.image_shape))
    t = time.perf_counter()
    Htr = hog.fit_transform(split.X_train)
    Hte = hog.transform(split.X_test)
    scale = Standardize().fit(Htr)
    Htr, Hte = scale.transform(Htr), scale.transform(Hte)
    hog_seconds = time.perf_counter() - t
    # the CNN sees the images (N, C, H, W); a small set (the 1,437 digits) needs more epochs for as many steps
    images = ChannelsFirst().fit_transform(split.X_train.astype(np.float32) / split.pixel_max)
    images_test = ChannelsFirst().fit_transform(split.X_test.astype(np.float32) / split.pixel_max)
    cnn = dict(max_iter=30, batch_size=32) if len(split.y_train) < 5000 else {}
    runs = [
        ("HOG + nearest neighbour (k=3)", "hand-crafted", lambda: KNeighborsClassifier(3), Htr, Hte, hog_seconds),
        # C = 0.01 in the dual converges in seconds (417 passes on 8,000 MNIST images); the primal that
        # dual='auto' picks, or C = 0.1, stopped at max_iter after 4 1/2 minutes with a lower accuracy
        ("HOG + linear SVM (scikit-learn)", "hand-crafted",
         lambda: LinearSVC(C=0.01, dual=True, random_state=args.seed), Htr, Hte, hog_seconds),
        ("HOG + random forest (scikit-learn)", "hand-crafted",
         lambda: RandomForestClassifier(100, n_jobs=1, random_state=args.seed), Htr, Hte, hog_seconds),
        ("HOG + linear classifier (softmax)", "hand-crafted", lambda: LinearClassifier(random_state=args.seed), Htr, Hte, hog_seconds),
        ("raw pixels + nearest neighbour (k=3)", "none", lambda: KNeighborsClassifier(3), Xtr, Xte, 0.0),
        ("raw pixels + linear classifier", "none", lambda: LinearClassifier(random_state=args.seed), Xtr, Xte, 0.0),
        ("raw pixels + network (256, 128)", "learned", lambda: MLPClassifier((256, 128), random_state=args.seed,
                                                                             max_iter=60), Xtr, Xte, 0.0),
        ("raw pixels + CNN (lenet)", "learned", lambda: CNNClassifier(random_state=args.seed, **cnn),
         images, images_test, 0.0),
    ]
    # the table is printed once, a row as each method finishes (a long demo shows it is moving)
    header = ("method", "features", "test accuracy", "seconds")
    widths = [max(len(header[0]), *(len(r[0]) for r in runs)), max(len(header[1]), *(len(r[1]) for r in runs)),
              len(header[2]), max(len(header[3]), 7)]
    line = lambda values: "  " + "  ".join(  # noqa: E731 (text left-aligned, numbers right)
        f"{v:<{w}}" if i < 2 else f"{v:>{w}}" for i, (v, w) in enumerate(zip(values, widths))).rstrip()
    print(line(header))
    print(line(["-" * w for w in widths]))
    rows, records = [], []
    for name, kind, make, A, B, extra in runs:
        t = time.perf_counter()
        # a fixed number of epochs is the comparison, not a convergence failure; small images are fastest on one
        # BLAS thread (the train command's measured default)
        with warnings.catch_warnings(), threadpool_limits(1 if small else None, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = make()
            if type(model).__module__.startswith("sklearn."):      # C loops: see _fit_interruptibly
                model = _fit_interruptibly(model, A, split.y_train)
            else:                                                   # the trainer stops after the batch
                model = model.fit(A, split.y_train)
        _stop_if_interrupted(model)
        fit = time.perf_counter() - t + extra
        acc = float(model.score(B, split.y_test))
        rows.append((name, kind, f"{acc:.4f}", f"{fit:.2f}"))
        print(line(rows[-1]), flush=True)
        records.append({"method": name, "features": kind, "test_accuracy": acc, "seconds": round(fit, 3)})
    table = _table(header, rows)
    atomic_write_text(out / "handcrafted.json", json.dumps({"dataset": split.name, "results": records}, indent=1))
    atomic_write_text(out / "handcrafted.md", table + "\n")
    plot_handcrafted(split.X_test[0], records, out / "handcrafted.png", resize_to=hog.resize_to,
                     pixels_per_cell=hog.pixels_per_cell, title=f"{split.name}: hand-crafted (HOG) against learned features")
    print(f"table: {out / 'handcrafted.md'}")
    print(f"picture: {out / 'handcrafted.png'}")
    return 0
