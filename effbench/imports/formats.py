"""The files other tools write, each mapped onto the generic import: which field holds what, read from their code.

- `qwen-math`: the Qwen2.5-Math evaluation's output (evaluation/math_eval.py, reused by SkyThought and
  simpleRL-reason): one line per problem, `idx`, `question`, `gt`, `code` (the n completions), `score`
  (one bool each); its folder is the dataset's name, its file name holds the temperature (`_t0.6_`),
  and `<file>_<prompt_type>_metrics.json` beside it holds `acc` (of the first completion only).
- `lighteval`: its details parquet; from 0.11 the columns `doc` (query, choices, gold_index, id,
  task_name), `model_response` (text: the n completions, output_tokens) and `metric`; before, flat
  columns `example`, `predictions`, `gold`, `cont_tokens`, `metrics`.
- `evalscope`: its reviews (`reviews/<model>/<benchmark>_<subset>.jsonl`, a file or the folder): from
  1.0 one line per completion (`sample_score` with `group_id`, the problem, and `score.value`), the
  question in `input` (to 1.4) or the user message (1.8 on); the token counts are in the predictions
  file beside it (`model_output.usage.output_tokens`). Before 1.0, the response with `choices[].review`.
- `openai-batch`: the Batch API's output file (also vLLM's run_batch): `custom_id`, `response.body`, a
  chat completion or a completion; failed requests have `error` or a status other than 200. The
  question is in the batch's input file (`requests=FILE`); without it, custom_id is the sample id.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from effbench.errors import ConfigError
from effbench.imports.generation import FieldMap
from effbench.imports.reading import Record, read_records
from effbench.structured import read_json
from effbench.tasks.data import lookup
from effbench.tasks.spec import task_names

HARNESS_TASKS = {"math_500": "math500", "competition_math": "math", "aime_2024": "aime24", "aime_2025": "aime25"}


@dataclass(frozen=True)
class Read:
    """A named format's file, as records in the generic field names, and what the files beside it say."""

    records: list[Record]
    fields: FieldMap
    notes: tuple[str, ...] = ()
    temperature: float | None = None


def read_format(kind: str, path: Path, problems: list[str], requests: Path | None = None) -> Read:
    if kind == "qwen-math":
        return _qwen_math(path, problems)
    if kind == "lighteval":
        return _uniform([_lighteval(r) for r in read_records(path, problems)])
    if kind == "evalscope":
        return _evalscope(path, problems)
    if kind == "openai-batch":
        return _openai_batch(path, problems, requests)
    raise ConfigError(f"cannot import {kind!r}: effbench imports {', '.join(FORMATS)}")


def task_of(name: str | None) -> str | None:
    """The effbench task a harness's task name stands for (`lighteval|math_500|0`, `math_500`), if there is one."""
    if not name:
        return None
    parts = [p for p in name.split("|") if p and not p.isdigit()]
    base = parts[-1] if parts else name
    known = set(task_names())
    return next((t for t in (HARNESS_TASKS.get(base), base, base.replace("_", "")) if t in known), None)


def _qwen_math(path: Path, problems: list[str]) -> Read:
    records = []
    task = task_of(path.parent.name)
    for r in read_records(path, problems):
        d = r.data
        records.append(Record(r.where, {"question": d.get("question"), "completion": d.get("code"), "gold": d.get("gt"),
                                        "score": d.get("score"), "task": task}))  # fmt: skip
    temperature = re.search(r"_t(\d+(?:\.\d+)?)_", path.name)
    notes = [f"the folder's name, {path.parent.name}, is the effbench task {task}"] if task else []
    for metrics in sorted(path.parent.glob(f"{path.stem}_*metrics.json")):
        try:
            acc = read_json(metrics).get("acc")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            problems.append(f"{metrics.name}: not a metrics JSON; not read")
            continue
        notes.append(f"{metrics.name} says acc {acc} (the accuracy of each problem's first completion, in %)")
    read = _uniform(records, tuple(notes))
    return Read(read.records, read.fields, read.notes, float(temperature.group(1)) if temperature else None)


