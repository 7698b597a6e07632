"""Official-format checkpoints load by name; bad files give ModelError naming the problem; export keeps the math."""
from __future__ import annotations

import json
import zipfile

import pytest
import torch

from qgis_siammask.core.definitions import MODEL_METADATA_FILE
from qgis_siammask.core.errors import ModelError
from qgis_siammask.core.tracking.network.checkpoint import load_checkpoint, read_state_dict
from qgis_siammask.core.tracking.network.config import ModelConfig
from qgis_siammask.core.tracking.network.siammask import SiamMask


@pytest.fixture(scope="module")
def seeded_checkpoint(shared_dir):
    return shared_dir / "fixtures" / "parity" / "siammask_seeded.pth"


def test_seeded_checkpoint_loads_every_tensor_unchanged(seeded_checkpoint):
    state = read_state_dict(seeded_checkpoint)
    model = load_checkpoint(seeded_checkpoint)
    own = model.state_dict()
    assert set(state) == set(own)
    for name in ("features.features.conv1.weight", "rpn_model.cls.conv_kernel.0.weight",
                 "mask_model.mask.head.0.weight", "refine_model.deconv.weight"):
        assert torch.equal(own[name], state[name])


def test_module_prefix_is_stripped(tmp_path):
    model = SiamMask(ModelConfig())
    path = tmp_path / "dp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded.state_dict()["refine_model.post2.weight"], model.state_dict()["refine_model.post2.weight"])


def test_mismatched_checkpoint_lists_missing_and_unexpected_names(tmp_path):
    state = SiamMask(ModelConfig()).state_dict()
    state.pop("refine_model.deconv.weight")
    state["head.extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(ModelError) as info:
        load_checkpoint(path)
    text = str(info.value)
    assert "bad.pth" in text and "refine_model.deconv.weight" in text and "head.extra.weight" in text


def test_unreadable_and_pickled_files_are_refused(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="junk.pth"):
        read_state_dict(junk)
    pickled = tmp_path / "object.pth"
    torch.save({"state_dict": {}, "obj": ModelConfig()}, pickled)  # arbitrary object: needs full unpickling
    with pytest.raises(ModelError, match="object.pth"):
        read_state_dict(pickled)
    with pytest.raises(ModelError, match="not found"):
        read_state_dict(tmp_path / "missing.pth")


def test_export_writes_one_file_with_metadata_and_same_outputs(seeded_checkpoint, seeded_model_path):
    with zipfile.ZipFile(seeded_model_path) as archive:
        names = [n for n in archive.namelist() if n.endswith(MODEL_METADATA_FILE)]
        metadata = json.loads(archive.read(names[0]))
    assert metadata["score_size"] == 25 and metadata["anchor_num"] == 5 and metadata["has_refine"]
    assert metadata["penalty_k"] == pytest.approx(0.04) and metadata["seg_thr"] == pytest.approx(0.35)
    scripted = torch.jit.load(str(seeded_model_path))
    reference = load_checkpoint(seeded_checkpoint)
    generator = torch.Generator().manual_seed(0)
    template = torch.rand(2, 3, 127, 127, generator=generator) * 255
    search = torch.rand(2, 3, 255, 255, generator=generator) * 255
    positions = torch.tensor([[12, 12], [3, 20]])
    with torch.no_grad():
        expected = reference(template, search, positions)
        score, delta, p0, p1, p2, corr = scripted(search, scripted.template(template))
        mask = scripted.refine_mask(p0, p1, p2, corr, positions)
    torch.testing.assert_close(score, expected.score, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(delta, expected.delta, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(mask, torch.sigmoid(expected.mask_logits), atol=1e-4, rtol=1e-4)


def test_convert_command_reports_a_bad_checkpoint(tmp_path, capsys):
    from qgis_siammask.core.cli import main

    assert main(["models", "convert", str(tmp_path / "none.pth"), "--out", str(tmp_path / "m.pt")]) == 2
    assert "none.pth" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def test_metadata_schema_is_read_without_torch_and_checked(seeded_model_path, tmp_path):
    from qgis_siammask.core.tracking.network.config import ModelMetadata

    metadata = ModelMetadata.read(seeded_model_path)
    assert metadata.config == ModelConfig() and metadata.source_checkpoint == "siammask_seeded.pth"
    assert len(metadata.source_sha256) == 64
    assert ModelMetadata.from_json(metadata.to_json()) == metadata
    data = json.loads(metadata.to_json())
    del data["seg_thr"]
    data["penalty_k"] = "high"
    with pytest.raises(ModelError, match="incomplete") as info:
        ModelMetadata.from_json(json.dumps(data), tmp_path / "m.pt")
    assert "missing seg_thr" in str(info.value) and "penalty_k" in str(info.value)
    with pytest.raises(ModelError, match="format version 99"):
        ModelMetadata.from_json(json.dumps({**data, "format_version": 99}))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    with pytest.raises(ModelError, match="junk.pt: not a SiamMask TorchScript model"):
        ModelMetadata.read(junk)
