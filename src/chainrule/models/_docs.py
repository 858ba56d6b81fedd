"""The estimators' parameter documentation, written once and assembled into their docstrings.

Six estimators share most of their options (the three networks share nearly forty), so each
option is described here once, as an entry ``name: (type, description)``, and ``document``
writes the numpydoc "Parameters" section of a class (its ``__init__``) or a method from its
signature: every parameter in signature order, with the default the signature gives. A default
in the docs therefore cannot drift from the code, and a parameter nobody described stops the
import (``KeyError``) instead of going undocumented.

The tables group the entries by where their meaning holds: ``COMMON`` (every estimator that
takes the option), ``NOTES`` (the linear models' alpha, the notes' lambda), ``SKLEARN`` (the
networks' options that only they take, and their alpha), ``MLP`` and ``CNN`` (one family's
network), ``DEPRECATED`` (chainrule 0.1's names), ``FIT`` and ``PREDICT`` (the methods'
arguments). A class gives its own entries first where its meaning differs. A class docstring
describes the model and points here; it does not list the parameters again.
"""
from __future__ import annotations

import inspect
import re
import textwrap

from ._settings import RENAMED

MARKER = "{parameters}"

#: the classifiers' loss (LinearClassifier, MLPClassifier, CNNClassifier)
CLASSIFIERS = {"loss": (
    "{'log_loss', 'softmax', 'softmax_cross_entropy', 'hinge', 'sigmoid'}",
    "'log_loss' is scikit-learn's: one sigmoid output for two classes, a softmax over the C classes "
    "otherwise, one sigmoid per label for multilabel targets (a 2-D 0/1 y). The notes' losses: "
    "'softmax' (softmax + log-likelihood, the softmax classifier), 'softmax_cross_entropy', 'hinge' "
    "(the multiclass SVM; two classes use the binary hinge on one score) and 'sigmoid' (a layer of "
    "sigmoid neurons trained with the cross-entropy; one neuron for two classes). Multilabel "
    "targets need 'log_loss' or 'sigmoid'; ``predict_proba`` exists for all but 'hinge'.")}

NESTEROV = ("bool", "Nesterov's momentum: ``W <- W - eta (g + mu v)`` instead of ``W <- W - eta v``. "
                    "Applies only with momentum > 0 and SGD.")

