"""Where tasks run: this process, a local process pool, or a dask.distributed cluster.

Every executor takes the same tasks (a function and its arguments, keyed) and yields
(key, result) as tasks finish. What a task computes never depends on where it ran, so every
executor gives the same results; only their order of arrival differs, and callers sort.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from truce_sim.core.errors import MachineError

_POOLS: dict[int, ProcessPoolExecutor] = {}
PARENT_POLL_SECONDS = 0.5


class WorkerDied(MachineError):
    """A worker process of a local pool died in the middle of the work (exit status 1)."""

    def __init__(self):
        super().__init__(
            "a worker process died (killed by the system, perhaps out of memory); "
            "rerun with fewer --workers or a smaller --batch-size"
        )


def _worker_start(parent: int) -> None:
    """The first thing every worker runs. Ctrl-C reaches the whole process group, but only the
    parent acts on it (it stops the workers), so workers ignore SIGINT rather than print a
    traceback each. A worker also leaves on its own once its parent is gone, however the parent
    died (SIGKILL, the OOM killer): a pool's worker would otherwise wait for tasks forever.

    The parent is polled rather than watched with prctl(PR_SET_PDEATHSIG): that signal is sent
    when the *thread* that started the worker ends, and pools are also used from short-lived
    threads (the explorer's server), whose end would kill workers of a living pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), name="truce-sim-parent-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Workers are started inside ``submit``: one started while this thread blocks SIGINT inherits
    the block, so a Ctrl-C during its start-up (before ``_worker_start`` ignores SIGINT) cannot
    interrupt its imports. The parent loses nothing: the signal waits, or goes to another thread."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _pool(workers: int) -> ProcessPoolExecutor:
    """A process pool kept for the life of this process, so repeated ensembles (sweeps, the
    explorer) pay the workers' start-up once. Spawned, never forked: safe from notebooks and
    threads on every platform."""
    pool = _POOLS.get(workers)
    if pool is None:
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        _POOLS[workers] = pool
    return pool


@atexit.register
def shutdown_pools() -> None:
    while _POOLS:
        _POOLS.popitem()[1].shutdown(cancel_futures=True)


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once (after Ctrl-C or a failure): its workers are terminated and reaped,
    so that no half-started or busy worker can hold the interpreter's exit."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5)
        if process.exitcode is None:  # stuck where SIGTERM cannot reach it
            process.kill()
            process.join(1)
    pool.shutdown(wait=False, cancel_futures=True)
    # forgotten only now: if a second Ctrl-C cut the above short, abandon_pools() finishes it
    for workers, known in list(_POOLS.items()):
        if known is pool:
            del _POOLS[workers]


def abandon_pools() -> None:
    """Stop every pool at once; for a process about to leave with ``os._exit``, which would
    otherwise skip the pools' shutdown and leave their workers to find out on their own."""
    for pool in list(_POOLS.values()):
        _abandon(pool)


def _lost_a_worker(pool: ProcessPoolExecutor) -> bool:
    """Whether the pool is broken or one of its workers has died."""
    if getattr(pool, "_broken", False):
        return True
    processes = list((getattr(pool, "_processes", None) or {}).values())
    return any(process.exitcode is not None for process in processes)


class InProcess:
    """Run tasks one after the other here (one worker)."""

    name = "in-process"

    def run(self, fn: Callable, tasks: Iterable[tuple[Any, tuple]]) -> Iterator[tuple[Any, Any]]:
        for key, args in tasks:
            yield key, fn(*args)

    def close(self) -> None:
        pass


class LocalPool:
    """A pool of spawned processes on this machine, at most two tasks per worker in flight."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = _pool(workers)
        self.name = f"local pool of {workers}"
        self._unfinished = 0

    def _submit(self, fn, args):
        with _sigint_blocked():
            return self.pool.submit(fn, *args)

    def run(self, fn, tasks):
        self.pool = _pool(self.workers)  # a fresh one if an earlier run had to abandon it
        tasks = iter(tasks)
        pending = {}
        finished = False
        self._unfinished += 1
        try:
            # at most two tasks per worker in flight: bounded memory, no idle worker
            for key, args in tasks:
                pending[self._submit(fn, args)] = key
                if len(pending) >= 2 * self.workers:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    key = pending.pop(future)
                    yield key, future.result()
                    nxt = next(tasks, None)
                    if nxt is not None:
                        pending[self._submit(fn, nxt[1])] = nxt[0]
            finished = True
        except BrokenProcessPool:
            raise WorkerDied() from None
        except (OSError, ValueError):
            # a worker killed while it was being started breaks the pool's pipes before the pool
            # marks itself broken ("handle is closed"); a task's own error leaves the workers alive
            if _lost_a_worker(self.pool):
                raise WorkerDied() from None
            raise
        finally:
            self._unfinished -= 1
            # stopped early (Ctrl-C, a failed task, a consumer that raised): the tasks still in
            # flight would keep the workers busy, and the process from leaving, for nothing
            if not finished:
                _abandon(self.pool)

    def close(self) -> None:
        # The pool is shared for the life of the process. A run whose consumer raised is closed
        # only when collected; stop its tasks now instead.
        if self._unfinished:
            _abandon(self.pool)


class DaskCluster:
    """A dask.distributed cluster: a running scheduler (tcp://HOST:PORT) or a LocalCluster.

    Dask reruns the tasks of a worker that dies; a task's result is used once, by key, so a
    rerun neither loses nor duplicates a point.
    """

    def __init__(self, address: str | None = None, local_workers: int | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask is a dependency
            raise RuntimeError("dask.distributed is not installed: pip install 'dask[distributed]'") from exc
        self.cluster = None
        if address is None:
            self.cluster = LocalCluster(
                n_workers=local_workers or 1,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            address = self.cluster.scheduler_address
        self.client = Client(address, timeout="10s")
        self.name = f"dask cluster at {address}"
        self.workers = max(len(self.client.scheduler_info().get("workers", {})), 1)

    def run(self, fn, tasks):
        from distributed import as_completed

        tasks = iter(tasks)
        futures = {}
        window = as_completed()
        for key, args in tasks:
            future = self.client.submit(fn, *args, pure=False, retries=3)
            futures[future.key] = key
            window.add(future)
            if len(futures) >= 4 * self.workers:
                break
        for future in window:
            key = futures.pop(future.key)
            yield key, future.result()
            future.release()
            nxt = next(tasks, None)
            if nxt is not None:
                new = self.client.submit(fn, *nxt[1], pure=False, retries=3)
                futures[new.key] = nxt[0]
                window.add(new)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(workers: int = 1, scheduler: str | None = None, dask_local: int | None = None):
    if scheduler:
        return DaskCluster(address=scheduler)
    if dask_local:
        return DaskCluster(local_workers=dask_local)
    return InProcess() if workers <= 1 else LocalPool(workers)
