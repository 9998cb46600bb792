"""lm-evaluation-harness's output, read as it writes it (lm_eval/loggers/evaluation_tracker.py, 0.4.x).

`lm_eval ... --output_path OUT --log_samples` writes OUT/<model>/results_<date>.json (the configs of
the tasks, the model and its arguments, versions) and per task OUT/<model>/samples_<task>_<date>.jsonl:
one line per document *and filter*, each holding doc_id, doc (the dataset row), target, arguments
({"gen_args_0": {"arg_0": the prompt, "arg_1": the generation kwargs}}), resps ([[text, …]]: the
completions, `repeats` of them), filtered_resps, filter and the metric values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from effbench.errors import ConfigError
from effbench.structured import load_json, read_json


@dataclass(frozen=True)
class LoggedDoc:
    line: int
    doc_id: int
    doc: dict[str, Any]
    prompt: str
    gen_kwargs: dict[str, Any]
    texts: tuple[str, ...]
    verdicts: dict[str, float] = field(default_factory=dict)  # lm-eval's own per-sample scores, by "metric,filter"


@dataclass(frozen=True)
class LoggedTask:
    name: str
    samples_file: Path | None
    config: dict[str, Any]
    docs: list[LoggedDoc] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # malformed or unusable lines, each with its line number


@dataclass(frozen=True)
class LmEvalLog:
    results_file: Path
    results: dict[str, Any]
    tasks: list[LoggedTask]

    @property
    def model_args(self) -> dict[str, Any]:
        """The model's arguments: a dict in lm-eval ≥ 0.4.8, a "k=v,k=v" string before."""
        args = (self.results.get("config") or {}).get("model_args") or {}
        if isinstance(args, str):
            args = dict(part.split("=", 1) for part in args.split(",") if "=" in part)
        return args

    @property
    def model(self) -> str:
        return str(
            self.model_args.get("pretrained") or self.model_args.get("model") or self.results.get("model_name") or "unknown"
        )


def find_results(path: Path) -> Path:
    """The results JSON of an lm_eval output: the file itself, or the newest results_*.json under a folder."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise ConfigError(f"{path} does not exist; give the --output_path of an lm_eval run made with --log_samples")
    found = sorted(path.rglob("results_*.json"), key=lambda p: p.name)
    if not found:
        raise ConfigError(f"no results_*.json under {path}; give the --output_path of an lm_eval run made with --log_samples")
    return found[-1]


def read_log(path: Path) -> LmEvalLog:
    results_file = find_results(Path(path))
    try:
        results = read_json(results_file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{results_file} is not an lm-eval results JSON ({type(exc).__name__})") from None
    if not isinstance(results, dict) or not isinstance(results.get("configs"), dict):
        raise ConfigError(f"{results_file} has no task configs: it is not the results JSON of lm_eval")
    date_id = results_file.stem.removeprefix("results_")
    tasks = []
    for name, config in results["configs"].items():
        samples = results_file.parent / f"samples_{name}_{date_id}.jsonl"
        task = LoggedTask(name, samples if samples.is_file() else None, config)
        if config.get("output_type") != "generate_until":
            task.problems.append(f"{name}: output_type {config.get('output_type')} has no generated text to import")
        elif task.samples_file is None:
            task.problems.append(f"{name}: no {samples.name} beside {results_file.name}; run lm_eval with --log_samples")
        else:
            _read_samples(task, task.samples_file)
        tasks.append(task)
    return LmEvalLog(results_file, results, tasks)


def _read_samples(task: LoggedTask, samples_file: Path) -> None:
    """Each document once (lm-eval writes a line per filter); every line that cannot be used is named."""
    seen: dict[int, LoggedDoc] = {}
    with samples_file.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{samples_file.name} line {number}"
            try:
                line = load_json(raw)
                doc = _logged_doc(number, line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                task.problems.append(f"{where}: not valid JSON")
                continue
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                task.problems.append(f"{where}: not an lm-eval sample ({exc})")
                continue
            if doc.doc_id not in seen:
                seen[doc.doc_id] = doc
                task.docs.append(doc)
            else:  # the same document under another of the task's filters: its scores under that filter
                seen[doc.doc_id].verdicts.update(doc.verdicts)


def _logged_doc(number: int, line: dict[str, Any]) -> LoggedDoc:
    if not isinstance(line, dict):
        raise TypeError("a line must be a JSON object")
    arguments = line["arguments"]
    first = arguments["gen_args_0"] if isinstance(arguments, dict) else arguments[0]
    prompt, gen_kwargs = (first["arg_0"], first["arg_1"]) if isinstance(first, dict) else (first[0], first[1])
    resps = line["resps"]
    texts = resps[0] if resps and isinstance(resps[0], list) else resps
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("resps holds no generated text")
    if not isinstance(line["doc"], dict):
        raise TypeError("doc must be an object")
    return LoggedDoc(
        number,
        int(line["doc_id"]),
        line["doc"],
        str(prompt),
        gen_kwargs if isinstance(gen_kwargs, dict) else {},
        tuple(texts),
        _scores(line),
    )


def _scores(line: dict[str, Any]) -> dict[str, float]:
    """The line's own scores (`exact_match` and the like, as its `metrics` names them) under its filter."""
    listed = line.get("metrics")
    metrics: list[Any] = listed if isinstance(listed, list) else []
    where = line.get("filter") if isinstance(line.get("filter"), str) else "none"
    return {
        f"{name},{where}": float(line[name])
        for name in metrics
        if isinstance(name, str) and isinstance(line.get(name), int | float) and not isinstance(line.get(name), bool)
    }
