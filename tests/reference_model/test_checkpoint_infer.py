"""Checkpoint round trip, and inference writing a prediction file the evaluator accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from model_fixtures import LABELS, make_batch, synth_file, tiny_config, trained_a_little

import vpsbench
from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_pair
from vpsbench_model.checkpoint import (
    compact_checkpoint,
    expand_weights,
    load_checkpoint,
    quantize_weight,
    save_checkpoint,
)
from vpsbench_model.export import main as export_main
from vpsbench_model.infer import infer, load_model
from vpsbench_model.infer import main as infer_main
from vpsbench_model.model import VideoState


def test_save_load_gives_identical_outputs(tmp_path):
    config = tiny_config("fusetrack")
    model, optimizer = trained_a_little(config)
    path = save_checkpoint(tmp_path / "ckpt.pt", model, config, LABELS, 2, optimizer)
    state = load_checkpoint(path)
    assert state["step"] == 2 and state["labels"] == LABELS
    assert state["config"] == config
    assert "optimizer" in state
    loaded, _ = load_model(path)
    model.eval()
    model.config.det_score_thresh = loaded.config.det_score_thresh = 0.0
    images = make_batch()["images"]
    states = VideoState(), VideoState()
    for shift in (0, 1):
        frame = images.roll(shift, -1)
        a, b = model.predict(frame, states[0]), loaded.predict(frame, states[1])
        assert torch.equal(a.classes, b.classes) and torch.equal(a.instance, b.instance)
        assert a.track_ids == b.track_ids and a.channels == b.channels
    feats = model.backbone(images)
    torch.testing.assert_close(loaded.backbone(images), feats, rtol=0, atol=0)


def test_a_failed_save_leaves_nothing_and_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    config = tiny_config("fusetrack")
    model, _ = trained_a_little(config)
    path = save_checkpoint(tmp_path / "ckpt.pt", model, config, LABELS, 1)
    before = path.read_bytes()

    def save_half_then_fail(obj, f):
        Path(f).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, config, LABELS, 2)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]
    assert path.read_bytes() == before


def test_quantize_weight_hand_computed():
    weight = torch.tensor([[0.25, -1.0], [0.02, -0.005]])
    q = quantize_weight(weight)
    assert q["int8"].tolist() == [[32, -127], [127, -32]]  # 0.25 * 127 = 31.75 rounds to 32
    torch.testing.assert_close(q["scale"], torch.tensor([1.0 / 127, 0.02 / 127]))
    restored = expand_weights({"w": q, "b": torch.ones(2)})
    assert torch.equal(restored["b"], torch.ones(2))
    assert (restored["w"] - weight).abs().max() <= 0.5 / 127  # at most half a step


def test_compact_checkpoint_is_smaller_and_predicts_alike(tmp_path):
    config = tiny_config("fusetrack")
    model, _ = trained_a_little(config)
    full = save_checkpoint(tmp_path / "full.pt", model, config, LABELS, 2)
    compact = tmp_path / "compact.pt"
    assert export_main([str(full), "-o", str(compact)]) == 0
    assert compact.stat().st_size < 0.35 * full.stat().st_size
    state = load_checkpoint(compact)
    assert state["step"] == 2 and state["config"] == config and "optimizer" not in state
    for name, tensor in model.state_dict().items():
        loaded_tensor = state["model"][name]
        assert loaded_tensor.shape == tensor.shape and loaded_tensor.dtype == tensor.dtype
    loaded, _ = load_model(compact)
    model.eval()
    images = make_batch()["images"]
    feats, loaded_feats = model.backbone(images), loaded.backbone(images)
    for key in feats:
        # int8 weights: small relative error of the features, not bit-identical.
        error = (loaded_feats[key] - feats[key]).norm() / feats[key].norm()
        assert error < 0.05, key
    with pytest.raises(ValueError, match="already compact"):
        compact_checkpoint(compact, tmp_path / "again.pt")


def test_variant_can_drop_but_not_add_parts(tmp_path):
    config = tiny_config("fuse")
    model, _ = trained_a_little(config)
    path = save_checkpoint(tmp_path / "fuse.pt", model, config, LABELS, 2)
    image_model, _ = load_model(path, variant="image")
    assert image_model.fuse_neck is None
    with pytest.raises(ValueError, match="lacks"):
        load_model(path, variant="fusetrack")


@pytest.mark.parametrize("variant", ["image", "fusetrack"])
def test_inference_writes_valid_prediction(tmp_path, variant):
    gt = synth_file(tmp_path / "gt.h5", split="val", videos=2, frames=10)
    config = tiny_config(variant)
    config.model.det_score_thresh = 0.05  # exercise the instance path of an untrained model
    model, _ = trained_a_little(config)
    ckpt = save_checkpoint(tmp_path / "m.pt", model, config, LABELS, 2)
    pred = tmp_path / "pred.h5"
    assert infer_main(["--checkpoint", str(ckpt), "--data", str(gt), "-o", str(pred),
                       "--no-progress"]) == 0  # fmt: skip
    with VPSFile(gt) as g, VPSFile(pred) as p:
        assert validate_pair(g, p) == []
        assert p.video_ids == g.video_ids
        assert len(p.video("0001").annotated_indices) == 2
    result = vpsbench.evaluate(gt, pred, metrics="vpq,pq,stq")
    # Two annotated frames per video: VPQ is defined for k = 0 and 5 only.
    assert 0 <= result.summary["vpq"]["k"]["5"]["all"] <= 100
    assert 0 <= result.summary["pq"]["all"] <= 100
    with pytest.raises(FileExistsError):
        infer(ckpt, gt, pred, progress=False)


def test_infer_command_line_errors_progress_and_summary(tmp_path, capsys):
    gt = synth_file(tmp_path / "gt.h5", split="val", videos=1, frames=6)
    config = tiny_config("image")
    model, _ = trained_a_little(config)
    ckpt = save_checkpoint(tmp_path / "m.pt", model, config, LABELS, 2)
    pred = tmp_path / "pred.h5"

    def error(argv: list[str]) -> str:
        assert infer_main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("infer: error: "), err
        return err

    assert "no such file" in error(["--checkpoint", str(tmp_path / "no.pt"), "--data", str(gt),
                                    "-o", str(pred)])  # fmt: skip
    assert "no such file" in error(["--checkpoint", str(ckpt), "--data", str(tmp_path / "no.h5"),
                                    "-o", str(pred)])  # fmt: skip
    if not torch.cuda.is_available():
        assert "CUDA" in error(["--checkpoint", str(ckpt), "--data", str(gt), "-o", str(pred),
                                "--device", "cuda"])  # fmt: skip
    assert infer_main(["--checkpoint", str(ckpt), "--data", str(gt), "-o", str(pred)]) == 0
    captured = capsys.readouterr()
    assert "frame" in captured.err  # the per-frame progress bar
    summary = captured.out.strip().splitlines()[-1]
    assert re.match(r"inferred image on 1 videos \(\d+ frames\) in [\d.]+ s", summary), summary
    assert "--force" in error(["--checkpoint", str(ckpt), "--data", str(gt), "-o", str(pred)])
