"""The chain rule, live: for one weight (or bias) of the network, the numbers of backpropagation on
the batch the next step trains on, beside a numerical derivative.

For the weight w_ji of a Linear layer, s_j = sum_i w_ji h_i + b_j on every sample n of the batch, so

    dL/dw_ji = sum_n dL/ds_nj * ds_nj/dw_ji = sum_n dL/ds_nj * h_ni      (+ d(lambda R)/dw_ji)

The forward values (h_ni, s_nj) and the upstream gradients dL/ds_nj are those of the engine's own
passes: the network's modules run forward one by one, then ``backward`` one by one from the loss,
exactly as ``Sequential.backward`` chains them; the sum is checked against the ``.grad`` the
engine's Linear layer accumulated. The numerical derivative is a central difference
(``chainrule.grad.derivative``) of the same objective (data loss + penalty) through the same
network in float64, with the dropout masks of this pass redrawn identically at every evaluation.
Everything here runs on a float64 copy of the network (same weights, same running statistics), so
the training run is not touched.
"""
from __future__ import annotations

import numpy as np

from .. import grad
from ..regularizers import add_penalty_gradients, penalty_value
from .network import build_network


def _index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)

MAX_ROWS = 12   # samples listed one by one (the sums are over the whole batch)


def _copy64(session):
    rng = np.random.default_rng(0)      # only the dropout masks come from it (the weights are loaded)
    net = build_network(session.settings, len(session.input_names), session.task.n_outputs, rng, np.float64)
    net.load_state_dict(session.net.state_dict())
    net.train()
    return net


def _states(net):
    return [g.bit_generator.state for g in net.all_generators()]


def _restore(net, states):
    for g, st in zip(net.all_generators(), states):
        g.bit_generator.state = st


def explain(session, layer: int, out: int, inp: int | None) -> dict:
    """The chain rule for one parameter of the ``layer``-th Linear layer, on the current batch.

    Parameters
    ----------
    session : Session
        The run.
    layer : int
        Which Linear layer (0 is the first).
    out : int
        The row j of the weight (the neuron s_j it feeds).
    inp : int or None
        The column i (the input h_i); None for the bias b_j.

    Returns
    -------
    dict
        ``rows`` (per sample: h, s, upstream, local, product), ``sum``, ``penalty``, ``total``,
        ``engine_grad``, ``numerical``, ``relative_error`` and descriptive fields.

    Raises
    ------
    ValueError
        If the layer or an index is out of range.
    """
    linears = session.linears
    if not _index(layer) or not 0 <= layer < len(linears):
        raise ValueError(f"layer must be an index of a Linear layer in [0, {len(linears)}); got {layer!r}")
    index, _ = linears[layer]
    net = _copy64(session)
    lin = net[index]
    if not _index(out) or not 0 <= out < lin.out_features:
        raise ValueError(f"out must be in [0, {lin.out_features}); got {out!r}")
    if inp is not None and (not _index(inp) or not 0 <= inp < lin.in_features):
        raise ValueError(f"in must be in [0, {lin.in_features}) or null for the bias; got {inp!r}")
    rows = session.current_batch()
    x = session.F_train[rows].astype(np.float64)
    target = session.task.targets(session.data.y_train[rows], np.float64)
    loss = session.task.loss()
    penalised = [p for p in net.parameters() if p.regularizer is not None]
    masks = _states(net)

    # forward, module by module, keeping the Linear layer's input h and output s
    h = x
    for i, m in enumerate(net):
        if i == index:
            h_in = h
        h = m.forward(h)
        if i == index:
            s_out = h
    data_loss = float(loss.forward(h, target))
    objective = data_loss + penalty_value(penalised)
    # backward, module by module from the loss, keeping dL/ds at the Linear layer's output
    net.zero_grad()
    g = loss.backward()
    for i in range(len(net) - 1, -1, -1):
        if i == index:
            upstream = g
        g = net[i].backward(g, need_input_grad=i > 0)
    add_penalty_gradients(penalised)

    up = upstream[:, out]
    local = h_in[:, inp] if inp is not None else np.ones(len(x))
    product = up * local
    param = lin.weight if inp is not None else lin.bias
    where = (out, inp) if inp is not None else (out,)
    pen = float(param.regularizer.gradient(param.value)[where]) if param.regularizer is not None else 0.0
    total = float(product.sum()) + pen
    engine = float(param.grad[where])

    def f(w):
        old = param.value[where]
        param.value[where] = w
        _restore(net, masks)
        try:
            return float(loss.forward(net.forward(x), target)) + penalty_value(penalised)
        finally:
            param.value[where] = old

    w0 = float(param.value[where])
    with np.errstate(all="ignore"):
        numerical = grad.derivative(f, w0)
    name = f"{index}.weight[{out}, {inp}]" if inp is not None else f"{index}.bias[{out}]"
    return {
        "type": "chain", "layer": layer, "out": out, "in": inp, "name": name, "value": w0,
        "batch_size": int(len(x)), "data_loss": data_loss, "objective": objective,
        "rows": [{"n": int(r), "h": float(local[k]) if inp is not None else None, "s": float(s_out[k, out]),
                  "upstream": float(up[k]), "local": float(local[k]), "product": float(product[k])}
                 for k, r in enumerate(rows[:MAX_ROWS])],
        "sum": float(product.sum()), "penalty": pen, "total": total, "engine_grad": engine,
        "engine_agrees": bool(abs(total - engine) <= 1e-9 * max(1.0, abs(engine))),
        "numerical": float(numerical),
        "relative_error": grad.relative_error(np.array([total]), np.array([numerical])),
    }
