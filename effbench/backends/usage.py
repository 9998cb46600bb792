"""What each engine of a backend did: problems answered, tokens generated, seconds with work in hand.

Readings are cumulative from the backend's start, so a backend shared by several runs (the demo's three
styles, a sweep's budgets) gives each run its own share as the difference of two readings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from effbench.types import Completion, EngineUse


class Meter:
    """Counts, per engine, the problems answered and tokens generated, and the time it held at least one request.
    Safe to use from several threads (the openai backend's senders)."""

    def __init__(self, engines: Sequence[str]):
        self._lock = threading.Lock()
        self._uses = {name: EngineUse(name) for name in engines}
        self._holding = dict.fromkeys(engines, 0)
        self._since: dict[str, float] = {}

    def begin(self, engine: str, requests: int = 1) -> None:
        """`engine` was handed `requests` more requests."""
        with self._lock:
            if self._holding[engine] == 0:
                self._since[engine] = time.monotonic()
            self._holding[engine] += requests

    def end(self, engine: str, completions: Sequence[Completion] | None) -> None:
        """`engine` is done with one request: answered with `completions`, or given back (None)."""
        with self._lock:
            use = self._uses[engine]
            if completions is not None:
                use = EngineUse(use.engine, use.requests + 1, use.tokens + sum(c.tokens or 0 for c in completions), use.busy_s)
            self._holding[engine] -= 1
            if self._holding[engine] == 0:
                use = EngineUse(use.engine, use.requests, use.tokens, use.busy_s + time.monotonic() - self._since.pop(engine))
            self._uses[engine] = use

    def drop_all(self, engine: str) -> None:
        """`engine` gave back every request it held (it was lost, or the run stopped)."""
        while self._holding[engine] > 0:
            self.end(engine, None)

    def lose(self, engine: str, why: str) -> None:
        self.drop_all(engine)
        with self._lock:
            use = self._uses[engine]
            self._uses[engine] = EngineUse(use.engine, use.requests, use.tokens, use.busy_s, why)

    def reading(self) -> tuple[EngineUse, ...]:
        """Each engine's use so far; an engine holding requests counts its busy time up to now."""
        with self._lock:
            now = time.monotonic()
            return tuple(
                EngineUse(
                    u.engine,
                    u.requests,
                    u.tokens,
                    round(u.busy_s + (now - self._since[name] if name in self._since else 0), 3),
                    u.lost,
                )
                for name, u in self._uses.items()
            )


def use_between(before: Sequence[EngineUse], after: Sequence[EngineUse]) -> list[EngineUse]:
    """Each engine's use between two readings of one backend."""
    earlier = {use.engine: use for use in before}
    return [use.since(earlier.get(use.engine)) for use in after]
