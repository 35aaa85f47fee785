"""Worker pools shared by converting and scoring."""

import concurrent.futures
import platform
import signal

import pytest

from vpsbench.parallel import init_worker, keep_freed_memory, worker_context


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
