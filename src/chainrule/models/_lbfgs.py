"""solver='lbfgs': full-batch L-BFGS on the network's packed parameters, through SciPy.

The objective is the notes' J(theta) = data loss over the whole training set + the penalties, and
its gradient comes from the engine itself: forward, loss, backward, penalty gradients, exactly
the steps of the training loop, on one batch that is the whole set. SciPy's L-BFGS-B keeps the
packed vector theta in float64; each evaluation copies theta into the parameters (converted to
the network's dtype, in place, so views of the weights stay valid) and packs the gradient back
as float64. ``max_iter`` bounds the iterations, ``max_fun`` the evaluations of J, ``tol`` is
L-BFGS-B's ``gtol`` (stop when every entry of the projected gradient is at most ``tol``), as in
scikit-learn's MLP. ``fit_lbfgs`` is the solver the estimators call: it returns the run as a
``FitResult`` (early stopping does not apply: scikit-learn's L-BFGS ignores it too).
"""
from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ..layers.dropout import Dropout
from ..layers.residual import Residual
from ..regularizers.penalties import add_penalty_gradients, penalty_value
from ..training.batching import predict_in_batches
from ..training.history import History
from ._objective import penalise
from ._result import FitResult, NonFiniteWeights, Progress
from ._settings import user_stacklevel


def fit_lbfgs(s, model, loss, data, start: Progress) -> FitResult:
    """Minimise the objective of ``data`` from the model's weights with L-BFGS; return the run.

    ``start``: the progress a warm start continues (its loss curve grows); the validation set,
    if any, and the training sample of ``eval_train`` are measured after every iteration.
    """
    if s.checkpoint:
        raise ValueError("checkpoint applies to the epochs of the stochastic solvers; solver='lbfgs' (full-batch "
                         "L-BFGS) has no epochs to resume")
    if s.penalty == "maxnorm":
        raise ValueError("penalty='maxnorm' is a constraint applied after each step of a stochastic solver; "
                         "L-BFGS takes no such steps: use solver 'sgd' or 'adam' with it")
    if any(m.p > 0 for m in model.modules() if isinstance(m, Dropout)):
        raise ValueError("solver='lbfgs' minimises a fixed function: it needs dropout=0 (dropout draws new "
                         "masks at every evaluation); use solver='adam' or 'sgd' with dropout")
    if any(m.survival_prob < 1 for m in model.modules() if isinstance(m, Residual)):
        raise ValueError("solver='lbfgs' minimises a fixed function: it needs p_last=1 (stochastic depth draws "
                         "new masks at every evaluation); use solver='adam' or 'sgd' with stochastic depth")
    penalise(model, s)
    sw = data.sample_weight
    unit = 1.0 if sw is None else float(np.mean(sw))
    weights = None if sw is None else (sw / unit).astype(model.dtype or np.float64)
    batch = data.X.shape[0] if weights is None else unit * float(np.sum(weights))    # one batch: the whole set
    J = PackedObjective(model, loss, data.X, data.targets, weights, 0.5 / batch if s.alpha_per_batch else 1.0)
    measure = data.measures(loss) if data.validation is not None or data.eval_train is not None else None
    curve, last, history = [], {}, History(info={"solver": "lbfgs"})

    def after_iteration(intermediate_result):
        last["x"] = np.array(intermediate_result.x)
        curve.append(float(intermediate_result.fun))
        record = {"epoch": len(curve) - 1, "loss": curve[-1]}
        if measure is not None:            # the iterate's weights, in evaluation mode
            J.unpack(intermediate_result.x)
            model.eval()
            record.update(measure(lambda X: predict_in_batches(model, X, 4096)))
            model.train()
        history.append(record)
        if s.verbose:
            print("Iteration %d, loss = %.8f" % (len(curve), curve[-1]), file=sys.stdout, flush=True)

    theta0 = J.pack()
    try:
        res = scipy.optimize.minimize(J, theta0, method="L-BFGS-B", jac=True, callback=after_iteration,
                                      options={"maxiter": s.max_iter, "maxfun": s.max_fun, "gtol": s.tol})
    except KeyboardInterrupt:       # Ctrl-C: keep the last complete iteration, as the training loop keeps its batch
        J.unpack(last.get("x", theta0))
        model.eval()
        history.interrupted = True
        history.info.update(message="interrupted", evaluations=J.evaluations)
        warnings.warn(f"training was interrupted (Ctrl-C) after {len(curve)} L-BFGS iterations; the model keeps "
                      "the last iterate's weights", UserWarning, stacklevel=user_stacklevel())
        loss = curve[-1] if curve else math.nan
        return FitResult(Progress(len(curve), start.t, loss, start.loss_curve + curve, min([loss] + curve)), history)
    J.unpack(res.x)
    model.eval()
    message = res.message if isinstance(res.message, str) else res.message.decode()
    history.info.update(message=message, evaluations=J.evaluations)
    n_iter, loss = min(int(res.nit), s.max_iter), float(res.fun)
    if not math.isfinite(loss):
        raise NonFiniteWeights("Solver produced non-finite parameter weights. The input data may contain large "
                               f"values and need to be preprocessed. (L-BFGS: the loss is {loss})", history=history)
    if res.status != 0:
        warnings.warn(f"lbfgs failed to converge after {n_iter} iteration(s) and {J.evaluations} evaluations "
                      f"({message}). Increase max_iter (now {s.max_iter}) or max_fun (now {s.max_fun}), or scale "
                      "the data.", ConvergenceWarning, stacklevel=user_stacklevel())
    return FitResult(Progress(n_iter, start.t, loss, start.loss_curve + curve, min([loss] + curve),
                              converged=res.status == 0), history)


def _order(a: np.ndarray) -> str:
    """The memory order of a parameter, so that packing never copies in a foreign layout."""
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"


class PackedObjective:
    """J(theta) and dJ/dtheta for the network's parameters packed into one float64 vector; the
    penalties count ``penalty_scale`` times (scikit-learn's 1 / (2 N))."""

    def __init__(self, model, loss, X, y, sample_weight=None, penalty_scale: float = 1.0):
        self.model, self.loss, self.X, self.y, self.w = model, loss, X, y, sample_weight
        self.scale = penalty_scale
        self.params = list(model.parameters())
        self.penalised = [p for p in self.params if p.regularizer is not None]
        self.offsets = np.cumsum([0] + [p.value.size for p in self.params])
        self.evaluations = 0

    def pack(self) -> np.ndarray:
        return np.concatenate([p.value.ravel(order=_order(p.value)).astype(np.float64) for p in self.params])

    def unpack(self, theta: np.ndarray) -> None:
        for p, a, b in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            v = p.value
            v[...] = theta[a:b].reshape(v.shape, order=_order(v))

    def __call__(self, theta):
        self.evaluations += 1
        self.unpack(theta)
        model = self.model
        model.train()
        for p in self.params:
            p.zero_grad()
        scores = model.forward(self.X)
        if not np.isfinite(scores).all():
            return np.inf, np.zeros_like(theta)
        data_loss = float(self.loss.forward(scores, self.y, sample_weight=self.w))
        objective = data_loss + penalty_value(self.penalised, self.scale) if self.penalised else data_loss
        if not np.isfinite(objective):
            return np.inf, np.zeros_like(theta)
        model.backward(self.loss.backward())
        add_penalty_gradients(self.penalised, self.scale)
        grad = np.concatenate([
            (p.grad if p.grad is not None else np.zeros_like(p.value)).ravel(order=_order(p.value))
            for p in self.params]).astype(np.float64, copy=False)
        return objective, grad
