"""Several copies of a local engine working at once, through Ray (the only module that imports ray).

:class:`RayPool` is a :class:`ChatModel`: its ``stream(requests)`` splits the requests into one shard per
worker, balanced by expected work (prompt length + token budget) so the workers finish together, and
yields each result to the calling process as soon as a worker produces it. Each worker is a Ray actor
holding one engine (transformers or vLLM) on its own GPUs (``--num-gpus-per-model``) or, without GPUs, on
its share of the CPU cores (``--num-workers``). Workers never write files: the caller (answering or
judging) writes every record, in this one process. When a worker dies, the results it already sent are
kept and the rest of its shard is given to a fresh worker; after ``max_retries`` restarts the remaining
requests become error results, which a rerun retries.

``--ray-address`` joins an existing cluster (the model path must then exist on every node); otherwise a
local Ray instance is started with just the CPUs and GPUs this run needs.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable, Iterator, Sequence

from ..errors import ConfigError, LlmJudgeError, MissingDependency
from .base import ChatModel, GenRequest, GenResult
from .config import PoolOptions

log = logging.getLogger(__name__)

_FATAL = "__llm_judge_fatal__"  # marks an error that makes every later call pointless (sent by a worker)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependency("ray", "ray") from None
    return ray


def local_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Worker:
    """Body of each Ray actor: one engine, serving shards of requests."""

    def __init__(self, build: Callable[[], ChatModel], threads: int | None):
        self.placement = self._pin_gpus()  # before the engine exists: CUDA reads CUDA_VISIBLE_DEVICES once
        if threads:
            os.environ["OMP_NUM_THREADS"] = str(threads)
            try:
                import torch

                torch.set_num_threads(threads)
            except ImportError:
                pass
        self.error: str | None = None
        self.model: ChatModel | None = None
        try:
            self.model = build()
        except LlmJudgeError as exc:  # reported by ready(): exceptions do not always survive pickling
            self.error = str(exc)

    @staticmethod
    def _pin_gpus() -> dict[str, Any]:
        """This actor's GPUs as Ray assigned them, made the only ones its engine can see.

        Ray sets CUDA_VISIBLE_DEVICES to an actor's GPU ids unless told not to
        (RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES); set it here either way, so that the engine's devices
        (cuda:0 for one GPU, device_map="auto" or vLLM's tensor-parallel workers for several) are exactly the
        GPUs this worker holds and never another worker's.
        """
        import ray

        ids = list(ray.get_gpu_ids())
        if ids:
            os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in ids)
        return {"gpu_ids": ids, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "node": ray.get_runtime_context().get_node_id()}

    def ready(self) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
        """(load error or None, the engine's describe(), where this worker runs: see _pin_gpus)."""
        return self.error, (self.model.describe() if self.model else {}), self.placement

    def run(self, requests: list[GenRequest], indices: list[int]) -> Iterator[tuple[int, Any]]:
        assert self.model is not None
        try:
            for k, result in self.model.stream(requests):
                yield indices[k], result
        except LlmJudgeError as exc:
            yield -1, (_FATAL, str(exc))

    def close(self) -> None:
        if self.model:
            self.model.close()


def balanced_shards(requests: Sequence[GenRequest], n: int) -> list[list[int]]:
    """Request indices in ``n`` shards of about equal expected work (longest first to the lightest shard).

    Work is estimated in generated-token units: the token budget (1 for a score request), plus the prompt
    at about 4 characters a token, each weighed a tenth of a generated token (prompts are read in one
    pass, answers one token per step). Each shard keeps the original order.
    """
    def cost(r: GenRequest) -> float:
        prompt_tokens = sum(len(m.get("content") or "") for m in r.messages) / 4
        return prompt_tokens / 10 + (1 if r.score_choices else r.max_new_tokens)

    loads = [0.0] * n
    shards: list[list[int]] = [[] for _ in range(n)]
    for i in sorted(range(len(requests)), key=lambda i: -cost(requests[i])):
        k = min(range(n), key=lambda s: (loads[s], len(shards[s])))
        shards[k].append(i)
        loads[k] += cost(requests[i])
    return [sorted(s) for s in shards if s]


class RayPool(ChatModel):
    """A ChatModel whose requests are served by ``options.workers`` Ray actors, each with one engine."""

    def __init__(self, build: Callable[[], ChatModel], options: PoolOptions, name: str = "model"):
        self.ray = ray = _ray()
        self.build = build
        self.options = opts = options
        self.name = name
        self._started_ray = False
        if not ray.is_initialized():
            self._init_ray()
        self._check_resources()
        if opts.gpus_per_worker:
            self._actor_opts: dict[str, Any] = {"num_gpus": opts.gpus_per_worker, "num_cpus": 1}
            self._threads = None
        else:
            per = self._cpus_per_worker()
            self._actor_opts = {"num_cpus": per}
            self._threads = per
        self._actor_cls = ray.remote(_Worker)
        self.workers = [self._start() for _ in range(opts.workers)]
        self.placements: list[dict[str, Any]] = [{} for _ in self.workers]  # per worker: GPU ids, node
        described = self._wait_ready(list(range(opts.workers)))
        self.engine = described.get("engine", "hf")
        self._describe = described

    # -- Ray set-up ----------------------------------------------------------------------------------

    def _init_ray(self) -> None:
        ray, opts = self.ray, self.options
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                                  "configure_logging": True}
        if opts.address:
            kwargs["address"] = opts.address
        else:
            per = 1 if opts.gpus_per_worker else self._cpus_per_worker()
            kwargs["num_cpus"] = max(local_cores(), opts.workers * per)
        log.info("starting Ray%s", f" (joining {opts.address})" if opts.address else "")
        try:
            ray.init(**kwargs)
        except Exception as exc:
            raise ConfigError(f"could not start Ray{' at ' + opts.address if opts.address else ''}: {exc}") from None
        self._started_ray = True

    def _cpus_per_worker(self) -> int:
        """CPU workers share this machine's cores out evenly (each runs that many torch threads)."""
        return max(1, local_cores() // self.options.workers)

    def _check_resources(self) -> None:
        have = self.ray.cluster_resources()
        opts = self.options
        if opts.gpus_per_worker:
            need = opts.gpus_per_worker * opts.workers
            if have.get("GPU", 0) < need:
                raise ConfigError(f"{opts.workers} workers x {opts.gpus_per_worker:g} GPUs need {need:g} GPUs, "
                                  f"but the Ray cluster has {have.get('GPU', 0):g}; on a machine without GPUs "
                                  "use --num-workers N")

    def _start(self) -> Any:
        return self._actor_cls.options(**self._actor_opts).remote(self.build, self._threads)

    def _wait_ready(self, slots: list[int]) -> dict[str, Any]:
        """Wait for the workers in ``slots`` to build their engines; the engine's describe()."""
        described: dict[str, Any] = {}
        for s, (error, desc, placement) in zip(slots, self.ray.get([self.workers[s].ready.remote() for s in slots])):
            if error:
                self.close()
                raise ConfigError(f"a worker could not load the model: {error}")
            described = desc
            self.placements[s] = placement
        return described

    def describe(self) -> dict[str, Any]:
        d = dict(self._describe)
        d["ray_workers"] = self.options.workers
        if self.options.gpus_per_worker:
            d["gpus_per_worker"] = self.options.gpus_per_worker
            d["worker_gpu_ids"] = [p.get("gpu_ids", []) for p in self.placements]
        return d

    # -- serving -------------------------------------------------------------------------------------

    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        ray = self.ray
        shards = balanced_shards(requests, len(self.workers))
        remaining = [set(s) for s in shards]
        restarts = [0] * len(shards)
        running: dict[Any, int] = {}  # streaming generator -> shard

        def submit(s: int) -> None:
            idx = sorted(remaining[s])
            gen = self.workers[s].run.remote([requests[i] for i in idx], idx)
            running[gen] = s

        for s in range(len(shards)):
            submit(s)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            gen = ready[0]
            s = running[gen]
            try:
                index, result = ray.get(next(gen))
            except StopIteration:
                del running[gen]
                for i in sorted(remaining[s]):  # the engine skipped some: never leave a request unanswered
                    yield i, GenResult(error="engine returned no result")
                remaining[s].clear()
                continue
            except ray.exceptions.RayError as exc:
                del running[gen]
                if self._restart(s, exc, restarts, len(remaining[s])):
                    submit(s)
                else:
                    for i in sorted(remaining[s]):
                        yield i, GenResult(error=f"worker failed {restarts[s] + 1} times: {type(exc).__name__}")
                    remaining[s].clear()
                continue
            if index == -1 and isinstance(result, tuple) and result and result[0] == _FATAL:
                raise ConfigError(result[1])
            if index in remaining[s]:
                remaining[s].discard(index)
                yield index, result

    def _restart(self, s: int, exc: Exception, restarts: list[int], left: int) -> bool:
        """Replace shard ``s``'s worker with a fresh one; False when its retries are used up."""
        first_line = (str(exc).strip().splitlines() or [""])[0]
        log.warning("worker %d failed with %d requests left (%s: %s)", s, left, type(exc).__name__, first_line)
        if restarts[s] >= self.options.max_retries:
            return False
        restarts[s] += 1
        try:
            self.ray.kill(self.workers[s], no_restart=True)
        except Exception:  # already gone
            pass
        self.workers[s] = self._start()
        self._wait_ready([s])
        return True

    def close(self) -> None:
        ray = self.ray
        for w in getattr(self, "workers", []):
            try:
                ray.kill(w, no_restart=True)
            except Exception:  # already gone
                pass
        self.workers = []
        if self._started_ray and ray.is_initialized():
            ray.shutdown()
            self._started_ray = False


def visible_gpus() -> int:
    """GPUs torch sees on this machine (0 without torch or CUDA)."""
    try:
        import torch

        return torch.cuda.device_count()
    except ImportError:
        return 0