COMMON = {
    "penalty": ("{'l2', 'l1', 'elasticnet', 'maxnorm'} or None",
                "The regularisation of the weights (the biases too with penalize_bias): a penalty "
                "``R(W)`` of strength alpha added to the data loss, ``R(W) = sum W^2`` for 'l2', "
                "``sum |W|`` for 'l1', ``sum (beta W^2 + |W|)`` for 'elasticnet'; or 'maxnorm', no "
                "term but the constraint ``||w_j|| <= max_norm`` after every step (stochastic "
                "solvers only); None: no regularisation."),
    "beta": ("float >= 0", "The elastic net's weight of the squared term: ``R(W) = sum (beta W^2 + |W|)``. "
                           "Used with penalty='elasticnet' only."),
    "max_norm": ("float > 0", "c of the max-norm constraint (penalty='maxnorm'): after every step, each row "
                              "``w_j`` of a weight matrix (the weights into one output unit; one filter of a "
                              "convolution) longer than c is scaled back onto ``||w_j|| <= c``."),
    "penalize_bias": ("bool", "Penalise the biases too (with the penalty's term; the max-norm constraint "
                              "never applies to them). False: only the weights, as in the notes."),
    "fit_intercept": ("bool", "Learn the bias b of ``s = W x + b``; False fits ``s = W x``."),
    "momentum": ("float in [0, 1)", "mu of SGD with momentum (PyTorch's form): ``v <- mu v + g`` (v starts at "
                                    "the first gradient g), then ``W <- W - eta v``, eta the learning rate; "
                                    "0 is the notes' plain ``W <- W - eta g``. solver='sgd' only."),
    "nesterovs_momentum": NESTEROV,
    "batch_size": ("int >= 1, 'auto' or None", "Samples per minibatch of the stochastic solvers: 'auto' is "
                                               "min(200, n_samples) (scikit-learn's), None the whole training "
                                               "set as one batch (full-batch gradient descent). Unused by "
                                               "L-BFGS."),
    "max_iter": ("int >= 1", "The most epochs (passes over the training set) of the stochastic solvers, or "
                             "the most L-BFGS iterations (scikit-learn's meaning); a ConvergenceWarning when it "
                             "ends training before the stopping rule does."),
    "lr_schedule": ("str, dict, Schedule or None",
                    "How the learning rate changes from epoch to epoch (stochastic solvers): a name of "
                    "``optim.schedules.SCHEDULES`` ('step', 'exponential', 'cosine'...; 'cosine' falls to "
                    "0 over the run's epochs), a dict ``{'name': name, **arguments}``, or a ``Schedule``. "
                    "None: none of these."),
    "early_stopping": ("bool", "Hold out validation_fraction of the training data (stratified for "
                               "single-label classification) and stop when its score (accuracy, or R^2) has "
                               "not improved by tol for more than n_iter_no_change epochs in a row; the "
                               "weights of the best score are kept. A ``validation_data`` given to ``fit`` "
                               "is monitored instead of a held-out share. scikit-learn's meaning; stochastic "
                               "solvers only (L-BFGS ignores it)."),
    "validation_fraction": ("float in (0, 1)", "The share of the training data held out by early_stopping."),
    "n_iter_no_change": ("int >= 1 or inf", "How many epochs in a row may fail to improve by tol before "
                                            "training stops (scikit-learn's rule, see tol)."),
    "tol": ("float >= 0", "The stopping tolerance. L-BFGS: stop when every entry of the projected gradient "
                          "is at most tol (L-BFGS-B's gtol). The stochastic solvers, scikit-learn's rule: an "
                          "epoch improves when the training loss is at most the best so far minus tol (with "
                          "early_stopping: the validation score is at least the best plus tol), and more "
                          "than n_iter_no_change epochs in a row without improvement end training."),
    "class_weight": ("'balanced', dict or None", "Weights of the classes, multiplying the sample weights "
                                                 "(scikit-learn's meaning): a dict label -> weight >= 0 (labels "
                                                 "it does not name weigh 1), or 'balanced', n_samples / "
                                                 "(n_classes * the class's count) over the classes present in "
                                                 "y. Single-label targets only."),
    "random_state": ("int, numpy.random.Generator or None",
                     "Seeds every random draw of a fit: the initial weights, the shuffles and, where the "
                     "model has them, the dropout or stochastic-depth masks and the early-stopping split. "
                     "An int >= 0 gives the same run every time, None a new one; a Generator is used, and "
                     "advanced, as it is."),
    "verbose": ("int or bool", "0 / False: silent. Otherwise scikit-learn's lines (\"Iteration 3, loss = "
                               "...\") on stdout, and with the stochastic solvers chainrule's "
                               "progress of each epoch on stderr."),
    "warm_start": ("bool", "``fit`` starts from the weights of the previous fit instead of new random ones "
                           "(scikit-learn's meaning); a classifier's y must have the same classes."),
    "dtype": ("'float32', 'float64' or None", "The dtype the network computes in. None: float32 input trains "
                                              "in float32, anything else in float64 (scikit-learn's dtype "
                                              "preservation)."),
    "checkpoint": ("str, path or None", "A checkpoint file written after every epoch of ``fit`` (the weights, the "
                                        "optimizer, the generators, the run's settings); "
                                        "``fit(X, y, resume_from=path)`` continues the run from it. "
                                        "Stochastic solvers only: with L-BFGS it is an error."),
    "n_threads": ("int >= 1 or None", "BLAS threads for fit and predict (threadpoolctl); None leaves NumPy's "
                                      "setting. 1 is fastest for small layers."),
}

