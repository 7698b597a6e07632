"""The tracker's per-frame step run on the network's device (the CUDA path; also runs on CPU tensors).

One step, for N targets: the frame is uploaded once, the N search crops are cut on the device
(`device_crops`), the network runs, and the scores, box decoding, scale/ratio penalty, cosine window,
best cell and the refined mask at that cell are all computed there. Nothing reads a value back to the
host until the step's results come back in one download, so on CUDA the whole step is captured once per
target count as a CUDA graph and replayed (kernel launch costs vanish). The decoding does the same
arithmetic as the host path (`SiamMaskTracker._choose`: float32 where it is float32, float64 where NumPy
promotes), so both pick the same cell; only the crops differ, by at most one grey level.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np

from .device_crops import crop_windows, upload_frame

LOG = logging.getLogger(__name__)
_PARAMS = 8  # per target: window origin x, y, side (px), fill B, G, R, target width, height in crop px
_GRAPH_WARMUP_RUNS = 3  # cuDNN autotuning and TorchScript profiling happen before capture
_HOST_READS = ("aten::Int(", "aten::Float(", "aten::Bool(", "aten::item(", "aten::tolist(")


@contextmanager
def cuda_math(allow_tf32: bool):
    """TF32 allowed or not for fp32 convolutions and matrix products, and cuDNN autotuning on, during
    the tracker's CUDA work; the previous settings come back afterwards.

    PyTorch lets cuDNN use TF32 for fp32 convolutions by default (Ampere and newer), which is not fp32
    and leaves the parity tolerances; `fp32` turns it off, `tf32` on. These switches are process-wide in
    PyTorch (not per thread or stream): other CUDA work running at the same moment sees them too.
    Autotuning (`cudnn.benchmark`) picks the fastest algorithm per input shape; the tracker's batch
    shape only changes when targets are added or removed.
    """
    import torch

    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    if hasattr(getattr(cudnn, "conv", None), "fp32_precision"):  # torch >= 2.9; the legacy flags warn there
        saved = (cudnn.conv.fp32_precision, matmul.fp32_precision, cudnn.benchmark)
        mode = "tf32" if allow_tf32 else "ieee"
        cudnn.conv.fp32_precision, matmul.fp32_precision, cudnn.benchmark = mode, mode, True
        try:
            yield
        finally:
            cudnn.conv.fp32_precision, matmul.fp32_precision, cudnn.benchmark = saved
    else:
        saved = (cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark)
        cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark = allow_tf32, allow_tf32, True
        try:
            yield
        finally:
            cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark = saved


def _change(ratio):
    import torch

    return torch.maximum(ratio, 1.0 / ratio)


def _padded_side(w, h):
    pad = (w + h) * 0.5
    return ((w + pad) * (h + pad)).sqrt()


def choose_on_device(score_map, delta_map, anchors, window, size_in_crop, penalty_k: float,
                     window_influence: float):
    """Best anchor per target, decided on the device.

    score_map (N, 2A, S, S) and delta_map (N, 4A, S, S) network outputs; anchors (A*S*S, 4) float32
    (cx, cy, w, h); window (A*S*S,) float64; size_in_crop (N, 2) float64 target w, h in crop px.
    Returns best (N,) long anchor index, box (N, 4) float32 decoded (cx, cy, w, h) in crop px at it,
    penalised (N,) float32 penalty * score there, and score (N,) float32 there.
    """
    import torch

    count = score_map.shape[0]
    score = torch.softmax(score_map.float().reshape(count, 2, -1), dim=1)[:, 1]
    delta = delta_map.float().reshape(count, 4, -1)
    boxes = torch.stack([delta[:, 0] * anchors[:, 2] + anchors[:, 0], delta[:, 1] * anchors[:, 3] + anchors[:, 1],
                         torch.exp(delta[:, 2]) * anchors[:, 2], torch.exp(delta[:, 3]) * anchors[:, 3]], dim=1)
    width, height = size_in_crop[:, 0:1], size_in_crop[:, 1:2]
    # NumPy (1.x) keeps float32 arrays float32 against float64 scalars: cast the per-target scalars first.
    scale_change = _change(_padded_side(boxes[:, 2], boxes[:, 3]) / _padded_side(width, height).float())
    ratio_change = _change((width / height).float() / (boxes[:, 2] / boxes[:, 3]))
    penalty = torch.exp(-(ratio_change * scale_change - 1) * penalty_k)
    penalised = penalty * score
    best = ((penalised * (1 - window_influence)).double() + window * window_influence).argmax(dim=1)
    at_best = best[:, None]
    box = boxes.gather(2, at_best[:, None, :].expand(count, 4, 1))[:, :, 0]
    return best, box, penalised.gather(1, at_best)[:, 0], score.gather(1, at_best)[:, 0]


def reads_values_on_host(method) -> bool:
    """Whether a scripted method reads tensor values back to the host (a sync; no CUDA graph capture).
    Models exported before `Refine.crop_skips` gathered by index do, in `refine_mask`. A torch.export
    archive's method has no TorchScript graph: such archives were only ever written with the gathers."""
    graph = getattr(method, "inlined_graph", None)
    return graph is not None and any(op in str(graph) for op in _HOST_READS)


