"""Search and exemplar crops cut and resized on the network's device, from a frame uploaded once.

The host path (`crops.subwindow`) cuts each square with NumPy and resizes it with OpenCV; on a GPU that
means a host round trip per target and frame. Here every target's crop is one batch of index gathers
and a bilinear blend with OpenCV's sampling rule (source x = (x + 0.5) * side / size - 0.5, clamped to
the square), padded with the target's fill colour outside the frame, then rounded as OpenCV's uint8
output is. The values equal OpenCV's within one grey level (its weights are 11-bit fixed point). No
operation reads a value back to the host, so the crops can be captured in a CUDA graph.
"""
from __future__ import annotations

import numpy as np


def upload_frame(frame_bgr: np.ndarray, device: str):
    """(H, W, 3) uint8 frame -> the same as a tensor on `device` (one copy; none on CPU)."""
    import torch

    return torch.from_numpy(frame_bgr).to(device, non_blocking=True)


def _taps(origin, sides, size: int, limit: int):
    """Per window (N,) origin and side: (first tap, second tap, weight of the second, inside) each (N, size).

    Taps are frame indices clamped into the frame; `inside` tells which taps fall inside it (others
    take the fill colour). Mirrors OpenCV's INTER_LINEAR resize: a source coordinate below 0 or at/after
    the last pixel uses that edge pixel alone.
    """
    import torch

    steps = torch.arange(size, device=sides.device, dtype=torch.float64)
    source = (steps[None, :] + 0.5) * (sides[:, None] / size) - 0.5
    first = torch.floor(source)
    weight = (source - first).float()
    last = (sides[:, None] - 1).expand_as(first)
    below, beyond = first < 0, first >= last
    weight = torch.where(below | beyond, torch.zeros_like(weight), weight)
    first = torch.where(below, torch.zeros_like(first), torch.where(beyond, last, first))
    second = torch.minimum(first + 1, last)
    taps = []
    for tap in (first, second):
        index = tap.long() + origin[:, None]
        taps += [index.clamp(0, limit - 1), (index >= 0) & (index < limit)]
    return taps[0], taps[2], weight, taps[1], taps[3]


def crop_windows(frame, origins_xy, sides, size: int, fill_bgr):
    """Square windows of a frame resized to size x size, as OpenCV's uint8 resize gives them (within 1).

    frame (H, W, 3) uint8 tensor; origins_xy (N, 2) long top-left pixels (may lie outside the frame);
    sides (N,) float64 window sides in px; fill_bgr (N, 3) float pad colours, already whole numbers.
    Returns (N, 3, size, size) float32 BGR 0-255 on the frame's device.
    """
    import torch

    height, width = frame.shape[0], frame.shape[1]
    x_first, x_second, x_weight, x_first_in, x_second_in = _taps(origins_xy[:, 0], sides, size, width)
    y_first, y_second, y_weight, y_first_in, y_second_in = _taps(origins_xy[:, 1], sides, size, height)
    pixels = frame.reshape(-1, 3)
    fill = fill_bgr.float()[:, None, None, :]
    count = origins_xy.shape[0]

    def gather(rows, cols, rows_in, cols_in):
        flat = (rows[:, :, None] * width + cols[:, None, :]).reshape(-1)
        values = pixels.index_select(0, flat).reshape(count, size, size, 3).float()
        return torch.where((rows_in[:, :, None] & cols_in[:, None, :])[..., None], values, fill)

    wx = x_weight[:, None, :, None]
    top = gather(y_first, x_first, y_first_in, x_first_in) * (1 - wx) + \
        gather(y_first, x_second, y_first_in, x_second_in) * wx
    bottom = gather(y_second, x_first, y_second_in, x_first_in) * (1 - wx) + \
        gather(y_second, x_second, y_second_in, x_second_in) * wx
    wy = y_weight[:, :, None, None]
    blended = top * (1 - wy) + bottom * wy
    return torch.round(blended).permute(0, 3, 1, 2)
