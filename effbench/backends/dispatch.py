"""Work handed to engine replicas as they free up: one queue, not fixed shards.

Reasoning lengths vary a hundredfold between problems; shards fixed up front leave replicas idle behind
the longest chain. Here each replica holds at most as many sequences as it decodes at once (and no more than
its part of the work left), and is handed more from the one queue each time some of its own finish. A
replica that fails is taken out of the run, and the problems it held go back to the queue for the others.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Protocol

from effbench.backends.usage import Meter
from effbench.errors import BackendError
from effbench.types import Answer, Request, Skipped

log = logging.getLogger("effbench")
Work = list[tuple[int, Request]]
Finished = list[tuple[int, Answer]]


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
    """Hands batches of requests to replicas from one queue; the replicas lost stay out for the backend's life."""

    def __init__(self, replicas: Sequence[Replica], meter: Meter):
        self.replicas, self.meter = list(replicas), meter
        self.lost: dict[str, str] = {}

    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r.name not in self.lost]

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Answer]]:
        batch = Batch(self, requests)
        for replica in self.live():
            batch.feed(replica)
        try:
            while batch.calls:
                done, _ = wait(list(batch.calls), return_when=FIRST_COMPLETED)
                for future in done:
                    replica = batch.calls.pop(future)
                    try:
                        finished = future.result()
                    except Exception as exc:
                        self.lose(replica, exc, batch)
                        continue
                    answered = [(batch.held[replica.name].pop(key), completions) for key, completions in finished]
                    for _, completions in answered:
                        self.meter.end(replica.name, None if isinstance(completions, Skipped) else completions)
                    batch.feed(replica)  # back to work before the answers are handed on (and graded, and stored)
                    yield from answered
        finally:
            batch.settle()

    def lose(self, replica: Replica, error: Exception, batch: Batch) -> None:
        """Take a failed replica out of the run; what it held goes back to the queue, for the replicas left."""
        why = (str(error).strip().splitlines() or [""])[0][:200] or type(error).__name__
        self.lost[replica.name] = why
        self.meter.lose(replica.name, why)
        held = batch.held.pop(replica.name)
        batch.queue.extendleft(reversed(sorted(held.items())))
        left = self.live()
        if not left:
            raise BackendError(
                f"every replica failed (the last, {replica.name}: {why}); the finished samples are stored: "
                "run the same command again to resume"
            )
        log.warning("%s failed (%s); its %d problems go to the %d replicas left", replica.name, why, len(held), len(left))
        for idle in left:
            if idle not in batch.calls.values():
                batch.feed(idle)


class Batch:
    """One batch on its way: the queue, what each replica holds, and the call each replica is in."""

    def __init__(self, dispatcher: Dispatcher, requests: Sequence[Request]):
        self.dispatcher = dispatcher
        self.queue = deque(enumerate(requests))
        self.held: dict[str, dict[int, Request]] = {r.name: {} for r in dispatcher.live()}
        self.calls: dict[Future[Finished], Replica] = {}

    def feed(self, replica: Replica) -> None:
        """Top up what the replica holds, to its capacity but no further than its part of the work left, and have it
        go on (a replica that holds nothing and is handed nothing is left idle)."""
        held = self.held[replica.name]
        outstanding = sum(r.sampling.n for _, r in self.queue) + sum(r.sampling.n for h in self.held.values() for r in h.values())
        share = min(replica.capacity, -(-outstanding // len(self.held)))
        load, work = sum(r.sampling.n for r in held.values()), Work()
        while self.queue and ((not held and not work) or load + self.queue[0][1].sampling.n <= share):
            key, request = self.queue.popleft()
            work.append((key, request))
            load += request.sampling.n
        if work or held:
            held.update(work)
            self.dispatcher.meter.begin(replica.name, len(work))
            self.calls[replica.advance(work)] = replica

    def settle(self) -> None:
        """After the batch, or when the caller stopped early: every replica drops what it still holds."""
        for replica in self.dispatcher.live():
            if self.held[replica.name]:  # its answer to a call still running is dropped; the abort runs after that call
                self.dispatcher.meter.drop_all(replica.name)
                replica.abort()
