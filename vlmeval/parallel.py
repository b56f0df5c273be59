"""Two cores where it pays: ``in_two(first, second)`` runs ``second`` in a forked process while this one runs
``first``, and returns both results; ``start(job)`` forks ``job`` off and returns a ``Pending`` whose
``result()`` collects it later, so this process can do other work meanwhile. Forking is used only where it is
safe (Linux, and no other thread that could hold a lock the child needs: a live progress display runs one);
elsewhere the jobs run here, one after the other, with the same results.

A forked process shares this one's memory only until either writes to it, and in Python reading an object
writes its reference count: a child that lives long beside a large process soon holds its own copy of what
both touch. Long work beside a large run goes to a ``Worker`` instead, a fresh Python process that holds
only what it is sent."""

from __future__ import annotations

import os
import pickle
import struct
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
        self._job = None  # the child has it: what it holds need not stay alive here

    @property
    def forked(self) -> bool:
        """Whether the job runs in a process of its own (else it runs here, in ``result()``)."""
        return self._pid >= 0

    def ready(self) -> bool:
        """Whether ``result()`` would not wait for the job (done, or to be run here)."""
        if self._pid < 0:
            return True
        import select

        return bool(select.select([self._read], [], [], 0)[0])  # the child writes (or died) once done

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


class Worker:
    """A fresh Python process (``python -m vlmeval.parallel TARGET``) that applies ``TARGET``
    ("module:function") to each argument tuple of the batches it is sent, in order. ``send`` does not wait for
    the work (the worker reads its input as it comes, on a thread of its own), ``ready`` says whether a
    batch's results can be read without waiting, ``receive`` reads the oldest, ``close`` ends it. An exception
    in the worker comes back as the exception."""

    def __init__(self, target: str):
        import subprocess

        path = os.pathsep.join(p for p in sys.path if p)  # the same vlmeval, installed or not
        env = {**os.environ, "PYTHONPATH": path}
        self._proc = subprocess.Popen([sys.executable, "-m", "vlmeval.parallel", target], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)  # fmt: skip
        self.outstanding = 0

    def send(self, batch: list[tuple]) -> None:
        try:
            _write_frame(self._proc.stdin, batch)
        except BrokenPipeError:
            pass  # it has stopped: ``receive`` says how
        self.outstanding += 1

    def ready(self) -> bool:
        import select

        return self.outstanding > 0 and bool(select.select([self._proc.stdout], [], [], 0)[0])

    def receive(self) -> list:
        data = _read_frame(self._proc.stdout)
        if data is None:
            code = self._proc.wait()
            how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
            raise RuntimeError(f"a worker process (python -m vlmeval.parallel) stopped: {how}")
        self.outstanding -= 1
        if isinstance(data, BaseException):
            raise data
        return data

    def close(self) -> None:
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        if self.outstanding:  # abandoned: it need not finish
            self._proc.kill()
        self._proc.stdout.close()
        self._proc.wait()


def _write_frame(stream, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def _read_frame(stream):
    """The next value, or None where the stream ends (also part-way through a value: its writer died)."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = struct.unpack("<Q", head)[0]
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


def _serve(target: str) -> None:
    """The worker's side: batches are read on a thread as they arrive, worked through here in order, and
    their results written back on another thread (so a reader that is busy never stalls the work)."""
    import importlib
    import queue
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupted run ends its worker itself
    module, name = target.split(":")
    fn = getattr(importlib.import_module(module), name)
    inbox: queue.Queue = queue.Queue()
    outbox: queue.Queue = queue.Queue()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout carries the frames: nothing else may write there

    def read() -> None:
        while (batch := _read_frame(stdin)) is not None:
            inbox.put(batch)
        inbox.put(None)

    def write() -> None:
        try:
            while (result := outbox.get()) is not None:
                _write_frame(stdout, result)
        except OSError:  # the run is gone: nobody to answer
            os._exit(0)

    threading.Thread(target=read, daemon=True).start()
    writer = threading.Thread(target=write)
    writer.start()
    while (batch := inbox.get()) is not None:
        try:
            outbox.put([fn(*args) for args in batch])
        except Exception as exc:  # sent back to be raised there
            outbox.put(exc)
    outbox.put(None)
    writer.join()


if __name__ == "__main__":
    _serve(sys.argv[1])
