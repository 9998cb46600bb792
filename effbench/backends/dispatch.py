"""Work handed to engine replicas as they free up: one queue, not fixed shards.

Reasoning lengths vary a hundredfold between problems; shards fixed up front leave replicas idle behind
the longest chain. Here each replica holds at most as many sequences as it decodes at once, and is handed
more from the one queue each time some of its own finish. A replica that fails is taken out of the run,
and the problems it held go back to the queue for the others.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Protocol

from effbench.backends.usage import Meter
from effbench.errors import BackendError
from effbench.types import Completion, Request

log = logging.getLogger("effbench")
Work = list[tuple[int, Request]]
Finished = list[tuple[int, list[Completion]]]


class Replica(Protocol):
    """One engine that takes requests under keys of the caller's and answers those that finished."""

    name: str
    capacity: int  # sequences it decodes at once: what it is handed beyond that would only wait in its own queue

    def advance(self, work: Work) -> Future[Finished]:
        """Take `work`, generate until at least one of the requests held finishes, and answer the finished ones."""
        ...

    def abort(self) -> Future[None]:
        """Drop every request held."""
        ...


class Dispatcher:
    """Hands a batch of requests to replicas from one queue; the replicas lost stay out for the backend's life."""

    def __init__(self, replicas: Sequence[Replica], meter: Meter):
        self.replicas, self.meter = list(replicas), meter
        self.lost: dict[str, str] = {}

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[Completion]]]:
        queue = deque(enumerate(requests))
        held: dict[str, dict[int, Request]] = {r.name: {} for r in self.replicas}
        calls: dict[Future[Finished], Replica] = {}

        def feed(replica: Replica) -> None:
            work: Work = []
            load = sum(r.sampling.n for r in held[replica.name].values())
            while queue and ((not held[replica.name] and not work) or load + queue[0][1].sampling.n <= replica.capacity):
                key, request = queue.popleft()
                work.append((key, request))
                load += request.sampling.n
            if work or held[replica.name]:
                held[replica.name].update(work)
                self.meter.begin(replica.name, len(work))
                calls[replica.advance(work)] = replica

        for replica in self._live():
            feed(replica)
        try:
            while calls:
                done, _ = wait(list(calls), return_when=FIRST_COMPLETED)
                for future in done:
                    replica = calls.pop(future)
                    try:
                        finished = future.result()
                    except Exception as exc:
                        self._lose(replica, exc, held[replica.name], queue)
                        for idle in self._live():
                            if idle not in calls.values():
                                feed(idle)
                        continue
                    for key, completions in finished:
                        request = held[replica.name].pop(key)
                        self.meter.end(replica.name, completions)
                        yield request, completions
                    feed(replica)
        finally:
            self._settle(held)

    def _live(self) -> list[Replica]:
        return [r for r in self.replicas if r.name not in self.lost]

    def _lose(self, replica: Replica, error: Exception, held: dict[int, Request], queue: deque[tuple[int, Request]]) -> None:
        why = (str(error).strip().splitlines() or [""])[0][:200] or type(error).__name__
        self.lost[replica.name] = why
        self.meter.lose(replica.name, why)
        queue.extendleft(reversed(sorted(held.items())))
        left = self._live()
        if not left:
            raise BackendError(
                f"every replica failed (the last, {replica.name}: {why}); the finished samples are stored: "
                "run the same command again to resume"
            )
        log.warning("%s failed (%s); its %d problems go to the %d replicas left", replica.name, why, len(held), len(left))
        held.clear()

    def _settle(self, held: dict[str, dict[int, Request]]) -> None:
        """After the batch, or when the caller stopped early: every replica drops what it still holds."""
        for replica in self._live():
            if held[replica.name]:  # its answer to a call still running is dropped; the abort runs after that call
                self.meter.drop_all(replica.name)
                replica.abort()