#: the linear models' alpha (the notes' lambda)
NOTES = {
    "alpha": ("float >= 0", "The notes' lambda, the strength of the penalty: the objective is "
                            "``L = (1/N) sum_i L_i + lambda R(W)`` (each minibatch: its mean loss plus "
                            "``lambda R(W)``), R as under penalty. Unused by 'maxnorm'."),
}

#: the options only the networks take, and their alpha (scikit-learn's)
SKLEARN = {
    "solver": ("{'adam', 'sgd', 'lbfgs', 'rmsprop', 'adagrad'}",
               "scikit-learn's 'adam', 'sgd' (with momentum) and 'lbfgs' (full-batch L-BFGS, bounded by "
               "max_iter; it needs dropout=0, no max-norm and no checkpoint), and chainrule's 'rmsprop' "
               "and 'adagrad'."),
    "alpha": ("float >= 0", "The penalty's strength as scikit-learn defines it: each batch of B samples (B: "
                            "its total sample weight when there are sample or class weights) adds "
                            "``alpha / (2 B) R(W)`` to its mean loss (``0.5 alpha ||W||^2 / B`` for 'l2', "
                            "scikit-learn's). In the notes' terms lambda = alpha / (2 B), which changes with "
                            "the batch. Unused by 'maxnorm'."),
    "learning_rate": ("{'constant', 'invscaling', 'adaptive'}",
                      "scikit-learn's schedule for solver='sgd' (the other solvers ignore it): 'constant' "
                      "keeps learning_rate_init; 'invscaling' takes ``eta = learning_rate_init / (t + "
                      "1)^power_t``, t the samples seen before the epoch; 'adaptive' divides the rate by 5 "
                      "each time more than n_iter_no_change epochs in a row fail to improve by tol, and "
                      "stops once it is at most 1e-6. With 'sgd', a schedule other than 'constant' needs "
                      "lr_schedule=None."),
    "learning_rate_init": ("float > 0", "The learning rate eta (scikit-learn's): the step of "
                                        "``W <- W - eta g`` for 'sgd', the step size of 'adam', 'rmsprop' "
                                        "and 'adagrad'. Unused by 'lbfgs'."),
    "power_t": ("float >= 0", "The exponent of learning_rate='invscaling'."),
    "shuffle": ("bool", "Shuffle the training samples before every epoch (stochastic solvers)."),
    "beta_1": ("float in [0, 1)", "Adam's decay rate of the mean of the gradients, "
                                  "``m <- beta_1 m + (1 - beta_1) g``. solver='adam' only."),
    "beta_2": ("float in [0, 1)", "Adam's decay rate of the mean of the squared gradients, "
                                  "``v <- beta_2 v + (1 - beta_2) g^2``. solver='adam' only."),
    "epsilon": ("float > 0", "Adam's epsilon in ``W <- W - eta m_hat / (sqrt(v_hat) + epsilon)``. "
                             "solver='adam' only."),
    "max_fun": ("int >= 1", "The most evaluations of the loss by solver='lbfgs' (scikit-learn's)."),
}

#: chainrule 0.1's names
DEPRECATED = {old: ("deprecated", f"chainrule 0.1's name of ``{new}``: a value given here is used as "
                                  f"``{new}``, with a FutureWarning (removed in chainrule 0.3).")
              for old, new in RENAMED.items()}

