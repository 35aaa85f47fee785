"""SIGTERM stops a command even when its exception is lost in a finalizer (Python prints
"Exception ignored" and goes on): no output is published and the command does not succeed."""

from __future__ import annotations

import os
import signal
import sys

import pytest
from conftest import TOY_CATEGORIES, toy_panoptic

from vpsbench.atomic import write_text_atomically
from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
from vpsbench.format import FileInfo, VPSWriter
from vpsbench.parallel import ordered_map, worker_context
from vpsbench.termination import Terminated, terminate_as_interrupt


class TerminatesWhenCollected:
    """Sends this process SIGTERM from ``__del__``, where the handler's exception is lost."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):  # the handler runs between these bytecodes, inside __del__
            pass


@pytest.fixture
def lost_exceptions(monkeypatch) -> list[BaseException]:
    lost: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: lost.append(info.exc_value))
    return lost


def test_a_lost_sigterm_stops_the_output_from_being_published(tmp_path, lost_exceptions):
    with pytest.raises(Terminated), terminate_as_interrupt():
        TerminatesWhenCollected()
        write_text_atomically(tmp_path / "scores.json", "{}\n")
    assert [type(e) for e in lost_exceptions] == [Terminated]  # the case under test happened
    assert list(tmp_path.iterdir()) == []


def test_a_lost_sigterm_leaves_no_partial_unified_file(tmp_path, lost_exceptions):
    # Seen in CI: synth stopped this way left its hidden .partial file behind.
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with pytest.raises(Terminated), terminate_as_interrupt():
        with VPSWriter(tmp_path / "out.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
            with w.video("a", 6, 8) as v:
                v.add_frame("f0", 0, panoptic=toy_panoptic(0))
                TerminatesWhenCollected()
                v.add_frame("f1", 1, panoptic=toy_panoptic(1))
    assert [type(e) for e in lost_exceptions] == [Terminated]
    assert list(tmp_path.iterdir()) == []


def test_a_lost_sigterm_stops_the_writing_at_the_next_video(tmp_path, lost_exceptions):
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    written = []
    with pytest.raises(Terminated), terminate_as_interrupt():
        with VPSWriter(tmp_path / "out.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
            for video_id in "abc":
                with w.video(video_id, 6, 8) as v:
                    v.add_frame("f0", 0, panoptic=toy_panoptic(0))
                    written.append(video_id)
                    TerminatesWhenCollected()
    assert [type(e) for e in lost_exceptions] == [Terminated]
    assert written == ["a"]  # not run to the end before the stop is noticed
    assert list(tmp_path.iterdir()) == []


def test_a_lost_sigterm_stops_ordered_map_at_the_next_item(lost_exceptions):
    results = []
    with pytest.raises(Terminated), terminate_as_interrupt():
        for item in ordered_map(terminate_at_two, range(6), 1, worker_context()):
            results.append(item)
    assert [type(e) for e in lost_exceptions] == [Terminated]
    assert results == [0, 1]


def terminate_at_two(item: int) -> int:
    if item == 2:
        TerminatesWhenCollected()
    return item


def test_a_lost_sigterm_is_raised_when_the_command_ends(lost_exceptions):
    with pytest.raises(Terminated), terminate_as_interrupt():
        TerminatesWhenCollected()
    assert [type(e) for e in lost_exceptions] == [Terminated]


def test_the_record_of_a_sigterm_ends_with_the_command(tmp_path):
    with pytest.raises(Terminated), terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
    write_text_atomically(tmp_path / "later.json", "{}\n")  # a later command is not stopped
    assert [p.name for p in tmp_path.iterdir()] == ["later.json"]
