"""lm-evaluation-harness interop: real lm_eval runs (its HF backend, the tiny local model) imported into effbench,
and effbench's tasks exported, run inside lm_eval, and imported back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from effbench.tasks.spec import load_task, task_names
from effbench.tinymodel import build_tiny_model
from tests.conftest import assert_one_line_error, read_lines, run_cli, write_script

LIMIT = 8
EXPORT_LIMIT = 2
OFFLINE = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def run_lm_eval(*args: str, cwd: Path) -> Path:
    """`lm_eval` itself, in a child process; the folder its results and samples went to."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lm_eval",
            "--model",
            "hf",
            "--device",
            "cpu",
            "--log_samples",
            "--output_path",
            str(cwd / "out"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **OFFLINE},
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "out"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def local_gsm8k_run(tmp_path_factory, tiny, data_dir) -> Path:
    """lm-eval's own gsm8k task, pointed at a local copy of the data (no hub here), run zero-shot."""
    import lm_eval

    work = tmp_path_factory.mktemp("lm-eval-gsm8k")
    config = yaml.safe_load((Path(lm_eval.__file__).parent / "tasks" / "gsm8k" / "gsm8k.yaml").read_text())
    for key in ("dataset_name", "training_split", "fewshot_split", "tag"):
        config.pop(key, None)
    config.update(
        task="gsm8k_local",
        dataset_path="json",
        num_fewshot=0,
        dataset_kwargs={"data_files": {"test": str(data_dir / "gsm8k" / "test.jsonl")}},
    )
    config["generation_kwargs"]["max_gen_toks"] = 24
    (work / "tasks").mkdir()
    (work / "tasks" / "gsm8k_local.yaml").write_text(yaml.safe_dump(config))
    return run_lm_eval(
        "--model_args",
        f"pretrained={tiny},dtype=float32",
        "--include_path",
        str(work / "tasks"),
        "--tasks",
        "gsm8k_local",
        "--limit",
        str(LIMIT),
        cwd=work,
    )


def imported(run: Path, task: str) -> dict[str, dict]:
    return {line["id"]: line for line in read_lines(run / f"{task}.samples.jsonl")}


def test_lm_eval_log_imports_as_a_run_with_effbench_verdicts_and_token_counts(local_gsm8k_run, tiny, tmp_path):
    result = run_cli("import", "lm-eval", str(local_gsm8k_run), f"out={tmp_path}", "name=imported")
    assert result.returncode == 0, result.stderr
    assert "lm-eval task gsm8k_local -> effbench task gsm8k" in result.stdout and "not imported" not in result.stderr
    run = tmp_path / "imported"
    samples = imported(run, "gsm8k")
    assert sorted(samples, key=int) == [str(i) for i in range(LIMIT)]  # lm-eval's doc ids are effbench's gsm8k ids
    logged = {line["doc_id"]: line for line in read_lines(next(local_gsm8k_run.rglob("samples_gsm8k_local_*.jsonl")))}
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    rows = []
    for sample_id, line in samples.items():
        (completion,) = line["completions"]
        assert line["prompt"] == logged[int(sample_id)]["arguments"]["gen_args_0"]["arg_0"]
        assert completion["text"] == logged[int(sample_id)]["resps"][0][0]
        assert completion["tokens"] == len(tokenizer.encode(completion["text"], add_special_tokens=False))
        assert completion["token_count_source"] == "retokenized"
        rows.append({"id": sample_id, "gold": line["gold"], "completion": completion["text"]})
    # effbench's own grader, through `effbench grade`, on the same texts
    graded = run_cli("grade", str(write_script_lines(tmp_path / "texts.jsonl", rows)), "task=gsm8k")
    assert graded.returncode == 0, graded.stderr
    verdicts = {
        row["id"]: row["status"] if row["status"] != "graded" else ("correct" if row["correct"] else "wrong")
        for row in map(json.loads, graded.stdout.splitlines())
    }
    assert verdicts == {i: line["completions"][0]["grade"]["verdict"] for i, line in samples.items()}
    info = json.loads((run / "run.json").read_text())
    assert info["import"]["special_tokens"].startswith("stripped") and info["import"]["problems"] == []
    # lm-eval's own verdicts, per document and in all, beside effbench's: where they part is listed
    own = json.loads(next(local_gsm8k_run.rglob("results_*.json")).read_text())["results"]["gsm8k_local"]
    assert info["import"]["lm_eval_scores"]["gsm8k_local"]["exact_match,strict-match"] == own["exact_match,strict-match"]
    assert f"lm-eval's own exact_match,strict-match {100 * own['exact_match,strict-match']:.1f}%" in result.stdout
    parted = {
        (str(doc_id), f"exact_match,{line['filter']}")
        for doc_id, line in ((int(line["doc_id"]), line) for line in read_lines(next(local_gsm8k_run.rglob("samples_*.jsonl"))))
        if (line["exact_match"] == 1.0) != (samples[str(doc_id)]["completions"][0]["grade"]["verdict"] == "correct")
    }
    listed = info["import"]["verdict_disagreements"]
    assert len(listed) == len(parted) and all(f"lm-eval's {key} is" in " ".join(listed) for _, key in parted)
    assert all(" ".join(f"disagrees: {line}".split()) in " ".join(result.stderr.split()) for line in listed)
    assert info["identity"]["tasks"]["gsm8k"]["sampling"]["max_tokens"] == 24
    # an ordinary run: compare, gate and report take it
    base = run_cli(
        "eval",
        "model=m",
        "tasks=gsm8k",
        "backend=scripted",
        f"script={write_script(tmp_path / 's.json', {'*': 'The answer is 18.'})}",
        f"out={tmp_path}",
        f"limit={LIMIT}",
        "name=scripted",
    )
    assert base.returncode == 0, base.stderr
    compared = run_cli("compare", str(tmp_path / "scripted"), str(run), "format=json")
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["runs"]["imported"]["tasks"]["gsm8k"]["samples"] == LIMIT
    # lm-eval's own gsm8k prompt is not effbench's: a gate, which needs the same prompt, says so
    assert_one_line_error(run_cli("gate", str(tmp_path / "scripted"), str(run)), "used different prompt templates")
    board = write_script_lines(tmp_path / "board.yaml", [])
    board.write_text(f"title: imported\ntasks: [gsm8k]\nentries:\n  - {{name: lm-eval, model: tiny, run: {run}}}\n")
    report = run_cli("report", str(board), f"out={tmp_path / 'site'}")
    assert report.returncode == 0, report.stderr
    assert "lm-eval" in (tmp_path / "site" / "run-imported.html").read_text()