def _lighteval(r: Record) -> Record:
    d = r.data
    if "model_response" in d:  # 0.11 and later
        doc, response = d.get("doc") or {}, d.get("model_response") or {}
        texts, output_tokens = response.get("text"), response.get("output_tokens") or []
        choices, gold_index = doc.get("choices") or [], doc.get("gold_index")
        gold = choices[gold_index] if isinstance(gold_index, int) and 0 <= gold_index < len(choices) else None
        question, task, metric = doc.get("query"), doc.get("task_name"), d.get("metric")
    else:  # the flat Detail of 0.10 and before
        texts, golds = d.get("predictions"), d.get("gold") or []
        output_tokens = (d.get("cont_tokens") or [[]])[0]
        gold, question, task, metric = golds[0] if golds else None, d.get("example"), None, d.get("metrics")
    tokens = [len(t) for t in output_tokens] if isinstance(texts, list) and len(output_tokens) == len(texts) else None
    return Record(r.where, {"question": question, "completion": texts, "gold": gold, "tokens": tokens,
                            "task": task_of(task), "score": _single_score(metric, texts)})  # fmt: skip


def _single_score(metric: Any, texts: Any) -> bool | None:
    """lighteval scores a document, not each completion: a document of one completion with one 0/1 metric has its score."""
    if isinstance(metric, dict) and isinstance(texts, list) and len(texts) == 1:
        values = [v for v in metric.values() if v is not None]
        if len(values) == 1 and values[0] in (0, 1):
            return bool(values[0])
    return None


def _evalscope(path: Path, problems: list[str]) -> Read:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise ConfigError(f"no .jsonl review file in {path}; give evalscope's reviews/<model>/ folder or one of its files")
    records = []
    for file in files:
        task = _benchmark_task(file.stem)
        tokens = _evalscope_tokens(file)
        lines = read_records(file, problems)
        if lines and "sample_score" not in lines[0].data:
            records += [_evalscope_0x(r, task) for r in lines]
            continue
        groups: dict[Any, list[Record]] = defaultdict(list)
        for r in lines:
            groups[lookup(r.data, "sample_score.group_id")].append(r)
        for group in groups.values():
            group.sort(key=lambda r: lookup(r.data, "sample_score.generation_index") or lookup(r.data, "index") or 0)
            records.append(_evalscope_group(group, task, tokens))
    return _uniform(records)


def _benchmark_task(stem: str) -> str | None:
    """The task of `<benchmark>_<subset>` (`math_500_Level 1`): the longest leading part that names one."""
    cuts = [len(stem)] + [m.start() for m in reversed(list(re.finditer("_", stem)))]
    return next((task for cut in cuts if (task := task_of(stem[:cut]))), None)


def _evalscope_group(group: list[Record], task: str | None, tokens: dict[Any, int]) -> Record:
    """One problem's lines (one per completion) as one record of n completions."""
    first = group[0].data
    question = first.get("input")
    if question is None:
        question = next((_content(m)[0] for m in first.get("messages") or [] if m.get("role") == "user"), None)
    texts, reasoning, scores = [], [], []
    for r in group:
        assistant = [m for m in r.data.get("messages") or [] if m.get("role") == "assistant"]
        text, thought = _content(assistant[-1]) if assistant else (lookup(r.data, "sample_score.score.prediction"), None)
        texts.append(text)
        reasoning.append(thought)
        score = lookup(r.data, "sample_score.score")
        value = (score or {}).get("value") or {}
        scores.append(value.get((score or {}).get("main_score_name")) if len(value) != 1 else next(iter(value.values())))
    target = first.get("target")
    gold = target[0] if isinstance(target, list) and target else target
    counts = [tokens.get(r.data.get("index")) for r in group]
    where = group[0].where if len(group) == 1 else f"{group[0].where} (and {len(group) - 1} more lines of its group)"
    return Record(where, {"question": question, "completion": texts, "gold": gold,
                          "score": scores, "task": task, "reasoning_text": reasoning if any(reasoning) else None,
                          "tokens": counts if all(c is not None for c in counts) else None})  # fmt: skip


