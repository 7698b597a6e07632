"""Loading a model shows no `torch.jit.load` DeprecationWarning (QGIS lists every Python warning), and
the silencing stays around the load: other warnings, and the filters, are as they were."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

DEMO_MODEL = Path(__file__).resolve().parent.parent / "model" / "default" / "siammask_sim_light.pt"


def test_load_model_without_the_jit_deprecation_warning():
    pytest.importorskip("torch")
    from qgis_siammask.core.tracking.model_file import load_model

    if not DEMO_MODEL.is_file():
        pytest.skip(f"{DEMO_MODEL} is absent")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filters_before = list(warnings.filters)
        load_model(DEMO_MODEL)
        assert list(warnings.filters) == filters_before
        warnings.warn("torch.jit.load elsewhere", DeprecationWarning)
    messages = [str(w.message) for w in caught]
    assert messages == ["torch.jit.load elsewhere"], messages


def test_the_future_warning_of_torch_2_14_is_silenced_too(monkeypatch):
    """torch 2.14 gives the same message as a FutureWarning, which Python shows by default."""
    torch = pytest.importorskip("torch")
    from qgis_siammask.core.tracking.model_file import load_model

    if not DEMO_MODEL.is_file():
        pytest.skip(f"{DEMO_MODEL} is absent")
    original = torch.jit.load

    def load_as_torch_2_14(*args, **kwargs):
        warnings.warn("`torch.jit.load` is deprecated. Please switch to `torch.export`.", FutureWarning)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.jit, "load", load_as_torch_2_14)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(DEMO_MODEL)
        warnings.warn("`torch.jit.load` is deprecated elsewhere", FutureWarning)
    assert [str(w.message) for w in caught] == ["`torch.jit.load` is deprecated elsewhere"]