#: the multi-layer perceptrons' network
MLP = {
    "hidden_layer_sizes": ("tuple of int, or int", "The widths of the hidden layers, from the input on (an "
                                                   "int is one layer): scikit-learn's."),
    "activation": ("{'relu', 'identity', 'logistic', 'tanh', 'sigmoid', 'leaky_relu'}",
                   "The hidden layers' activation: scikit-learn's names, and 'sigmoid' (= 'logistic') and "
                   "'leaky_relu'."),
    "dropout": ("float in [0, 1)", "The drop probability p of an inverted dropout after each hidden "
                                   "activation (in training, the kept units are scaled by 1 / (1 - p)); 0: "
                                   "none. Above 0 it needs a stochastic solver."),
    "batch_norm": ("bool", "A ``BatchNorm1d`` between each hidden Linear layer and its activation."),
    "weight_init": ("{'sklearn', 'activation'}",
                    "'sklearn': scikit-learn's uniform initialisation of weights and biases, drawn from "
                    "the same random_state stream, so the initial weights are scikit-learn's; "
                    "'activation': chainrule 0.1's He for ReLU and Glorot otherwise, zero biases."),
}

#: CNNClassifier's network and images
CNN = {
    "architecture": ("{'lenet', 'resnet'}", "'lenet': two 3 x 3 convolutions with 2 x 2 max pooling, then "
                                            "two linear layers (``architectures.lenet``); 'resnet': three "
                                            "stages of basic residual blocks with batch norm and stochastic "
                                            "depth (``architectures.resnet``)."),
    "image_shape": ("tuple of int or None", "(C, H, W) or (H, W) of the images when X is flat rows (N, D), "
                                            "read in C order; one entry may be -1 (the rest of the row). Not "
                                            "needed for X given as (N, H, W) or (N, C, H, W)."),
    "width": ("int >= 1", "'resnet': the channels of the first stage (the others have 2 and 4 times as "
                          "many)."),
    "blocks_per_stage": ("int >= 1", "'resnet': residual blocks per stage (3 gives ResNet-20)."),
    "p_last": ("float in (0, 1]", "'resnet': the survival probability of the last residual block under "
                                  "the linear decay rule of stochastic depth; 1 turns it off."),
    "stochastic_depth_mode": ("{'row', 'batch'}", "'resnet': one stochastic-depth draw per image ('row') "
                                                  "or per batch ('batch')."),
}

#: MLPRegressor's loss
MLP_REGRESSOR = {
    "loss": ("{'squared_error', 'poisson', 'l2', 'l1'}",
             "The data loss per sample, averaged over the batch: scikit-learn's 'squared_error' "
             "(``1/2 sum_k (s_k - y_k)^2``) and 'poisson' (half the Poisson deviance, log link: the "
             "network outputs log(mu) and ``predict`` returns mu; y >= 0), or the notes' 'l2' "
             "(``sum_k (y_k - s_k)^2``) and 'l1' (``sum_k |y_k - s_k|``)."),
}

#: LinearClassifier's own
LINEAR_CLASSIFIER = {
    "solver": ("{'auto', 'lbfgs', 'sgd', 'adam', 'rmsprop', 'adagrad'}",
               "'lbfgs': full-batch L-BFGS, as scikit-learn's LogisticRegression (max_iter bounds its "
               "iterations, tol is its gradient tolerance); the others: the notes' minibatch training. "
               "'auto': 'lbfgs' for the smooth losses ('softmax', 'softmax_cross_entropy', 'sigmoid') with "
               "penalty 'l2' or None when neither batch_size nor learning_rate_init is given (a minibatch "
               "request), else 'sgd': L-BFGS's line search does not handle the hinge's or L1's kinks, and "
               "max-norm is a constraint applied after each step. The smooth losses are convex in W, so "
               "L-BFGS reaches their minimum whatever the scale of the features."),
    "learning_rate_init": ("'auto' or float > 0",
                           "The learning rate eta of the minibatch solvers (unused by 'lbfgs'). 'auto': 0.03, "
                           "lowered for 'sgd' to 1 / lambda_max when the inputs are large, lambda_max the "
                           "largest eigenvalue of the (sample-weighted) second moment of [x, 1], which bounds "
                           "the curvature of the loss in W up to the loss's own factor (1/2 for the softmax, "
                           "1/4 for a sigmoid); unscaled features (values near 50) otherwise make SGD with "
                           "momentum jump over the minimum. A number also asks solver='auto' for 'sgd'."),
    "batch_size": ("int >= 1, 'auto' or None", "Samples per minibatch of the minibatch solvers: 'auto' is 32; "
                                               "None the whole training set as one batch (full-batch gradient "
                                               "descent). A number or None also asks solver='auto' for "
                                               "'sgd'. Unused by L-BFGS."),
}