def _content(message: dict[str, Any]) -> tuple[str | None, str | None]:
    """(text, reasoning) of a message whose content is a string or a list of parts."""
    content = message.get("content")
    if not isinstance(content, list):
        return content, None
    text = "".join(p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text")
    thought = "".join(p.get("reasoning") or "" for p in content if isinstance(p, dict) and p.get("type") == "reasoning")
    return text, thought or None


def _evalscope_tokens(review: Path) -> dict[Any, int]:
    """Output tokens by index, from the predictions file that sits beside the reviews (…/predictions/<model>/<same name>)."""
    predictions = review.parent.parent.parent / "predictions" / review.parent.name / review.name
    if not predictions.is_file():
        return {}
    counts = {}
    for r in read_records(predictions, []):
        count = lookup(r.data, "model_output.usage.output_tokens")
        if isinstance(count, int):
            counts[r.data.get("index")] = count
    return counts


def _evalscope_0x(r: Record, task: str | None) -> Record:
    d = r.data
    raw = d.get("raw_input") or {}
    question = next((raw[k] for k in ("problem", "question", "query", "input") if isinstance(raw.get(k), str)), None)
    choices = d.get("choices") or []
    texts = [lookup(c, "message.content") for c in choices]
    reasoning = [lookup(c, "message.reasoning_content") for c in choices]
    review = [c.get("review") or {} for c in choices]
    count = lookup(d, "usage.completion_tokens")
    return Record(r.where, {"question": question, "completion": texts, "gold": review[0].get("gold") if review else None,
                            "score": [v.get("result") for v in review], "task": task,
                            "reasoning_text": reasoning if any(reasoning) else None,
                            "tokens": [count] if len(texts) == 1 and isinstance(count, int) else None})  # fmt: skip


def _openai_batch(path: Path, problems: list[str], requests: Path | None) -> Read:
    questions: dict[Any, str] = _batch_questions(requests, problems) if requests else {}
    records = []
    for r in read_records(path, problems):
        d, custom_id = r.data, r.data.get("custom_id")
        status, body = lookup(d, "response.status_code"), lookup(d, "response.body")
        if d.get("error") or status not in (200, None) or not isinstance(body, dict):
            error = d.get("error")
            why = (error.get("message") or error.get("code")) if isinstance(error, dict) else error or f"status {status}"
            problems.append(f"{r.where}: request {custom_id} failed ({str(why)[:160]})")
            continue
        choices = body.get("choices") or []
        texts = [lookup(c, "message.content") if "message" in c else c.get("text") for c in choices]
        reasoning = [lookup(c, "message.reasoning_content") or lookup(c, "message.reasoning") for c in choices]
        usage = body.get("usage") or {}
        one = len(texts) == 1
        records.append(Record(r.where, {
            "id": custom_id, "question": questions.get(custom_id), "completion": texts,
            "finish": [c.get("finish_reason") for c in choices], "reasoning_text": reasoning if any(reasoning) else None,
            "tokens": [usage.get("completion_tokens")] if one and "completion_tokens" in usage else None,
            "reasoning_tokens": [lookup(usage, "completion_tokens_details.reasoning_tokens")] if one else None,
        }))  # fmt: skip
    read = _uniform(records)
    if questions:  # matched by question; the custom ids are the batch's own
        return Read(read.records, FieldMap(**{**vars(read.fields), "id": None}), read.notes)
    return read


def _batch_questions(requests: Path, problems: list[str]) -> dict[Any, str]:
    """custom_id -> the request's question: the last user message, or the completion request's prompt."""
    found = {}
    for r in read_records(requests, problems):
        body = r.data.get("body") or {}
        users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
        question = _content(users[-1])[0] if users else body.get("prompt")
        if isinstance(question, str):
            found[r.data.get("custom_id")] = question
    return found


def _uniform(records: list[Record], notes: tuple[str, ...] = ()) -> Read:
    """The field map of what every record holds; a part only some records hold is left out, with a note."""
    present = {}
    for f in fields(FieldMap):
        have = sum(r.data.get(f.name) is not None for r in records)
        if have == len(records) and records:
            present[f.name] = f.name
        elif have:
            notes = (*notes, f"{f.name}: only {have} of {len(records)} records have it, so it is not read from any")
    present.setdefault("completion", "completion")
    present.setdefault("question", None)  # type: ignore[arg-type]
    return Read(records, FieldMap(**present), notes)


FORMATS = ("jsonl", "qwen-math", "lighteval", "evalscope", "openai-batch")
