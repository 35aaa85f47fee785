"""``python -m vpsbench_model.infer`` stopped by SIGTERM (a job scheduler) leaves no file."""

from __future__ import annotations

import os
import signal

from model_fixtures import LABELS, synth_file, tiny_config, trained_a_little

import vpsbench_model.infer
from vpsbench_model.checkpoint import save_checkpoint
from vpsbench_model.infer import main as infer_main


def test_sigterm_during_inference_leaves_no_partial_prediction(tmp_path, capsys, monkeypatch):
    gt = synth_file(tmp_path / "gt.h5", split="val", videos=2, frames=6)
    config = tiny_config("image")
    model, _ = trained_a_little(config)
    ckpt = save_checkpoint(tmp_path / "m.pt", model, config, LABELS, 2)
    original = vpsbench_model.infer.predict_video
    handler = signal.getsignal(signal.SIGTERM)
    calls = []

    def second_video_terminates(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    monkeypatch.setattr(vpsbench_model.infer, "predict_video", second_video_terminates)
    out = tmp_path / "out"
    out.mkdir()
    argv = ["--checkpoint", str(ckpt), "--data", str(gt), "-o", str(out / "pred.h5")]
    assert infer_main([*argv, "--no-progress"]) == 143
    assert capsys.readouterr().err.strip() == "infer: terminated"
    assert list(out.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == handler  # put back after the command
