"""Data-parallel vLLM: replicas of the engine as Ray actors, each holding one `LLM`, fed from one queue.

Ray actors are how lm-eval and lighteval run vLLM replicas, and the only way seen here that places
replicas on every node of a cluster and that cleans up after `kill -9`. Unlike their fixed shards, the
problems are handed out as replicas free up (`dispatch`). A replica with `tensor_parallel_size` > 1
gets a placement group of its own, which vLLM's Ray executor inside the actor takes over (vLLM's own
distributed offline example does the same).

Without `ray_address` (or `RAY_ADDRESS`), effbench starts a Ray instance of its own on this machine,
bound to 127.0.0.1, and stops it when done. With one, it joins that cluster and leaves it running.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from effbench.backends.codec import TokenizerCodec
from effbench.backends.dispatch import Dispatcher, Finished, Work
from effbench.backends.usage import Meter
from effbench.errors import BackendError
from effbench.types import Answer, Completion, EngineUse, Request

PLACE_TIMEOUT_S = 300.0  # to place every replica's actor on the cluster: a cluster without room never does
FORWARDED_ENV = ("VLLM_", "HF_", "TRANSFORMERS_")  # settings of the engine and the model's download, read in each replica


@dataclass(frozen=True)
class Placement:
    """Where a replica's actor runs."""

    node: str
    host: str
    cores: tuple[int, ...]  # the cores the actor's process may run on
    pid: int


class EngineReplica:
    """One vLLM engine in a Ray actor (`ray.remote` is applied when the pool starts)."""

    def placement(self) -> Placement:
        import socket

        import ray

        return Placement(
            ray.get_runtime_context().get_node_id(), socket.gethostname(), tuple(sorted(os.sched_getaffinity(0))), os.getpid()
        )

    def start(self, model: str, options: dict[str, Any], template_kwargs: dict[str, Any], env: dict[str, str]) -> int:
        """Build the engine; returns the sequences it decodes at once."""
        os.environ.update(env)
        from effbench.backends.vllm import Options, VLLMBackend

        self.engine = VLLMBackend(model, Options(**options), template_kwargs=template_kwargs)
        return int(self.engine.llm.llm_engine.vllm_config.scheduler_config.max_num_seqs)

    def advance(self, work: Work) -> Finished:
        self.engine.submit(work)
        while self.engine.busy():
            if finished := self.engine.step():
                return finished
        raise RuntimeError("the engine holds none of the requests it was handed")

    def abort(self) -> None:
        self.engine.abort()


@dataclass
class RayReplica:
    """A replica as the dispatcher sees it."""

    name: str
    capacity: int
    actor: Any
    placement: Placement

    def advance(self, work: Work) -> Future[Finished]:
        return self.actor.advance.remote(work).future()

    def abort(self) -> Future[None]:
        return self.actor.abort.remote().future()


class RayCluster:
    """A connection to a Ray cluster: the one at `address`, or an instance of effbench's own on this machine."""

    def __init__(self, address: str | None):
        if address and "RAY_AUTH_MODE" not in os.environ and has_ray_token():
            os.environ["RAY_AUTH_MODE"] = "token"  # as Ray does for the cluster it finds itself (address=auto); read on import
        try:
            import ray
        except ImportError:
            raise BackendError("replicas run as Ray actors, and Ray is not installed: pip install 'effbench[ray]'") from None
        self.ray, self.address, self.own_folder, self.joined = ray, address, None, False
        if ray.is_initialized():  # a caller of effbench's API connected already: use its connection, and leave it
            return
        settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        if address:
            try:
                ray.init(address=address, **settings)
            except Exception as exc:
                raise BackendError(
                    f"the Ray cluster at {address} cannot be joined ({_first_line(exc)}); is it started? A cluster that "
                    "asks for a token (Ray's default) needs it here: RAY_AUTH_TOKEN, or ray get-auth-token"
                ) from None
        else:
            self.own_folder = tempfile.mkdtemp(prefix="effbench-ray-")
            ray.init(num_cpus=len(os.sched_getaffinity(0)), _node_ip_address="127.0.0.1", _temp_dir=self.own_folder, **settings)
        self.joined = True

    def describe(self) -> str:
        return self.address or ("this machine" if self.own_folder else "the caller's Ray connection")

    def resources(self) -> dict[str, float]:
        return dict(self.ray.cluster_resources())

    def close(self) -> None:
        if self.joined:
            self.ray.shutdown()
        if self.own_folder:
            shutil.rmtree(self.own_folder, ignore_errors=True)


def has_ray_token() -> bool:
    """Whether this machine has a Ray cluster token: `ray start` writes one, or the user gave one."""
    return (
        bool(os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"))
        or (Path.home() / ".ray" / "auth_token").is_file()
    )


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]


