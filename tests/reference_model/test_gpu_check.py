"""benchmarks/gpu_check.py: its --help, its refusal without CUDA, and its checks on CPU at a
small size (no GPU is needed to run the code paths it takes on one)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module
    spec.loader.exec_module(module)
    return module


def test_help_and_arguments(gpu_check, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gpu_check.main(["--help"])
    assert exit_info.value.code == 0
    assert "800x1600" in capsys.readouterr().out
    args = gpu_check.build_parser().parse_args(["--size", "256x512", "--variants", "image"])
    assert args.size == (256, 512) and args.variants == ["image"] and args.steps == 300
    with pytest.raises(SystemExit):
        gpu_check.build_parser().parse_args(["--size", "250x512"])


def test_refuses_without_cuda(gpu_check, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main(["--steps", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs a CUDA GPU" in err


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively here (AVX512-BF16 / AMX); without it a bf16 conv of
    the paper-sized model takes minutes (measured: 107 s against 0.26 s in fp32 on AVX2)."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(check and check())


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16"])
def test_variant_check_runs_on_cpu(gpu_check, capsys, amp):
    # The paper-sized model at 128x256, fusetrack (every module); bf16 autocast as on a GPU
    # where the CPU can (the fp32 parts under autocast are also tested on tiny models in
    # test_amp.py).
    if amp and not cpu_has_native_bf16():
        pytest.skip("this CPU has no native bf16: a paper-sized bf16 pass would take minutes")
    assert gpu_check.check_variant("fusetrack", (128, 256), torch.device("cpu"), amp, 1) == []
    assert "fusetrack  forward+backward 128x256" in capsys.readouterr().out
