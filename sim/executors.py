"""Where tasks run: this process, a local process pool, or a dask.distributed cluster.

Every executor takes the same tasks (a function and its arguments, keyed) and yields
(key, result) as tasks finish. What a task computes never depends on where it ran, so every
executor gives the same results; only their order of arrival differs, and callers sort.
"""
from __future__ import annotations

import atexit
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    """A process pool kept for the life of this process, so repeated ensembles (sweeps, the
    explorer) pay the workers' start-up once. Spawned, never forked: safe from notebooks and
    threads on every platform."""
    pool = _POOLS.get(workers)
    if pool is None:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
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
    pool.shutdown(wait=False, cancel_futures=True)


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

    def run(self, fn, tasks):
        tasks = iter(tasks)
        pending = {}
        try:
            # at most two tasks per worker in flight: bounded memory, no idle worker
            for key, args in tasks:
                pending[self.pool.submit(fn, *args)] = key
                if len(pending) >= 2 * self.workers:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    key = pending.pop(future)
                    yield key, future.result()
                    nxt = next(tasks, None)
                    if nxt is not None:
                        pending[self.pool.submit(fn, *nxt[1])] = nxt[0]
        except (KeyboardInterrupt, Exception):
            _POOLS.pop(self.workers, None)
            _abandon(self.pool)
            raise

    def close(self) -> None:
        pass  # the pool is shared for the life of the process


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
            self.cluster = LocalCluster(n_workers=local_workers or 1, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None)
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
