"""Worker pools shared by converting and scoring."""

import concurrent.futures
import os
import platform
import signal
import time

import pytest

from vpsbench.parallel import init_worker, keep_freed_memory, ordered_map, worker_context


def sigint_handler() -> object:
    return signal.getsignal(signal.SIGINT)


def test_workers_leave_ctrl_c_to_the_parent():
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=worker_context(), initializer=init_worker
    ) as pool:
        assert pool.submit(sigint_handler).result() == signal.SIG_IGN


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_memory_is_kept_on_glibc():
    assert keep_freed_memory() is True


def slow_square(x: int) -> tuple[int, int]:
    time.sleep(0.02)
    if x < 0:
        raise ValueError(f"negative item {x}")
    return x * x, os.getpid()


@pytest.mark.parametrize(("workers", "chunk"), [(1, 1), (2, 1), (3, 1), (2, 3)])
def test_ordered_map_yields_every_result_in_order(workers, chunk):
    results = list(ordered_map(slow_square, range(13), workers, worker_context(), chunk=chunk))
    assert [value for value, _ in results] == [x * x for x in range(13)]
    assert len({pid for _, pid in results}) <= workers


def test_ordered_map_computes_here_while_it_waits_for_the_pool():
    # The pool cannot finish an item of 20 ms at once: this process takes the next ones. 40
    # items outlast a cold start of the worker server (imports), so the pool gets some too.
    pids = [pid for _, pid in ordered_map(slow_square, range(40), 2, worker_context())]
    assert os.getpid() in pids
    assert len(set(pids)) == 2


@pytest.mark.parametrize("bad", [0, 5])  # the first item or a later one
def test_ordered_map_raises_the_items_error(bad):
    items = [-1 if i == bad else i for i in range(8)]
    with pytest.raises(ValueError, match="negative item -1"):
        list(ordered_map(slow_square, items, 2, worker_context()))


def test_ordered_map_raises_a_pool_that_cannot_start(monkeypatch):
    def refuse(pool, function, *args):
        raise OSError("cannot start a worker")

    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "submit", refuse)
    with pytest.raises(OSError, match="cannot start a worker"):
        list(ordered_map(slow_square, range(40), 2, worker_context()))


def test_ordered_map_raises_the_first_bad_items_error_whoever_met_another_first():
    list(ordered_map(slow_square, range(4), 2, worker_context()))  # a warm worker server
    # Items 1 and 2 go to the pool's one worker; this process takes item 3 and fails first.
    items = [0, 1, -2, -3, 4, 5, 6, 7]
    for _ in range(3):
        with pytest.raises(ValueError, match=r"negative item -2$"):
            list(ordered_map(slow_square, items, 2, worker_context()))


def settings_seen(_: int) -> tuple[str | None, str | None, int]:
    time.sleep(0.05)
    return os.environ.get("VPSBENCH_KERNELS"), os.environ.get("VPSBENCH_PNG_DECODER"), os.getpid()


def test_workers_take_the_settings_of_the_caller_not_of_the_forkserver(monkeypatch):
    """The forkserver keeps the environment of its first start; a setting changed later in
    this process (a test, a notebook) must still reach every worker of the next pool."""
    monkeypatch.setenv("VPSBENCH_PNG_DECODER", "pyspng")
    list(ordered_map(settings_seen, range(3), 2, worker_context()))  # the server runs now
    monkeypatch.setenv("VPSBENCH_KERNELS", "numpy")
    monkeypatch.delenv("VPSBENCH_PNG_DECODER")
    seen = list(ordered_map(settings_seen, range(8), 3, worker_context()))
    assert len({pid for _, _, pid in seen}) > 1  # pool workers did some of them
    assert {(kernels, decoder) for kernels, decoder, _ in seen} == {("numpy", None)}
