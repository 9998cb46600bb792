"""The queue that feeds engine replicas, with replicas that answer after set times (the Ray replicas are in
test_replicas.py): work goes where there is room, a failed replica's problems are not lost."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from effbench.backends.dispatch import Dispatcher, Finished, Work
from effbench.backends.usage import Meter
from effbench.errors import BackendError
from effbench.types import Completion, Request, Sampling


class TimedReplica:
    """Decodes every request it holds at once; request `i` takes `seconds(i)`. It may fail on its `fail_on`-th call."""

    def __init__(self, name: str, capacity: int, seconds, fail_on: int | None = None):
        self.name, self.capacity, self.seconds, self.fail_on = name, capacity, seconds, fail_on
        self.thread = ThreadPoolExecutor(1)
        self.left: dict[int, tuple[Request, float]] = {}
        self.calls, self.most_held, self.answered = 0, 0, []

    def advance(self, work: Work) -> Future[Finished]:
        return self.thread.submit(self._advance, work)

    def _advance(self, work: Work) -> Finished:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("EngineDeadError: the engine core died\nwith a traceback below")
        self.left.update((key, (request, self.seconds(int(request.sample_id)))) for key, request in work)
        self.most_held = max(self.most_held, sum(r.sampling.n for r, _ in self.left.values()))
        step = min(seconds for _, seconds in self.left.values())
        time.sleep(step)
        done = {key: request for key, (request, seconds) in self.left.items() if seconds <= step}
        self.left = {key: (r, seconds - step) for key, (r, seconds) in self.left.items() if key not in done}
        self.answered += list(done)
        return [(key, [Completion(text="x", tokens=3, finish_reason="stop")] * r.sampling.n) for key, r in done.items()]

    def abort(self) -> Future[None]:
        return self.thread.submit(self.left.clear)


def requests(count: int, n: int = 1) -> list[Request]:
    return [
        Request("t", str(i), "q", Sampling(n=n, temperature=0.7, top_p=1.0, top_k=-1, max_tokens=8), seed=i) for i in range(count)
    ]


def run(replicas: list[TimedReplica], batch: list[Request]) -> tuple[list[str], Meter]:
    meter = Meter([r.name for r in replicas])
    return [request.sample_id for request, _ in Dispatcher(replicas, meter).generate(batch)], meter


def test_every_problem_is_answered_once_and_no_replica_holds_more_than_it_decodes():
    replicas = [TimedReplica("a", 4, lambda i: 0.001 * (i % 7 + 1)), TimedReplica("b", 6, lambda i: 0.002)]
    ids, meter = run(replicas, requests(60, n=2))
    assert sorted(ids, key=int) == [str(i) for i in range(60)]
    assert replicas[0].most_held <= 4 and replicas[1].most_held <= 6
    uses = {use.engine: use for use in meter.reading()}
    assert uses["a"].requests + uses["b"].requests == 60 and uses["a"].tokens == 2 * 3 * uses["a"].requests
    assert all(use.busy_s > 0 and use.lost is None for use in uses.values())


def test_work_goes_where_there_is_room():
    """A replica five times slower is handed fewer problems; fixed halves would have kept it busy five times longer."""
    slow, fast = TimedReplica("slow", 2, lambda i: 0.05), TimedReplica("fast", 2, lambda i: 0.01)
    ids, _ = run([slow, fast], requests(40))
    assert len(ids) == 40 and len(fast.answered) >= 3 * len(slow.answered) > 0


def test_a_small_batch_is_shared_out_not_taken_by_the_first_replica():
    first, second = TimedReplica("first", 256, lambda i: 0.01), TimedReplica("second", 256, lambda i: 0.01)
    run([first, second], requests(10))
    assert len(first.answered) == len(second.answered) == 5


def test_a_failed_replica_is_said_once_and_its_problems_go_to_the_others(caplog):
    failing = TimedReplica("replica 1", 4, lambda i: 0.005, fail_on=3)
    steady = TimedReplica("replica 0", 4, lambda i: 0.005)
    with caplog.at_level(logging.WARNING, logger="effbench"):
        ids, meter = run([steady, failing], requests(30))
    assert sorted(ids, key=int) == [str(i) for i in range(30)]  # the problems it held were answered by the other
    assert [r.getMessage() for r in caplog.records] == [
        "replica 1 failed (EngineDeadError: the engine core died); its 4 problems go to the 1 replicas left"
    ]
    lost = {use.engine: use.lost for use in meter.reading()}
    assert lost == {"replica 0": None, "replica 1": "EngineDeadError: the engine core died"}


def test_when_every_replica_fails_the_run_stops_with_one_line():
    replicas = [TimedReplica(f"replica {i}", 2, lambda i: 0.001, fail_on=2) for i in range(2)]
    answered = []
    with pytest.raises(BackendError, match=r"every replica failed .* run the same command again to resume"):
        for request, _ in Dispatcher(replicas, Meter([r.name for r in replicas])).generate(requests(20)):
            answered.append(request.sample_id)
    assert 0 < len(answered) < 20  # what finished before was handed back, to be stored


def test_a_caller_that_stops_early_leaves_no_request_held():
    replica = TimedReplica("replica 0", 4, lambda i: 0.01)
    dispatcher = Dispatcher([replica], Meter(["replica 0"]))
    stream = dispatcher.generate(requests(20))
    next(stream)
    stream.close()
    replica.thread.submit(lambda: None).result()  # the abort ran after the call in flight
    before = dispatcher.meter.reading()[0]
    time.sleep(0.05)
    assert replica.left == {} and dispatcher.meter.reading()[0] == before  # holds nothing: no more busy time counted
    assert len(list(dispatcher.generate(requests(5)))) == 5  # and the replica serves the next batch