#: LinearRegression's own (and PolynomialRegression's)
LINEAR_REGRESSION = {
    "solver": ("{'sgd', 'adam', 'rmsprop', 'adagrad', 'lbfgs', 'lstsq'}",
               "'lstsq': the exact minimiser of the L2 loss (plus ``alpha sum W^2`` with an L2 penalty), by "
               "least squares. The others train from a random start: 'sgd' is gradient descent (with the "
               "default batch_size=None; with momentum if momentum > 0), 'adam', 'rmsprop' and 'adagrad' "
               "their update rules, 'lbfgs' full-batch L-BFGS. chainrule 0.1's 'gd' (with its optimizer) "
               "still works, with a FutureWarning."),
    "loss": ("{'l2', 'l1'}", "'l2': the notes' ``(1/N) sum_i sum_k (y_ik - s_ik)^2`` (no 1/2); 'l1': "
                             "``(1/N) sum_i sum_k |y_ik - s_ik|``, not with 'lstsq'. The iterative solvers "
                             "also take MLPRegressor's 'squared_error' and 'poisson'."),
    "penalty": ("{'l2', 'l1', 'elasticnet', 'maxnorm'} or None",
                "A penalty ``R(W)`` of strength alpha on the weights: ``sum W^2`` ('l2'), ``sum |W|`` ('l1'), "
                "``sum (beta W^2 + |W|)`` ('elasticnet'); or 'maxnorm', the constraint ``||w|| <= max_norm`` "
                "after every step. solver='lstsq' takes None or 'l2'."),
    "learning_rate_init": ("'auto' or float > 0",
                           "The step eta of the iterative solvers. 'auto': 1 / L, L = 2 lambda_max(A^T A / N) "
                           "(+ 2 alpha for an L2 penalty, 2 alpha beta for elastic net), A = [X, 1]: L bounds "
                           "the curvature of the mean L2 loss, so gradient descent with this step cannot "
                           "diverge whatever the scale of X."),
    "max_iter": ("int >= 1", "The most epochs of gradient descent (L-BFGS iterations with 'lbfgs'); a "
                             "ConvergenceWarning when they end training first. Unused by 'lstsq'."),
    "tol": ("float >= 0", "The iterative solvers stop when every entry of the objective's gradient is at most "
                          "tol (averaged over the epoch's batches with minibatches; L-BFGS-B's gtol with "
                          "solver='lbfgs'): a loss that stops changing proves nothing here, since descent "
                          "crawling along a badly scaled feature changes it by less than its rounding."),
    "n_iter_no_change": ("int >= 1 or inf", "Checked, but unused: gradient descent here stops on the "
                                            "gradient (tol), not on scikit-learn's rule."),
    "optimizer": ("deprecated", "chainrule 0.1's update rule of solver='gd': a value given here is used as "
                                "``solver``, with a FutureWarning (removed in chainrule 0.3)."),
}

#: PolynomialRegression's own
POLYNOMIAL = {
    "degree": ("int >= 1", "The highest degree of the monomials: every product of at most degree inputs, "
                           "without the constant (the intercept is fitted)."),
    "alpha": ("float >= 0", "The ridge strength lambda: the objective is the data loss plus "
                            "``lambda sum W^2`` over the weights of the standardised polynomial features "
                            "(``penalty`` is 'l2' when alpha > 0, else None)."),
}

