"""Two cores where it pays: ``in_two(first, second)`` runs ``second`` in a forked process while this one runs
``first``, and returns both results; ``start(job)`` forks ``job`` off and returns a ``Pending`` whose
``result()`` collects it later, so this process can do other work meanwhile. Forking is used only where it is
safe (Linux, and no other thread that could hold a lock the child needs: a live progress display runs one);
elsewhere the jobs run here, one after the other, with the same results."""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


def can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1 and (os.cpu_count() or 1) > 1


class Pending:
    """A job running in a forked process (or, where forking is not safe, run here when asked for)."""

    def __init__(self, job: Callable[[], B]):
        self._job: Callable[[], B] | None = job
        self._pid = -1
        if not can_fork():
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its result back through the pipe, then out without cleanup handlers
            code = 0
            try:
                os.close(read_fd)
                data = pickle.dumps(job(), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # reported by the parent
                data = pickle.dumps(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                code = 1
            try:
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(data)
            finally:
                os._exit(code)
        os.close(write_fd)
        self._pid, self._read = pid, read_fd

    def discard(self) -> None:
        """Collect the child without its result (this process failed first)."""
        if self._pid >= 0:
            with os.fdopen(self._read, "rb") as pipe:
                pipe.read()
            os.waitpid(self._pid, 0)
        self._pid, self._job = -2, None

    def result(self) -> B:
        if self._pid < 0:
            job, self._job = self._job, None
            return job()  # type: ignore[misc]
        with os.fdopen(self._read, "rb") as pipe:
            data = pipe.read()
        os.waitpid(self._pid, 0)
        self._pid = -2
        theirs = pickle.loads(data) if data else RuntimeError("the second worker process died")
        if isinstance(theirs, BaseException):
            raise theirs
        return theirs


def start(job: Callable[[], B]) -> Pending:
    return Pending(job)


def in_two(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    pending = start(second)
    try:
        mine = first()
    except BaseException:
        pending.discard()
        raise
    return mine, pending.result()
