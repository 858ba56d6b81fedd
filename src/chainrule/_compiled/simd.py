"""Register-tiled convolution micro-kernels, written as LLVM vector code through numba intrinsics
(imported only when numba is installed: ``_compiled.engine`` loads it at a network's first fused step).

NumPy's BLAS needs the patch matrix (im2col) written out and read back; numba's loops do not
keep a tile of accumulators in registers (measured 16 to 37 GFLOP/s on one core). These two
intrinsics emit the vector code directly (``<16 x float>`` or ``<8 x double>``, one fused
multiply-add per lane and step), so a direct convolution on channels-last images runs at the
core's peak (measured 117 GFLOP/s on one AMD EPYC core, float32) with no patch matrix at all.

``conv_tile_P_V``: out[p, o0 + l] (+)= sum over taps (tu, tv) and c < nc of
    x[x0 + p xs_p + tu xs_u + tv xs_v + c] * w[w0 + tu ws_u + tv ws_v + c ws_c + l],
for P output pixels p (stored at y[y0 + p ys_p + l], the first ``np_valid`` of them) and V vectors
of lanes l (the first ``no_valid`` lanes stored). The inputs are broadcast, the weights are
vectors: forward (taps of the padded input, weights (taps, C, O)), and the input gradient as a
convolution of the padded output gradient with the flipped weights (taps (taps, O, C), negative
tap strides) are both this kernel.

``wgrad_tile_P_V``: dw[dw0 + pc dws_c + l] += sum over output pixels (i < ni, j < nj) of
    x[x0 + i xs_i + j xs_j + pc] * g[g0 + i gs_i + j gs_j + l],
for P input channels pc (the first ``nc_valid`` added) and V vectors of output channels: the
weight gradient of one tap over one image, the pixels summed in order (deterministic).

Offsets and strides are in elements (signed 64-bit); the caller keeps every read inside the
arrays (the padded buffers have room for a tile's overhang). The sums are in the array's dtype
with fused multiply-adds (within the reference's tolerance, not its bits).
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

I64 = ir.IntType(64)
I32 = ir.IntType(32)


def _vec(context, dtype):
    """(LLVM vector type, lanes, element type) for a numba float dtype."""
    elt = context.get_value_type(dtype)
    lanes = 16 if dtype.bitwidth == 32 else 8
    return ir.VectorType(elt, lanes), lanes, elt


def _fma(builder, vty):
    name = f"llvm.fma.v{vty.count}{'f32' if isinstance(vty.element, ir.FloatType) else 'f64'}"
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty, vty, vty]), name)


def _ptr(context, builder, aryty, ary):
    return cgutils.create_struct_proxy(aryty)(context, builder, value=ary).data


def _zeroed_accumulators(builder, vty, n):
    """``n`` stack slots of the vector type ``vty``, each holding zeros: a micro-kernel's register tile."""
    slots = []
    for _ in range(n):
        slot = cgutils.alloca_once(builder, vty)
        builder.store(ir.Constant(vty, None), slot)
        slots.append(slot)
    return slots


def _vload(builder, base, off, vty):
    return builder.load(builder.bitcast(builder.gep(base, [off]), vty.as_pointer()), align=4)


def _vstore(builder, val, base, off, vty):
    builder.store(val, builder.bitcast(builder.gep(base, [off]), vty.as_pointer()), align=4)


def _broadcast(builder, scalar, vty):
    undef = ir.Constant(vty, ir.Undefined)
    one = builder.insert_element(undef, scalar, ir.Constant(I32, 0))
    return builder.shuffle_vector(one, undef, ir.Constant(ir.VectorType(I32, vty.count), [0] * vty.count))


def _masked(builder, name, vty, ret, args):
    """A call of LLVM's masked load or store on ``vty`` (named with typed pointers, as LLVM 14 wants;
    later LLVMs upgrade the name)."""
    suffix = f"v{vty.count}{'f32' if isinstance(vty.element, ir.FloatType) else 'f64'}"
    fnty = ir.FunctionType(ret, [a.type for a in args])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.masked.{name}.{suffix}.p0{suffix}")
    return builder.call(fn, args)