#: the arguments of fit and partial_fit
FIT = {
    "X": ("array-like or sparse matrix of shape (n_samples, n_features)",
          "The training inputs (CSR/CSC sparse matrices where the estimator takes them; "
          "``CNNClassifier`` also takes images (N, H, W) or (N, C, H, W))."),
    "y": ("array-like of shape (n_samples,) or (n_samples, n_outputs)",
          "The targets: class labels (a 0/1 matrix for multilabel classification), or real values "
          "(one column per output)."),
    "sample_weight": ("array-like of shape (n_samples,) or None",
                      "One weight >= 0 per sample (scikit-learn's meaning: a weight of 2 counts the sample "
                      "twice); None: all 1."),
    "classes": ("array-like or None", "Every label that will ever appear (for multilabel y the column "
                                      "indices): needed at the first call, optional later."),
    "validation_data": ("tuple (X_val, y_val) or None",
                        "Evaluated after every epoch (``history_`` records ``val_loss``, ``val_score`` and "
                        "the validation accuracy or RMSE); with early_stopping it is what is monitored, "
                        "instead of a validation_fraction held out of (X, y)."),
    "resume_from": ("str, path or None", "A checkpoint written by an earlier run with checkpoint=path; "
                                         "training continues after its last completed epoch and ends as "
                                         "the uninterrupted run would."),
    "eval_train": ("bool, int or None",
                   "After every epoch, also measure the training set in evaluation mode (dropout off, batch "
                   "norm's running statistics, no penalty), on the validation loss's definition (the data "
                   "loss, 'mean' reduction, unweighted): ``history_`` records ``train_loss`` and "
                   "``train_accuracy`` (``train_error``, the RMSE, for regression). True: every training "
                   "row; an int n: n rows evenly spaced through the training set, the same rows every epoch "
                   "(one forward pass over them per epoch); None or False: off. The history's ``loss`` and "
                   "``accuracy`` stay the running figures of the epoch's batches in training mode."),
}

#: the argument of the prediction methods
PREDICT = {"X": ("array-like or sparse matrix of shape (n_samples, n_features)",
                 "Inputs of the form the estimator was fitted on.")}


def _entry(name: str, default, tables) -> list[str]:
    """The numpydoc lines of one parameter: ``name : type, default=...`` and its description."""
    for table in tables:
        if name in table:
            kind, text = table[name]
            break
    else:
        raise KeyError(f"no documentation for the parameter {name!r}: add an entry to models/_docs.py")
    head = f"{name} : {kind}" + ("" if default is inspect.Parameter.empty else f", default={default!r}")
    # a formula in ``...`` stays on one line: its spaces are held by NUL while the text is wrapped
    kept = re.sub(r"``.+?``", lambda m: m.group().replace(" ", "\0"), text)
    lines = textwrap.wrap(kept, 92, initial_indent="    ", subsequent_indent="    ",
                          break_on_hyphens=False, break_long_words=False)
    return [head] + [line.replace("\0", " ") for line in lines]


def parameters_section(signature: inspect.Signature, tables) -> list[str]:
    """The "Parameters" section (lines, unindented) of a signature, ``self`` left out."""
    lines = ["Parameters", "----------"]
    for p in signature.parameters.values():
        if p.name != "self":
            lines += _entry(p.name, p.default, tables)
    return lines


def document(*tables):
    """Decorator: replace the ``{parameters}`` line of a class's or a function's docstring by its
    numpydoc "Parameters" section, from the signature (a class: its ``__init__``'s) and the first of
    ``tables`` (dicts name -> (type, description)) that describes each parameter."""
    def fill(obj):
        target = obj.__init__ if inspect.isclass(obj) else obj
        doc = obj.__doc__ or ""
        found = re.search(r"^( *)" + re.escape(MARKER) + r"$", doc, flags=re.MULTILINE)
        if found is None:
            raise ValueError(f"the docstring of {obj.__qualname__} has no {MARKER} line")
        indent = found.group(1)
        section = "\n".join(indent + line if line else line
                            for line in parameters_section(inspect.signature(target), tables))
        obj.__doc__ = doc[:found.start()] + section + doc[found.end():]
        return obj
    return fill