def test_tasks_limits_the_effbench_tasks_searched(local_gsm8k_run, tmp_path):
    result = run_cli("import", "lm-eval", str(local_gsm8k_run), f"out={tmp_path}", "tasks=math500,aime24")
    assert_one_line_error(result, "no logged document matches an effbench task's questions")
    assert not any(tmp_path.iterdir())


def write_script_lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_malformed_and_unmatched_lines_are_reported_by_line_number(local_gsm8k_run, tmp_path):
    copy = tmp_path / "log"
    copy.mkdir()
    results = next(local_gsm8k_run.rglob("results_*.json"))
    samples = next(local_gsm8k_run.rglob("samples_gsm8k_local_*.jsonl"))
    (copy / results.name).write_bytes(results.read_bytes())
    lines = samples.read_text().splitlines()
    answered = json.loads(lines[0])
    answered["resps"] = [["The ducks make 16 - 3 - 4 = 9 eggs, so the answer is \\boxed{18}."]]
    lines[0] = json.dumps(answered)  # doc 0 answered right: graded against effbench's gold, not lm-eval's metric
    foreign = json.loads(lines[0])
    foreign.update(doc_id=999, doc={"question": "What is the airspeed of an unladen swallow?", "answer": "#### 11"})
    lines[2] = lines[2][: len(lines[2]) // 2]  # a write cut short
    lines.insert(4, json.dumps(foreign))
    lines.insert(5, json.dumps({"doc_id": 1000, "doc": {}, "arguments": {}, "resps": []}))
    (copy / samples.name).write_text("\n".join(lines) + "\n")
    result = run_cli("import", "lm-eval", str(copy), f"out={tmp_path}", "name=partial")
    assert result.returncode == 0, result.stderr
    assert f"{samples.name} line 3: not valid JSON" in result.stderr
    assert f"{samples.name} line 5 (doc_id 999): its question is not one of gsm8k's" in result.stderr
    assert f"{samples.name} line 6: not an lm-eval sample" in result.stderr
    info = json.loads((tmp_path / "partial" / "run.json").read_text())
    assert len(info["import"]["problems"]) == 3
    assert "3 lines or tasks not imported" in result.stdout
    # lm-eval logs each document once per filter: the cut line's document comes again under the second filter
    assert sorted(imported(tmp_path / "partial", "gsm8k"), key=int) == [str(i) for i in range(LIMIT)]
    verdicts = {i: line["completions"][0]["grade"]["verdict"] for i, line in imported(tmp_path / "partial", "gsm8k").items()}
    assert verdicts["0"] == "correct" and list(verdicts.values()).count("correct") == 1


def test_every_task_exports_runs_inside_lm_eval_and_imports_back_unchanged(tiny, tmp_path, data_dir):
    """Every effbench task, exported at once and run by lm-eval's own CLI with effbench's grading hook; a system
    message goes in as lm-eval's description, which its chat template makes the system turn."""
    exported = run_cli("export", "lm-eval", str(tmp_path / "tasks"), "max_tokens=16")
    assert exported.returncode == 0, exported.stderr
    assert "skipped" not in exported.stderr and "system messages as lm-eval's description: gaokao2024_I" in exported.stdout
    names = sorted(path.stem for path in (tmp_path / "tasks").glob("effbench_*.yaml"))
    assert names == sorted(f"effbench_{task}" for task in task_names())
    assert "is the task's `description`" in (tmp_path / "tasks" / "README.md").read_text()
    out = run_lm_eval(
        "--model_args",
        f"pretrained={tiny},dtype=float32",
        "--include_path",
        str(tmp_path / "tasks"),
        "--tasks",
        ",".join(names),
        "--limit",
        str(EXPORT_LIMIT),
        "--apply_chat_template",
        cwd=tmp_path,
    )
    scores = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    assert {name for name in scores} == set(names) and all("effbench_accuracy,none" in scores[name] for name in names)
    result = run_cli("import", "lm-eval", str(out), f"out={tmp_path}", "name=back")
    assert result.returncode == 0, result.stderr
    assert "disagrees" not in result.stderr  # lm-eval's verdicts are effbench's own grader's
    info = json.loads((tmp_path / "back" / "run.json").read_text())
    assert info["import"]["tasks"] == {f"effbench_{task}": task for task in task_names()}
    from transformers import AutoTokenizer

    from effbench.tasks.data import load_dataset
    from effbench.tasks.prompts import render

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    for task in task_names():
        spec = load_task(task)
        assert info["identity"]["tasks"][task]["template_sha256"] == spec.template_hash()  # effbench's prompt, so it compares
        samples = {s.id: s for s in load_dataset(spec, root=data_dir, limit=EXPORT_LIMIT).samples}
        logged = {line["doc"]["id"]: line for line in read_lines(next(out.rglob(f"samples_effbench_{task}_*.jsonl")))}
        back = imported(tmp_path / "back", task)
        assert set(back) == set(samples)
        for sample_id, line in back.items():
            chat = tokenizer.apply_chat_template(
                list(render(spec, samples[sample_id])), tokenize=False, add_generation_prompt=True
            )
            assert line["prompt"] == chat  # the very prompt effbench's vLLM backend renders
            assert line["gold"] == samples[sample_id].gold
            lm_eval_says = logged[sample_id]["effbench_accuracy"]  # effbench's grader, called by lm-eval
            assert lm_eval_says == float(line["completions"][0]["grade"]["verdict"] == "correct")
    script = write_script(tmp_path / "s.json", {"*": "The answer is \\boxed{18}."})
    base = run_cli(
        "eval",
        "model=m",
        f"tasks={','.join(task_names())}",
        "backend=scripted",
        f"script={script}",
        f"out={tmp_path}",
        f"limit={EXPORT_LIMIT}",
        "name=native",
        "max_tokens=16",
    )
    assert base.returncode == 0, base.stderr
    gate = run_cli("gate", str(tmp_path / "native"), str(tmp_path / "back"), "max_accuracy_drop=100", "max_token_increase=100")
    assert gate.returncode == 0, gate.stderr  # the same prompt and samples: a gate takes the imported run


def test_exported_grading_hook_is_effbench_grader():
    from effbench.lmeval.export import METRIC, grader_for

    gsm8k, math500 = grader_for("gsm8k"), grader_for("math500")
    assert gsm8k({"gold": "18"}, ["9 * 2 = 18, so the answer is \\boxed{18}."]) == {METRIC: 1.0}
    assert gsm8k({"gold": "18"}, ["The answer is \\boxed{19}."]) == {METRIC: 0.0}
    assert gsm8k({"gold": "18"}, ["<think> 9 * 2 = 18 and so on"]) == {METRIC: 0.0}  # thinking never ended
    assert math500({"gold": "\\frac{1}{2}"}, ["So $x = 0.5$, i.e. \\boxed{\\dfrac12}"]) == {METRIC: 1.0}


@pytest.mark.parametrize(
    "words, message",
    [
        (("import", "helm", "x"), "cannot import 'helm'"),
        (("import", "lm-eval", "no/such/folder"), "no/such/folder does not exist"),
        (("export", "lm-eval", "out", "prompt=fancy"), "prompt=fancy is not one of chat, plain"),
        (("export", "lm-eval", "out", "tasks=gsm9k"), "unknown task 'gsm9k'"),
        (("export", "lm-eval", "out", "n=0"), "bad value for n: Input should be greater than or equal to 1"),
    ],
)
def test_bad_input_is_one_line(tmp_path, words, message):
    assert_one_line_error(run_cli(*words, cwd=tmp_path), message)


def test_a_json_that_is_not_an_lm_eval_results_file_is_refused(tmp_path):
    (tmp_path / "results_x.json").write_text(json.dumps({"accuracy": 1}))
    assert_one_line_error(run_cli("import", "lm-eval", str(tmp_path)), "it is not the results JSON of lm_eval")
