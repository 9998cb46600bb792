"""Finding the effbench sample that an imported generation answers: by its question, or by task and id."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from effbench.errors import EffbenchError
from effbench.tasks.data import Dataset, load_dataset
from effbench.tasks.spec import TaskSpec, load_task
from effbench.types import Sample

MIN_WRAPPED = 24  # characters: a shorter question is not looked for inside a longer prompt, where it could occur by chance


def normal_question(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def question_key(text: str) -> str:
    return hashlib.sha256(normal_question(text).encode()).hexdigest()


class QuestionIndex:
    """Every named effbench task's samples by question hash and by id, for the tasks whose data is at hand."""

    def __init__(self, data_dir, names: list[str]):
        self.tasks: dict[str, tuple[TaskSpec, Dataset, dict[str, Sample]]] = {}
        self.by_id: dict[str, dict[str, Sample]] = {}
        self.normal: dict[str, list[tuple[str, Sample]]] = {}
        self.unavailable: list[str] = []  # searched for nothing: said with every record that matches no task
        for name in names:
            spec = load_task(name)
            try:
                dataset = load_dataset(spec, root=data_dir)
            except EffbenchError:
                self.unavailable.append(name)
                continue
            self.tasks[spec.name] = (spec, dataset, {question_key(s.question): s for s in dataset.samples})
            self.by_id[spec.name] = {s.id: s for s in dataset.samples}
            self.normal[spec.name] = [(normal_question(s.question), s) for s in dataset.samples if len(s.question) >= MIN_WRAPPED]

    def best_task(self, keys: list[set[str]], prefer: str | None = None) -> str | None:
        """The task that holds the most records; on a tie, `prefer` (the task the records say they are), else the
        smallest (MATH-500 before all of MATH)."""
        counts = Counter(name for doc in keys for name in self.tasks if self.find(name, doc) is not None)
        if not counts:
            return None
        return max(counts, key=lambda name: (counts[name], name == prefer, -len(self.tasks[name][1].samples)))

    def find(self, name: str, keys: set[str]) -> Sample | None:
        by_key = self.tasks[name][2]
        return next((by_key[k] for k in keys if k in by_key), None)

    def find_within(self, name: str, text: str) -> Sample | None:
        """The sample whose question the text holds (a prompt that wraps it in instructions); the longest such."""
        wrapped = normal_question(text)
        found = [sample for question, sample in self.normal[name] if question in wrapped]
        return max(found, key=lambda s: len(s.question), default=None)

    def searched(self) -> str:
        missing = f"; not at hand, so not searched: {', '.join(self.unavailable)}" if self.unavailable else ""
        return f"searched {', '.join(self.tasks) or 'no task'}{missing}"