class ReplicaPool:
    """`data_parallel_size` engine replicas behind the backend protocol: the orchestrator sees one backend."""

    def __init__(self, model: str, options: Any, *, template_kwargs: dict[str, Any], address: str | None):
        self.model, self.options = model, options
        self._template_kwargs = template_kwargs
        self.cluster = RayCluster(address)
        self._groups: list[Any] = []
        self.replicas: list[RayReplica] = []
        try:
            self._start()
            self.codec = TokenizerCodec.load(model, options.revision, options.trust_remote_code)
        except BaseException:
            self.close()
            raise
        self.meter = Meter([r.name for r in self.replicas])
        self.dispatcher = Dispatcher(self.replicas, self.meter)

    def _start(self) -> None:
        ray = self.cluster.ray
        count, tp = self.options.data_parallel_size, self.options.tensor_parallel_size
        gpus = self.cluster.resources().get("GPU", 0.0)
        self._check_room(count, tp, gpus)
        actors = [self._actor(tp, gpus > 0) for _ in range(count)]
        waiting = [actor.placement.remote() for actor in actors]
        ready, _ = ray.wait(waiting, num_returns=len(waiting), timeout=PLACE_TIMEOUT_S)
        if len(ready) < len(waiting):
            raise BackendError(
                f"the Ray cluster ({self.cluster.describe()}) placed {len(ready)} of {count} replicas within "
                f"{PLACE_TIMEOUT_S:g} s; it has {self._room()}: lower data_parallel_size or add nodes"
            )
        placements = ray.get(waiting)
        binds = cpu_binds(placements) if gpus == 0 else [None] * count
        engine_options = {
            **self.options.model_dump(exclude={"ray_address"}),
            "data_parallel_size": 1,
            "distributed_executor_backend": "ray" if tp > 1 else self.options.distributed_executor_backend,
        }
        starts = [
            actor.start.remote(self.model, engine_options, self._template_kwargs, replica_env(bind))
            for actor, bind in zip(actors, binds, strict=True)
        ]
        capacities = []
        for index, start in enumerate(starts):
            try:
                capacities.append(ray.get(start))
            except Exception as exc:
                raise BackendError(f"replica {index} could not start its engine: {_first_line(exc)}") from None
        self.replicas = [
            RayReplica(f"replica {i}", capacity, actor, placement)
            for i, (actor, capacity, placement) in enumerate(zip(actors, capacities, placements, strict=True))
        ]

    def _check_room(self, count: int, tp: int, gpus: float) -> None:
        if gpus > 0 and count * tp > gpus:
            raise BackendError(
                f"data_parallel_size={count} replicas of tensor_parallel_size={tp} need {count * tp} GPUs; the Ray "
                f"cluster ({self.cluster.describe()}) has {gpus:g}"
            )
        if gpus == 0 and tp > 1:
            raise BackendError(
                f"the Ray cluster ({self.cluster.describe()}) has no GPU: tensor_parallel_size must be 1 on the CPU"
            )
        cpus = self.cluster.resources().get("CPU", 0.0)
        if gpus == 0 and count > cpus:
            raise BackendError(
                f"data_parallel_size={count} replicas on the CPU take a core each; the Ray cluster "
                f"({self.cluster.describe()}) has {cpus:g}: lower data_parallel_size"
            )

    def _room(self) -> str:
        resources = self.cluster.resources()
        return ", ".join(f"{resources.get(name, 0):g} {name}s" for name in ("GPU", "CPU"))

    def _actor(self, tp: int, on_gpus: bool) -> Any:
        ray = self.cluster.ray
        if tp == 1:
            return ray.remote(num_cpus=1, num_gpus=1 if on_gpus else 0, max_restarts=0)(EngineReplica).remote()
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        group = ray.util.placement_group([{"GPU": 1, "CPU": 1}] * tp, strategy="STRICT_PACK")
        self._groups.append(group)
        strategy = PlacementGroupSchedulingStrategy(group, placement_group_capture_child_tasks=True)
        return ray.remote(num_cpus=1, num_gpus=0, max_restarts=0, scheduling_strategy=strategy)(EngineReplica).remote()

    def codec_for(self, completion: Completion) -> TokenizerCodec:
        return self.codec

    def prompt_text(self, request: Request) -> str:
        from effbench.backends.vllm import chat_prompt_text

        return chat_prompt_text(self.codec.tokenizer, request, self._template_kwargs)

    def describe(self) -> dict[str, Any]:
        import vllm

        return {
            "engine": "vllm",
            "vllm": vllm.__version__,
            "model": self.model,
            **self.options.model_dump(),
            "ray_cluster": self.cluster.describe(),
            "replicas": [
                {"name": r.name, "host": r.placement.host, "node": r.placement.node, "capacity": r.capacity}
                for r in self.replicas
            ],
        }

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Answer]]:
        return self.dispatcher.generate(requests)

    def engines(self) -> tuple[EngineUse, ...]:
        return self.meter.reading()

    def close(self) -> None:
        ray = self.cluster.ray
        for replica in self.replicas:
            ray.kill(replica.actor)
        for group in self._groups:
            ray.util.remove_placement_group(group)
        self.replicas, self._groups = [], []
        self.cluster.close()


def replica_env(bind: str | None) -> dict[str, str]:
    """A replica's environment: the engine's settings of this process, the engine in the actor's own process (one
    process per replica, nothing to outlive it), and on the CPU the cores it is bound to."""
    env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
    env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    if bind is not None:
        env.setdefault("VLLM_CPU_OMP_THREADS_BIND", bind)
    return env


def cpu_binds(placements: Sequence[Placement]) -> list[str]:
    """The CPU cores of each replica: a node's cores shared out among the replicas placed on it, so that two
    engines on one machine do not pin themselves to the same core."""
    on_node: dict[str, list[int]] = {}
    for index, placement in enumerate(placements):
        on_node.setdefault(placement.node, []).append(index)
    binds = [""] * len(placements)
    for indexes in on_node.values():
        cores = placements[indexes[0]].cores
        share = max(1, len(cores) // len(indexes))
        for rank, index in enumerate(indexes):
            mine = cores[rank * share : (rank + 1) * share] or cores[rank % len(cores) : rank % len(cores) + 1]
            binds[index] = ",".join(map(str, mine))
    return binds
