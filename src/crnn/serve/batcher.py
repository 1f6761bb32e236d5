"""Batching: line images of concurrent requests read as one batch (MicroBatcher); whole pages
read a few at a time with a bounded wait (PageQueue)."""

import asyncio
import collections
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .settings import QueueFull, ServeError


# --------------------------------------------------------------------------- batching
@dataclass
class _Job:
    images: list[np.ndarray]
    names: list[str]
    future: asyncio.Future


class MicroBatcher:
    """Gathers the images of concurrent requests into batches and runs them off the loop.

    ``infer(images, names) -> results`` (one result per image, in order) runs in a pool of
    ``max_concurrency`` threads. A batch starts when a worker is free: it takes the first
    waiting request, then any others already waiting or arriving within ``window_s``, up to
    ``max_batch`` images. While the workers are busy, requests queue and so batch by
    themselves. With ``batching=False`` every request is run on its own.

    Created lazily on the running event loop by the first :meth:`submit`.
    """

    def __init__(self, infer: Callable[[list[np.ndarray], list[str]], Sequence[Any]], *,
                 window_s: float = 0.005, max_batch: int = 64, max_concurrency: int = 1,
                 max_queue: int = 256, batching: bool = True) -> None:
        self.infer = infer
        self.window_s = window_s
        self.max_batch = max_batch
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.batching = batching
        self.queued = 0          # images submitted and not yet handed to a worker
        self.inferences = 0      # infer() calls made
        self.images = 0          # images inferred
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: collections.deque[_Job] = collections.deque()
        self._event: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._collector: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()
        self._executor: ThreadPoolExecutor | None = None

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._collector is None or self._collector.done():
            self._loop = loop
            self._pending.clear()
            self.queued = 0
            self._event = asyncio.Event()
            self._slots = asyncio.Semaphore(self.max_concurrency)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_concurrency,
                                                    thread_name_prefix="crnn-infer")
            self._collector = loop.create_task(self._collect(), name="crnn-batcher")
        return loop

    async def submit(self, images: list[np.ndarray], names: list[str]) -> list[Any]:
        """Queue one request's images; their results, in order, once a worker ran them.

        Raises :class:`QueueFull` at once when ``max_queue`` images are already waiting.
        """
        if not images:
            return []
        loop = self._ensure_started()
        if self.queued + len(images) > self.max_queue:
            raise QueueFull(self.queued, self.max_queue)
        job = _Job(list(images), list(names), loop.create_future())
        self._pending.append(job)
        self.queued += len(images)
        assert self._event is not None
        self._event.set()
        try:
            return await job.future
        except asyncio.CancelledError:  # the client went away: drop its images if not started
            if job in self._pending:
                self._pending.remove(job)
                self.queued -= len(job.images)
            raise

    async def _wait_pending(self, deadline: float | None) -> bool:
        """Until a job is pending (True) or ``deadline`` (loop time) passes (False)."""
        assert self._event is not None and self._loop is not None
        while not self._pending:
            self._event.clear()
            timeout = None if deadline is None else deadline - self._loop.time()
            if timeout is not None and timeout <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except asyncio.TimeoutError:
                return bool(self._pending)
        return True

    async def _gather(self) -> list[_Job]:
        assert self._loop is not None
        await self._wait_pending(None)
        jobs = [self._pending.popleft()]
        n = len(jobs[0].images)
        if self.batching:
            deadline = self._loop.time() + self.window_s
            while n < self.max_batch:
                if not self._pending and not await self._wait_pending(deadline):
                    break
                if n + len(self._pending[0].images) > self.max_batch:
                    break
                jobs.append(self._pending.popleft())
                n += len(jobs[-1].images)
        self.queued -= n
        return jobs

    async def _collect(self) -> None:
        assert self._slots is not None and self._loop is not None
        while True:
            await self._slots.acquire()
            try:
                jobs = await self._gather()
            except BaseException:
                self._slots.release()
                raise
            task = self._loop.create_task(self._run(jobs))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, jobs: list[_Job]) -> None:
        assert self._slots is not None and self._loop is not None
        try:
            images = [im for job in jobs for im in job.images]
            names = [nm for job in jobs for nm in job.names]
            try:
                results = await self._loop.run_in_executor(self._executor, self.infer, images,
                                                           names)
            except Exception as exc:  # handed to every waiting request (-> HTTP 500)
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                return
            self.inferences += 1
            self.images += len(images)
            start = 0
            for job in jobs:
                end = start + len(job.images)
                if not job.future.done():
                    job.future.set_result(list(results[start:end]))
                start = end
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        """Stop gathering, fail what still waits, and let the worker threads go."""
        if self._collector is not None:
            self._collector.cancel()
            try:
                await self._collector
            except asyncio.CancelledError:
                pass
            self._collector = None
        for job in self._pending:
            if not job.future.done():
                job.future.set_exception(ServeError(503, "server shutting down"))
        self._pending.clear()
        self.queued = 0
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class PageQueue:
    """Whole-page work with bounded concurrency: ``concurrency`` pages run at once in their
    own threads, ``waiting`` more may wait, and a request beyond that is refused at once
    (:class:`ServeError` 503), so page uploads cannot starve line requests or pile up."""

    def __init__(self, concurrency: int = 1, waiting: int = 4) -> None:
        self.concurrency, self.waiting = concurrency, waiting
        self.admitted = 0        # requests running or waiting
        self.pages = 0           # pages read
        self._slots: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[[], Any]) -> Any:
        if self.admitted >= self.concurrency + self.waiting:
            raise ServeError(503, f"server busy: {self.admitted} page requests are running "
                                  f"or waiting (limit {self.concurrency + self.waiting}); "
                                  "retry shortly")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
            self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="crnn-page")
        self.admitted += 1
        try:
            async with self._slots:
                return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        finally:
            self.admitted -= 1

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