@dataclass(frozen=True)
class StepResult:
    """One step's results on the host, per target (N of them)."""

    best: np.ndarray  # (N,) int64 anchor index a * S * S + y * S + x
    box_in_crop: np.ndarray  # (N, 4) float32 (cx, cy, w, h) offsets/sizes in crop px
    penalised_score: np.ndarray  # (N,) float32 penalty * score at the best anchor
    score: np.ndarray  # (N,) float32
    mask_patches: np.ndarray | None  # (N, out, out) float32 probabilities at the best cell, or None


class DeviceStep:
    """Runs the step for the tracker on its device; on CUDA through one CUDA graph per target count."""

    def __init__(self, net, info, device: str, dtype, channels_last: bool, anchors: np.ndarray,
                 window: np.ndarray, graphs: bool):
        import torch

        self._torch = torch
        self._net, self._info, self.device = net, info, device
        self._dtype, self._channels_last = dtype, channels_last
        self._anchors = torch.from_numpy(anchors).to(device)
        self._window = torch.from_numpy(window).to(device)
        graphs = graphs and device.startswith("cuda")
        if graphs and any(reads_values_on_host(m) for m in (net.forward, net.refine_mask)):
            LOG.warning("this model reads values back to the host in its step (exported by an older version): "
                        "it runs without CUDA graphs; convert its checkpoint again (`python -m qgis_siammask models convert`) for full speed")
            graphs = False
        self._graphs: dict[tuple, tuple | None] | None = {} if graphs else None

    def exemplars(self, frame_bgr: np.ndarray, params: np.ndarray):
        """(network input (N, 3, E, E), the same as (N, E, E, 3) uint8 on the host) for `params` (N, 8)."""
        frame, params = self._upload(frame_bgr, params)
        crops = crop_windows(frame, params[:, :2].long(), params[:, 2], self._info.exemplar_size, params[:, 3:6])
        return self._network_input(crops), crops.permute(0, 2, 3, 1).to(self._torch.uint8).cpu().numpy()

    def run(self, frame_bgr: np.ndarray, params: np.ndarray, kernels, clock=None) -> StepResult:
        """One step for N targets: params (N, 8) float64 rows (origin x, y, side, fill BGR, w, h in crop
        px), kernels (N, K*256, 5, 5) from the network's `template`. `clock` (a StageClock) times the stages
        (and then runs without a CUDA graph, as stages inside a graph cannot be told apart)."""
        if self._graphs is not None and clock is None:
            outputs = self._replay(frame_bgr, params, kernels)
        else:
            with timed(clock, "crop"):
                uploaded = self._upload(frame_bgr, params)
            outputs = self._step(*uploaded, kernels, clock)
        with timed(clock, "decode"):
            best, box, penalised, score, patches = (None if t is None else t.cpu().numpy() for t in outputs)
        return StepResult(best, box, penalised, score, patches)

    # --- internals -------------------------------------------------------------------------
    def _upload(self, frame_bgr: np.ndarray, params: np.ndarray):
        """The frame (one copy) and the parameter rows on the device."""
        return upload_frame(frame_bgr, self.device), self._torch.from_numpy(params).to(self.device)

    def _network_input(self, crops):
        torch = self._torch
        layout = torch.channels_last if self._channels_last else torch.contiguous_format
        return crops.to(self._dtype).contiguous(memory_format=layout)

    def _step(self, frame, params, kernels, clock=None):
        """The step as device operations only: (best, box, penalised, score, mask probabilities or None)."""
        torch, info = self._torch, self._info
        with timed(clock, "crop"):
            search = self._network_input(crop_windows(frame, params[:, :2].long(), params[:, 2],
                                                      info.instance_size, params[:, 3:6]))
        with timed(clock, "network"):
            score_map, delta_map, p0, p1, p2, mask_corr = self._net(search, kernels)
        with timed(clock, "decode"):
            best, box, penalised, score = choose_on_device(score_map, delta_map, self._anchors, self._window,
                                                           params[:, 6:8], info.penalty_k, info.window_influence)
        patches = None
        if info.has_mask:
            with timed(clock, "network"):
                cell = best % (info.score_size * info.score_size)
                cells = torch.stack([cell // info.score_size, cell % info.score_size], dim=1)
                patches = self._net.refine_mask(p0, p1, p2, mask_corr, cells).float()
        return best, box, penalised, score, patches

    def _replay(self, frame_bgr: np.ndarray, params: np.ndarray, kernels):
        """The step through this target count's CUDA graph (captured on first use); eager if capture fails."""
        torch = self._torch
        key = (params.shape[0], frame_bgr.shape, tuple(kernels.shape))
        if any(known[1] != frame_bgr.shape for known in self._graphs):  # a new video: free the old graphs
            self._graphs.clear()
        if key not in self._graphs:
            self._graphs[key] = self._capture(frame_bgr, params, kernels)
        entry = self._graphs[key]
        if entry is None:
            return self._step(*self._upload(frame_bgr, params), kernels)
        graph, (frame, params_on_device, kernel_buffer), outputs = entry
        frame.copy_(torch.from_numpy(frame_bgr), non_blocking=True)
        params_on_device.copy_(torch.from_numpy(params), non_blocking=True)
        kernel_buffer.copy_(kernels)
        graph.replay()
        return outputs

    def _capture(self, frame_bgr: np.ndarray, params: np.ndarray, kernels):
        """(graph, static inputs, static outputs) for this shape, or None (logged) when capture fails,
        e.g. with a model exported before the step was free of host reads (`Refine.crop_skips`)."""
        torch = self._torch
        inputs = (*self._upload(frame_bgr, params), kernels.clone())
        try:
            side_stream = torch.cuda.Stream()
            side_stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side_stream):
                for _ in range(_GRAPH_WARMUP_RUNS):
                    self._step(*inputs)
            torch.cuda.current_stream().wait_stream(side_stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                outputs = self._step(*inputs)
        except RuntimeError as error:
            LOG.warning("CUDA graph capture failed for %d targets, running without it: %s", params.shape[0], error)
            return None
        return graph, inputs, outputs


class StageClock:
    """Seconds spent per stage of the tracker's step, summed over frames (benchmarks). It waits for the
    device around each stage so its work lands in the right stage, which slows CUDA runs."""

    def __init__(self, device: str):
        import torch

        self._synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        import time

        self._synchronize()
        started = time.perf_counter()
        try:
            yield
        finally:
            self._synchronize()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def timed(clock: StageClock | None, name: str):
    """`clock.stage(name)`, or nothing without a clock."""
    return nullcontext() if clock is None else clock.stage(name)
