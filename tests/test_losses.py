"""SiamMask losses: each term is zero (or minimal) exactly when the prediction matches its label."""
from __future__ import annotations

import math

import torch

from model.losses import LossWeights, box_loss, combine, mask_iou, mask_loss, mask_windows, score_loss


def test_score_loss_balances_positives_and_negatives():
    labels = torch.full((1, 5, 25, 25), -1, dtype=torch.long)
    labels[0, 2, 12, 12] = 1
    labels[0, 0, :2, :] = 0
    logits = torch.zeros(1, 10, 25, 25)
    assert abs(score_loss(logits, labels).item() - math.log(2.0)) < 1e-6
    good = torch.zeros(1, 10, 25, 25)
    good[0, 5 + 2, 12, 12] = 20.0   # class 1 of anchor 2
    good[0, 0, :2, :] = 20.0         # class 0 of anchor 0
    assert score_loss(good, labels).item() < 1e-6
    ignored_changed = good.clone()
    ignored_changed[0, :, 20:, 20:] = 7.0
    assert score_loss(ignored_changed, labels).item() == score_loss(good, labels).item()


def test_box_loss_is_weighted_l1_over_positives():
    target = torch.randn(2, 4, 5, 25, 25)
    weight = torch.zeros(2, 5, 25, 25)
    weight[0, 1, 3, 4] = 0.5
    weight[1, 0, 0, 0] = 1.0
    assert box_loss(target.reshape(2, 20, 25, 25), target, weight).item() == 0.0
    shifted = target.clone()
    shifted[0, :, 1, 3, 4] += 1.0
    assert abs(box_loss(shifted.reshape(2, 20, 25, 25), target, weight).item() - 0.5 * 4 / 2) < 1e-6
    assert box_loss(shifted.reshape(2, 20, 25, 25), target, weight, smooth_l1_beta=2.0).item() < 0.5


def test_mask_window_of_the_centre_position_is_the_centre_of_the_search_crop():
    search_mask = -torch.ones(1, 1, 255, 255)
    search_mask[0, 0, 64:191, 64:191] = 1.0
    windows = mask_windows(search_mask, torch.tensor([[0, 12, 12], [0, 0, 0]]))
    assert windows.shape == (2, 127, 127)
    assert (windows[0] == 1).all()
    assert (windows[1][:32, :] == -1).all() and windows[1][-1, -1] == 1


def test_mask_loss_and_iou_prefer_the_right_mask():
    label = -torch.ones(1, 127, 127)
    label[0, 30:90, 40:100] = 1
    right, wrong = label * 5.0, -label * 5.0
    assert mask_loss(right, label) < mask_loss(wrong, label)
    small = torch.nn.functional.interpolate(right[None], size=(63, 63))[0]
    assert mask_iou(small, label).item() > 0.95 and mask_iou(wrong, label).item() == 0.0
    assert mask_loss(torch.zeros(0, 127, 127), label[:0]).item() == 0.0


def test_paper_weights_are_the_default():
    terms = combine(LossWeights(), torch.tensor(1.0), torch.tensor(2.0), torch.tensor(0.5))
    assert LossWeights() == LossWeights.paper() and terms.total.item() == 1.0 + 2.0 + 16.0
    assert LossWeights.reference_code().mask == 36.0
