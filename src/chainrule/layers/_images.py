"""What the image layers share: their size arguments, their input checks and their geometry.

Images enter and leave every layer as (N, C, H, W), PyTorch's shape. Inside, the kernels work
channels-last, (N, H, W, C): there the C values of one pixel are adjacent, so the patches of a
convolution are rows of one matrix product and a pooling window is a few strided views. A
layer's output is returned as the (N, C, H, W) *view* of its channels-last array (what PyTorch
calls the channels_last memory format): its shape is PyTorch's, and the next image layer takes
it back to (N, H, W, C) without a copy. Gradients come back in their input's memory layout.

Every check names the layer, the argument and the value received, before NumPy sees anything.
"""
from __future__ import annotations

from .._helpers import array as xp
from .._helpers.validation import check_int


def size_pair(layer: str, name: str, value, low: int = 1) -> tuple[int, int]:
    """An integer (used for height and width) or a pair of integers, each >= ``low``."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    try:
        if len(items) != 2:
            raise ValueError
        return tuple(check_int(name, v, low) for v in items)
    except ValueError:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{layer} {name} must be {what} or a pair (height, width) of them; got {value!r}") from None


def shown(pair: tuple[int, int]):
    """3 for (3, 3), (3, 5) otherwise: how a size appears in names and messages."""
    return pair[0] if pair[0] == pair[1] else pair


def images(x, layer: str, channels: int | None, dtype=None):
    """``x`` as an (N, C, H, W) array (of ``dtype`` when given) with ``channels`` channels."""
    x = xp.as_array(x)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{layer} input must be numeric; got dtype {x.dtype}")
    want = f"(N, {'C' if channels is None else channels}, H, W)"
    if x.ndim != 4:
        hint = ""
        if x.ndim == 3 and channels in (None, 1):
            hint = " (a batch of single-channel images (N, H, W) needs a channel axis: x[:, None])"
        elif x.ndim == 3 and x.shape[0] == channels:
            hint = " (one image (C, H, W) needs a batch axis: x[None])"
        raise ValueError(f"{layer} expected input of shape {want}, 4 axes; got shape {x.shape}{hint}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{layer} expected input of shape {want} with {_count(channels, 'channel')}; got shape "
                         f"{x.shape} ({_count(x.shape[1], 'channel')})")
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"{layer} expected images of at least 1 x 1 pixels; got shape {x.shape}")
    return x if dtype is None else xp.as_input(x, dtype, layer)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def output_size(layer: str, shape: tuple, kernel: tuple, stride: tuple, padding: tuple = (0, 0)) -> tuple[int, int]:
    """(H_out, W_out) = floor((H + 2p - k) / s) + 1 for an input of ``shape`` (N, C, H, W).

    An image smaller than the kernel (after padding) leaves no output: refused."""
    H, W = int(shape[-2]), int(shape[-1])
    Hp, Wp = H + 2 * padding[0], W + 2 * padding[1]
    if Hp < kernel[0] or Wp < kernel[1]:
        padded = f" ({Hp} x {Wp} after padding {shown(padding)})" if any(padding) else ""
        raise ValueError(f"{layer}: input images of {H} x {W}{padded} are smaller than the kernel "
                         f"{kernel[0]} x {kernel[1]}, which leaves no output; got input of shape {tuple(shape)}")
    return (Hp - kernel[0]) // stride[0] + 1, (Wp - kernel[1]) // stride[1] + 1


def channels_last(x: xp.ndarray) -> xp.ndarray:
    """The (N, H, W, C) view of (N, C, H, W) images (no copy; contiguous when ``x`` came from a layer)."""
    return x.transpose(0, 2, 3, 1)


def channels_first(xh: xp.ndarray) -> xp.ndarray:
    """The (N, C, H, W) view of (N, H, W, C) images (what layers return)."""
    return xh.transpose(0, 3, 1, 2)


def windows(xh: xp.ndarray, kernel: tuple, stride: tuple, out_hw: tuple):
    """(offset index, (N, H_out, W_out, C) strided view) for every offset (di, dj) of a window,
    in row-major order: view[n, i, j, c] = xh[n, i s_h + di, j s_w + dj, c]."""
    (kh, kw), (sh, sw), (Ho, Wo) = kernel, stride, out_hw
    for di in range(kh):
        for dj in range(kw):
            yield di * kw + dj, xh[:, di:di + sh * (Ho - 1) + 1:sh, dj:dj + sw * (Wo - 1) + 1:sw, :]