def _lane_mask(builder, lanes, n_valid):
    """<lanes x i1>: lane l < n_valid."""
    ity = ir.VectorType(I64, lanes)
    nb = builder.insert_element(ir.Constant(ity, ir.Undefined), n_valid, ir.Constant(I32, 0))
    nb = builder.shuffle_vector(nb, ir.Constant(ity, ir.Undefined), ir.Constant(ir.VectorType(I32, lanes), [0] * lanes))
    return builder.icmp_signed("<", ir.Constant(ity, list(range(lanes))), nb)


def _store_vec(builder, val, base, off, vty, n_valid, add_flag):
    """The vector at base[off:] stored (or added, when add_flag != 0), lanes < n_valid only: a plain
    vector store when every lane is valid, else LLVM's masked load and store (one instruction each
    with AVX-512; a lane-by-lane branch chain before, which cost the compiler seconds per kernel)."""
    lanes = vty.count
    full = builder.icmp_signed(">=", n_valid, ir.Constant(I64, lanes))
    is_add = builder.icmp_signed("!=", add_flag, ir.Constant(I64, 0))
    with builder.if_else(full) as (then, other):
        with then:
            with builder.if_else(is_add) as (a, s):
                with a:
                    _vstore(builder, builder.fadd(_vload(builder, base, off, vty), val), base, off, vty)
                with s:
                    _vstore(builder, val, base, off, vty)
        with other:
            mask = _lane_mask(builder, lanes, n_valid)
            ptr = builder.bitcast(builder.gep(base, [off]), vty.as_pointer())
            align = ir.Constant(I32, 4)
            old = _masked(builder, "load", vty, vty, [ptr, align, mask, ir.Constant(vty, None)])
            new = builder.select(is_add, builder.fadd(old, val), val)
            _masked(builder, "store", vty, ir.VoidType(), [new, ptr, align, mask])


def make_conv_tile(P: int, V: int):
    """The intrinsic conv_tile for P pixels x V vectors (see the module docstring)."""

    @intrinsic
    def conv_tile(typingctx, x, x0, xs_p, xs_u, xs_v, w, w0, ws_u, ws_v, ws_c, y, y0, ys_p, nc, ntu, ntv,
                  np_valid, no_valid, add):
        sig = types.void(x, x0, xs_p, xs_u, xs_v, w, w0, ws_u, ws_v, ws_c, y, y0, ys_p, nc, ntu, ntv,
                         np_valid, no_valid, add)

        def codegen(context, builder, signature, args):
            (x, x0, xs_p, xs_u, xs_v, w, w0, ws_u, ws_v, ws_c, y, y0, ys_p, nc, ntu, ntv,
             np_valid, no_valid, add) = args
            tys = signature.args
            vty, lanes, _ = _vec(context, tys[0].dtype)
            xp, wp, yp = _ptr(context, builder, tys[0], x), _ptr(context, builder, tys[5], w), \
                _ptr(context, builder, tys[10], y)
            fma = _fma(builder, vty)
            accs = _zeroed_accumulators(builder, vty, P * V)
            with cgutils.for_range(builder, ntu) as lu:
                with cgutils.for_range(builder, ntv) as lv:
                    xb = builder.add(x0, builder.add(builder.mul(lu.index, xs_u), builder.mul(lv.index, xs_v)))
                    wb = builder.add(w0, builder.add(builder.mul(lu.index, ws_u), builder.mul(lv.index, ws_v)))
                    with cgutils.for_range(builder, nc) as lc:
                        c = lc.index
                        wc = builder.add(wb, builder.mul(c, ws_c))
                        wv = [_vload(builder, wp, builder.add(wc, ir.Constant(I64, lanes * q)), vty) for q in range(V)]
                        xc = builder.add(xb, c)
                        for p in range(P):
                            s = builder.load(builder.gep(xp, [builder.add(xc, builder.mul(ir.Constant(I64, p), xs_p))]))
                            bc = _broadcast(builder, s, vty)
                            for q in range(V):
                                a = accs[p * V + q]
                                builder.store(builder.call(fma, [bc, wv[q], builder.load(a)]), a)
            for p in range(P):
                ok = builder.icmp_signed("<", ir.Constant(I64, p), np_valid)
                with builder.if_then(ok):
                    for q in range(V):
                        off = builder.add(y0, builder.add(builder.mul(ir.Constant(I64, p), ys_p),
                                                          ir.Constant(I64, lanes * q)))
                        left = builder.sub(no_valid, ir.Constant(I64, lanes * q))
                        _store_vec(builder, builder.load(accs[p * V + q]), yp, off, vty, left, add)
            return context.get_dummy_value()
        return sig, codegen
    return conv_tile


