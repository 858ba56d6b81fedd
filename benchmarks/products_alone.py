"""Issue 10.7 (README, "Why 78% of the matmul rate is missed"): the float32 matmul rate at workload (a)'s own shapes (784-512-256-10, batch 128: the
3 forward products, 3 weight-gradient products, 2 input-gradient products), against the 2048 x 2048
rate compare.py uses, interleaved, min over rounds. Products only: no bias, activation, loss or update.
Then the two passes no loop can skip (the SGD update, timed alone, in cache, and the batch gather),
and issue 21.1's floor: gather, products and update in the order a loop runs them, nothing else."""
import time, numpy as np
from compare import ProductsAloneMLP
rng = np.random.default_rng(0)
sizes = [784, 512, 256, 10]; B = 128; N = 60000
products = ProductsAloneMLP(sizes, 0.01, B, 0)     # the same yardstick compare.py (a) times
rows = np.empty((N, 0), np.float32)                # an epoch's N rows: only their count is used
P = sum(a * b for a, b in zip(sizes, sizes[1:]))
flop_epoch = N * (2 * P + 2 * P + 2 * (P - sizes[0] * sizes[1]))   # forward, dW, dx (not the first layer)
A = rng.standard_normal((2048, 2048), dtype=np.float32); C = np.empty_like(A)
def epoch():
    t = time.perf_counter()
    products.epoch(rows, None)
    return time.perf_counter() - t
def big():
    best = 1e9
    for _ in range(5):
        t = time.perf_counter(); np.matmul(A, A, out=C); best = min(best, time.perf_counter() - t)
    return 2 * 2048 ** 3 / best
# the update's weights and gradients are the products' own arrays (seen as chainrule's Linear weights:
# (out, in), column-major), so that in_order() updates what the products just read and wrote
Ws_out = [W.T for W in products.W]
bs = [np.zeros(W.shape[0], np.float32) for W in Ws_out]
params = Ws_out + bs
grads = [dW.T for dW in products.dW] + [rng.standard_normal(b.shape, dtype=np.float32) for b in bs]
for gr in grads[:len(Ws_out)]:
    gr[...] = rng.standard_normal(gr.shape, dtype=np.float32)
vel = [np.zeros_like(p) for p in params]
try:
    from chainrule._compiled.sgd import _compiled as _loops
    momentum = _loops()["sgd_momentum"]
    def update():
        for p, g, v in zip(params, grads, vel):
            momentum(p.ravel(order="K"), g.ravel(order="K"), v.ravel(order="K"),
                     np.float32(0.01), np.float32(0.9), np.float32(0), False)
except ImportError:                                           # NumPy only: the reference's passes
    def update():
        for p, g, v in zip(params, grads, vel):
            v *= np.float32(0.9); v += g; p -= np.float32(0.01) * v
Xall = rng.standard_normal((N, sizes[0]), dtype=np.float32)
perm = rng.permutation(N)
def gather():
    for s in range(0, N, B):
        Xall[perm[s:s + B]]
def passes():
    t = time.perf_counter()
    for _ in range(N // B):
        update()
    u = time.perf_counter() - t
    t = time.perf_counter()
    gather()
    return u, time.perf_counter() - t
def in_order():
    """Each step as a loop runs it: the batch gathered, the products, then the update after the
    backward (where optimizer.step runs: the products have pushed the weights out of cache)."""
    t = time.perf_counter()
    for s in range(0, N - B + 1, B):
        Xall[perm[s:s + B]]
        products.epoch(rows[:B], None)                    # one batch's products
        update()
    return time.perf_counter() - t
e, r, u, g, o = 1e9, 0, 1e9, 1e9, 1e9
for _ in range(5):
    r = max(r, big()); e = min(e, epoch())
    uu, gg = passes(); u, g = min(u, uu), min(g, gg)
    o = min(o, in_order())
print(f"2048^2 rate {r/1e9:.1f} GFLOP/s; products of one epoch at batch 128: {e:.3f} s = {flop_epoch/e/1e9:.1f} GFLOP/s "
      f"= {flop_epoch/e/r:.1%} of the 2048^2 rate ({flop_epoch/1e9:.1f} GFLOP)")
print(f"SGD momentum update, {N // B} steps: {u:.3f} s; batch gather: {g:.3f} s; products + update + gather: "
      f"{e + u + g:.3f} s = {(e + u + g) / e:.2f} x the products alone")
print(f"gather, products and update in a loop's order, {N // B} steps: {o:.3f} s = {o / e:.2f} x the products alone "
      f"(issue 21.1's target for a whole epoch: 1.15 x)")
