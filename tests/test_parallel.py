"""vlmeval.parallel: forked jobs and the fresh worker process give the results (and the errors) of running
the same work here."""

from __future__ import annotations

import os

import pytest

from vlmeval.parallel import Worker, can_fork, in_two, start

posix = pytest.mark.skipif(os.name != "posix", reason="pipes and select")


def test_in_two_and_start_return_the_jobs_results():
    assert in_two(lambda: 1 + 1, lambda: [3] * 3) == (2, [3, 3, 3])
    job = start(lambda: {"a": sum(range(10))})
    assert job.forked == can_fork()
    assert job.result() == {"a": 45}


def test_a_forked_jobs_exception_is_raised_here():
    def fails():
        raise ValueError("bad input in the child")

    job = start(fails)
    with pytest.raises(ValueError, match="bad input in the child"):
        job.result()


@posix
def test_worker_applies_its_target_to_each_batch_in_order():
    worker = Worker("os.path:join")
    try:
        worker.send([("a", "b"), ("c",)])
        worker.send([("x", "y", "z")])
        assert worker.outstanding == 2
        assert worker.receive() == [os.path.join("a", "b"), "c"]
        assert worker.receive() == [os.path.join("x", "y", "z")]
        assert worker.outstanding == 0 and not worker.ready()
    finally:
        worker.close()


@posix
def test_worker_errors_come_back_as_exceptions_and_it_goes_on():
    worker = Worker("math:sqrt")
    try:
        worker.send([(-1.0,)])
        worker.send([(9.0,)])
        with pytest.raises(ValueError):
            worker.receive()
        assert worker.receive() == [3.0]
    finally:
        worker.close()


@posix
def test_an_abandoned_worker_is_ended():
    worker = Worker("time:sleep")
    worker.send([(30,)])
    worker.close()  # does not wait for the half minute
    assert worker._proc.returncode is not None


@posix
def test_a_worker_that_dies_is_one_sentence():
    worker = Worker("os:getpid")
    try:
        worker.send([()])
        pid = worker.receive()[0]
        os.kill(pid, 9)
        worker._proc.wait()  # gone before the next batch is sent
        worker.send([()])
        with pytest.raises(RuntimeError, match="worker process .* stopped: killed by signal 9"):
            worker.receive()
    finally:
        worker.close()