def make_wgrad_tile(P: int, V: int):
    """The intrinsic wgrad_tile for P input channels x V vectors of output channels."""

    @intrinsic
    def wgrad_tile(typingctx, x, x0, xs_i, xs_j, g, g0, gs_i, gs_j, ni, nj, dw, dw0, dws_c, nc_valid):
        sig = types.void(x, x0, xs_i, xs_j, g, g0, gs_i, gs_j, ni, nj, dw, dw0, dws_c, nc_valid)

        def codegen(context, builder, signature, args):
            (x, x0, xs_i, xs_j, g, g0, gs_i, gs_j, ni, nj, dw, dw0, dws_c, nc_valid) = args
            tys = signature.args
            vty, lanes, _ = _vec(context, tys[0].dtype)
            xp, gp, dwp = _ptr(context, builder, tys[0], x), _ptr(context, builder, tys[4], g), \
                _ptr(context, builder, tys[10], dw)
            fma = _fma(builder, vty)
            accs = _zeroed_accumulators(builder, vty, P * V)
            with cgutils.for_range(builder, ni) as li:
                xi = builder.add(x0, builder.mul(li.index, xs_i))
                gi = builder.add(g0, builder.mul(li.index, gs_i))
                with cgutils.for_range(builder, nj) as lj:
                    xj = builder.add(xi, builder.mul(lj.index, xs_j))
                    gj = builder.add(gi, builder.mul(lj.index, gs_j))
                    gv = [_vload(builder, gp, builder.add(gj, ir.Constant(I64, lanes * q)), vty) for q in range(V)]
                    for p in range(P):
                        s = builder.load(builder.gep(xp, [builder.add(xj, ir.Constant(I64, p))]))
                        bc = _broadcast(builder, s, vty)
                        for q in range(V):
                            a = accs[p * V + q]
                            builder.store(builder.call(fma, [bc, gv[q], builder.load(a)]), a)
            one = ir.Constant(I64, 1)
            for p in range(P):
                ok = builder.icmp_signed("<", ir.Constant(I64, p), nc_valid)
                with builder.if_then(ok):
                    for q in range(V):
                        off = builder.add(dw0, builder.add(builder.mul(ir.Constant(I64, p), dws_c),
                                                           ir.Constant(I64, lanes * q)))
                        _store_vec(builder, builder.load(accs[p * V + q]), dwp, off, vty,
                                   ir.Constant(I64, lanes), one)
            return context.get_dummy_value()
        return sig, codegen
    return wgrad_tile


#: the tiles the drivers choose from: (pixels, vectors) for the convolution, (channels, vectors) for dW
conv_tile_16_1 = make_conv_tile(16, 1)
conv_tile_8_2 = make_conv_tile(8, 2)
conv_tile_7_2 = make_conv_tile(7, 2)
wgrad_tile_16_1 = make_wgrad_tile(16, 1)
wgrad_tile_8_2 = make_wgrad_tile(8, 2)
wgrad_tile_4_2 = make_wgrad_tile(4, 2)
wgrad_tile_4_1 = make_wgrad_tile(4, 1)
