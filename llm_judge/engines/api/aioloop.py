"""One asyncio event loop on one background thread, for synchronous code that drives async clients.

API engines keep hundreds of requests in flight as coroutines on this loop (no thread per request),
while ``ChatModel.stream`` stays an ordinary iterator that the caller consumes on its own thread, even
from inside a notebook that already runs a loop. The loop lives as long as the engine, so HTTP
connections are reused across ``stream`` calls.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "llm-judge-api"):
        # plain asyncio: uvloop measured no faster here, the SDKs' own work per call dominates
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro: Awaitable[T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def run(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return self.submit(coro).result(timeout)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def close(self, cleanup: Awaitable[Any] | None = None, timeout: float = 10.0) -> None:
        """Run ``cleanup`` (e.g. closing HTTP clients), cancel what is left, stop the loop and the thread."""
        if self.loop.is_closed():
            return
        if cleanup is not None:
            try:
                self.run(cleanup, timeout)
            except Exception:  # closing is best effort: the process may be on its way out after an error
                pass

        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(cancel_rest(), timeout)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
