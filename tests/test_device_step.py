"""The device path (CUDA's) run on CPU tensors: device crops, sync-free refinement windows, decoding on
the device, TF32 switches. The CUDA graph capture itself needs a GPU and is not exercised here."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from qgis_siammask.core.errors import TrackerError
from qgis_siammask.core.tracking import crops
from qgis_siammask.core.tracking.device_crops import crop_windows, upload_frame
from qgis_siammask.core.tracking.device_step import choose_on_device, cuda_math, reads_values_on_host
from qgis_siammask.core.tracking.network.siammask import Refine, gather_cells
from qgis_siammask.core.tracking.tracker import SiamMaskTracker


def test_device_crops_equal_opencv_crops_within_one_grey_level():
    rng = np.random.default_rng(3)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (240, 420, 3), dtype=np.uint8), (5, 5), 2)
    for size in (127, 255):
        for side in (size, size // 3, 2 * size + 7):  # no resize (exact), up- and down-scaling
            centre = rng.uniform((-40, -40), (460, 280))
            fill = rng.uniform(0, 255, 3)
            expected = crops.subwindow(frame, centre, size, side, fill).astype(np.float32)
            ours = crop_windows(upload_frame(frame, "cpu"), torch.tensor([crops.window_origin(centre, side)]),
                                torch.tensor([float(side)], dtype=torch.float64), size,
                                torch.tensor(fill.astype(np.uint8)[None]))[0].permute(1, 2, 0).numpy()
            difference = np.abs(ours - expected)
            assert difference.max() <= (0 if side == size else 1), (size, side)
            assert (difference > 0).mean() < 0.2


def test_refinement_windows_are_the_slices_of_the_padded_maps():
    torch.manual_seed(0)
    skips = [torch.randn(4, 8, 125, 125), torch.randn(4, 16, 63, 63), torch.randn(4, 32, 31, 31)]
    positions = torch.tensor([[0, 0], [24, 24], [3, 17], [24, 0]])
    windows = Refine.crop_skips(skips, positions)
    padded = [F.pad(skips[0], [16] * 4), F.pad(skips[1], [8] * 4), F.pad(skips[2], [4] * 4)]
    for i, (y, x) in enumerate(positions.tolist()):
        assert torch.equal(windows[0][i], padded[0][i, :, 4 * y:4 * y + 61, 4 * x:4 * x + 61])
        assert torch.equal(windows[1][i], padded[1][i, :, 2 * y:2 * y + 31, 2 * x:2 * x + 31])
        assert torch.equal(windows[2][i], padded[2][i, :, y:y + 15, x:x + 15])
    corr = torch.randn(4, 256, 25, 25)
    assert torch.equal(gather_cells(corr, positions), corr[torch.arange(4), :, positions[:, 0], positions[:, 1]])


@pytest.mark.parametrize("allow_tf32", [False, True])
def test_cuda_math_sets_tf32_and_autotuning_then_restores_them(allow_tf32):
    backends = torch.backends
    before = (backends.cudnn.conv.fp32_precision, backends.cuda.matmul.fp32_precision, backends.cudnn.benchmark)
    with cuda_math(allow_tf32):
        expected = "tf32" if allow_tf32 else "ieee"
        assert backends.cudnn.conv.fp32_precision == expected == backends.cuda.matmul.fp32_precision
        assert backends.cudnn.benchmark
    assert (backends.cudnn.conv.fp32_precision, backends.cuda.matmul.fp32_precision,
            backends.cudnn.benchmark) == before


def test_tf32_needs_cuda(seeded_model_path):
    with pytest.raises(TrackerError, match="tf32 precision needs a CUDA device"):
        SiamMaskTracker(seeded_model_path, device="cpu", precision="tf32")


def test_device_steps_on_cpu_follow_the_host_path(shared_dir, seeded_model_path):
    """Teacher forced on tennis: on the same network outputs the device decoding picks the host's anchor
    and box bit for bit; whole steps (device crops within one grey level, which moves this random-weight
    network's box estimate by up to about 2 px) stay close to the host path."""
    fixture = shared_dir / "fixtures" / "parity" / "tennis"
    sequence = json.loads((fixture / "sequence.json").read_text())
    rows = [json.loads(line) for line in (fixture / "track.jsonl").read_text().splitlines() if line.strip()][:4]
    frames_dir = shared_dir / "data/tracking/tennis/JPEGImages"
    first = cv2.imread(str(frames_dir / sequence["frames"][0]))
    host = SiamMaskTracker(seeded_model_path, device="cpu", num_threads=2)
    device = SiamMaskTracker(seeded_model_path, device="cpu", num_threads=2, device_steps=True, time_stages=True)
    for tracker in (host, device):
        tracker.init(first, [sequence["init_box_xywh"]], reset=True)
    exemplar_difference = np.abs(device.targets[0].exemplar.astype(int) - np.load(fixture / "raw.npz")["z_crop"])
    assert exemplar_difference.max() <= 1
    info = host.model_info
    for row in rows:
        frame = cv2.imread(str(frames_dir / sequence["frames"][row["frame"]]))
        results = []
        for tracker in (host, device):
            tracker.set_target_state(1, row["target_pos_in"], row["target_sz_in"])
            results.append(tracker.update(frame)[0])
        ours, theirs = results
        assert abs(ours.score - theirs.score) < 2e-3
        assert np.abs(host.targets[0].center_xy - device.targets[0].center_xy).max() < 3
        assert np.count_nonzero(ours.mask & theirs.mask) / max(np.count_nonzero(ours.mask | theirs.mask), 1) > 0.9
        target = host.targets[0]
        side, scale = host._search_plan(target)
        search = host._to_tensor([crops.subwindow(frame, target.center_xy, info.instance_size, side, target.fill_bgr)])
        with torch.no_grad():
            score_map, delta_map, *_ = host._net(search, host._kernel_batch)
        score = torch.softmax(score_map.reshape(1, 2, -1), dim=1)[0, 1].numpy()
        expected = host._choose(target, score, delta_map.reshape(4, -1).numpy().copy(), scale)
        best, box, _, best_score = choose_on_device(
            score_map, delta_map, torch.from_numpy(host._anchors), torch.from_numpy(host._window),
            torch.from_numpy(target.size_wh[None] * scale), info.penalty_k, info.window_influence)
        assert int(best[0]) == expected.index and float(best_score[0]) == expected.score
        np.testing.assert_allclose(box[0].numpy() / scale, expected.box_in_frame, rtol=1e-6)  # exp: 1 ulp
    assert set(device.stage_seconds) == {"crop", "network", "decode", "paste"}
    assert host.stage_seconds == {}


class _HostReadingRefine(torch.nn.Module):
    """The refinement window cut as models exported before the index gathers did it."""

    def forward(self, p0: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        y = int(positions[0, 0])
        return p0[:, :, y:y + 15]


def test_exported_step_reads_nothing_back_so_cuda_graphs_can_capture_it(seeded_model_path):
    exported = torch.jit.load(str(seeded_model_path))
    assert not reads_values_on_host(exported.forward) and not reads_values_on_host(exported.refine_mask)
    assert reads_values_on_host(torch.jit.script(_HostReadingRefine()).forward)
