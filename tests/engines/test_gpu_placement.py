"""GPU placement of Ray workers, tested without GPUs: Ray only counts the GPUs it is told of, so a pool of
2 workers x 2 GPUs out of 4 must give each worker two ids of its own, visible to its engine as
CUDA_VISIBLE_DEVICES (which is how the transformers and vLLM engines choose their devices)."""
from __future__ import annotations

import logging
import os
import sys
from typing import Iterator, Sequence

import pytest

from llm_judge.engines.base import ChatModel, GenRequest, GenResult
from llm_judge.cli.engine_flags import engine_config
from llm_judge.cli.gen_model_answer import build_parser
from llm_judge.engines.pool import PoolOptions, RayPool
from llm_judge.errors import ConfigError

pytestmark = pytest.mark.ray

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def four_gpus():
    """A local Ray instance that believes it has 4 GPUs."""
    ray.init(num_cpus=2, num_gpus=4, include_dashboard=False, logging_level=logging.WARNING)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    yield
    ray.shutdown()


class Probe(ChatModel):
    """An engine that answers every request with what its worker process could see when it was built."""

    engine = "probe"

    def __init__(self) -> None:
        self.visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.pid = os.getpid()

    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        for i in range(len(requests)):
            yield i, GenResult(text=f"{self.pid} {self.visible}")


def gpu_pool(total: int, per_model: int) -> PoolOptions | None:
    """gen_model_answer's GPU flags as pool settings; --ray-address joins the Ray instance of the fixture."""
    args = build_parser().parse_args(["--num-gpus-total", str(total), "--num-gpus-per-model", str(per_model),
                                      "--ray-address", "auto"])
    return engine_config(args, args.model_path, args.engine, "probe").pool


def test_each_worker_gets_its_own_gpus(four_gpus):
    opts = gpu_pool(4, 2)
    assert (opts.workers, opts.gpus_per_worker) == (2, 2)
    with RayPool(Probe, opts, name="probe") as pool:
        placed = [p["gpu_ids"] for p in pool.placements]
        assert sorted(len(ids) for ids in placed) == [2, 2]
        assert sorted(i for ids in placed for i in ids) == [0, 1, 2, 3]  # disjoint, all four used
        assert [p["cuda_visible_devices"] for p in pool.placements] == [",".join(map(str, ids)) for ids in placed]
        assert pool.describe()["worker_gpu_ids"] == placed and pool.describe()["gpus_per_worker"] == 2
        # Each engine was built seeing exactly its worker's GPUs, and both workers served requests.
        seen = {r.text for _, r in pool.stream([GenRequest([{"role": "user", "content": "x" * i}]) for i in range(8)])}
    assert len(seen) == 2
    assert sorted(text.split()[1] for text in seen) == sorted(p["cuda_visible_devices"] for p in pool.placements)


def test_more_gpus_than_the_cluster_has_is_refused(four_gpus):
    with pytest.raises(ConfigError, match="3 workers x 2 GPUs need 6 GPUs, but the Ray cluster has 4"):
        RayPool(Probe, PoolOptions(workers=3, gpus_per_worker=2), name="probe")


def test_cpu_workers_get_no_gpus(four_gpus):
    with RayPool(Probe, PoolOptions(workers=2), name="probe") as pool:
        assert [p["gpu_ids"] for p in pool.placements] == [[], []]
        assert "worker_gpu_ids" not in pool.describe()
        seen = {r.text for _, r in pool.stream([GenRequest([{"role": "user", "content": "x"}])] * 4)}
    assert all(text.split(" ", 1)[1] in ("None", "") for text in seen)
