"""Two cores where it pays: ``in_two(first, second)`` runs ``second`` in a forked process while this one runs
``first``, and returns both results. Forking is used only where it is safe (Linux, and no other thread that
could hold a lock the child needs: a live progress display runs one); elsewhere the two run one after the
other, with the same results."""

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


def in_two(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    if not can_fork():
        return first(), second()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its result back through the pipe, then out without cleanup handlers
        code = 0
        try:
            os.close(read_fd)
            data = pickle.dumps(second(), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # reported by the parent
            data = pickle.dumps(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            code = 1
        try:
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        mine = first()
    finally:
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
    theirs = pickle.loads(data) if data else RuntimeError("the second worker process died")
    if isinstance(theirs, BaseException):
        raise theirs
    return mine, theirs
