"""`effbench import jsonl` and the named formats: files written the way each tool writes them, made into ordinary runs.

The files are built here from the canonical test sets' questions, in each tool's own layout (read from its code:
Qwen2.5-Math's evaluation/math_eval.py, lighteval's EvaluationTracker.save_details, evalscope's review and
prediction caches, the OpenAI Batch API's output lines).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from effbench.demo import TINY_REASONER
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import load_task
from tests.conftest import assert_one_line_error, read_lines, run_cli

QWEN_NAME = "test_qwen25-math-cot_-1_seed0_t0.6_s0_e-1.jsonl"


def samples(task: str, data_dir: Path, limit: int | None = None):
    return load_dataset(load_task(task), root=data_dir, limit=limit).samples


def answered(gold: str, right: bool) -> str:
    return f"<think>\nLet me work it out.\n</think>\n\nSo the answer is $\\boxed{{{gold if right else '-7'}}}$."


def write_lines(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), "utf-8")
    return path


def metrics(folder: Path, task: str) -> dict:
    return json.loads((folder / "results.json").read_text())["tasks"][task]["metrics"]


@pytest.fixture(scope="module")
def qwen_math(tmp_path_factory, data_dir) -> Path:
    """Qwen2.5-Math's output for AIME 2024, n=2: its grader scored line 5's first completion wrongly as wrong."""
    folder = tmp_path_factory.mktemp("qwen") / "outputs" / "aime24"
    rows = []
    for index, sample in enumerate(samples("aime24", data_dir)):
        right = index % 3 != 0
        code = [answered(sample.gold, right), answered(sample.gold, True)]
        score = [right and index != 4, True]
        rows.append({"idx": index, "question": sample.question, "gt_cot": "None", "gt": sample.gold, "code": code,
                     "pred": [sample.gold if right else "-7", sample.gold], "report": [None, None], "score": score})  # fmt: skip
    rows.insert(7, "{not json")
    path = write_lines(folder / QWEN_NAME, rows)
    (folder / QWEN_NAME.replace(".jsonl", "_qwen25-math-cot_metrics.json")).write_text(
        json.dumps({"num_samples": 30, "acc": 63.3})
    )
    return path


def test_a_qwen_math_file_imports_generically_and_by_name_with_its_disagreements_listed(qwen_math, tmp_path):
    generic = run_cli("import", "jsonl", str(qwen_math), "question=question", "completion=code.0", "score=score.0",
                      "tasks=aime24", f"out={tmp_path}", "name=generic")  # fmt: skip
    assert generic.returncode == 0, generic.stderr
    assert f"{QWEN_NAME} line 8: not valid JSON" in generic.stderr
    assert f"disagrees: {QWEN_NAME} line 5 completion 0: the file scores it wrong, effbench correct" in generic.stderr
    first = metrics(tmp_path / "generic", "aime24")
    assert first["samples"] == 30 and first["accuracy"] == pytest.approx(20 / 30)  # the file's mean is 19/30: one disagreement
    assert "aime24: the file's own scores give 63.3%, effbench's grading 66.7%" in generic.stdout
    assert first["tokens"] is None and first["total_tokens"] is None and first["truncation_rate"] is None
    info = json.loads((tmp_path / "generic" / "run.json").read_text())
    assert info["import"]["fields"] == {"question": "question", "completion": "code.0", "score": "score.0"}
    assert info["import"]["token_counts"].startswith("absent: the file has no counts")
    assert info["import"]["file_accuracy"] == {"aime24": pytest.approx(19 / 30)}
    assert info["import"]["score_disagreements"][0].startswith(f"{QWEN_NAME} line 5 completion 0: the file scores it wrong")

    named = run_cli("import", "qwen-math", str(qwen_math), f"out={tmp_path}", "name=named")
    assert named.returncode == 0, named.stderr
    both = metrics(tmp_path / "named", "aime24")
    assert both["completions"] == 60 and both["pass_at_k"]["2"] == 1.0  # the list of completions: n=2 per problem
    assert "acc 63.3" in named.stdout and "is the effbench task aime24" in named.stdout  # its metrics file, its folder
    info = json.loads((tmp_path / "named" / "run.json").read_text())
    assert info["identity"]["tasks"]["aime24"]["sampling"]["temperature"] == 0.6  # from the file's name


def test_token_counts_come_from_a_field_or_a_tokenizer(tmp_path, data_dir):
    rows = [{"q": s.question, "out": {"choices": [{"text": answered(s.gold, True)}]}, "n_tokens": 40 + i, "why": "length"}
            for i, s in enumerate(samples("gsm8k", data_dir, 12))]  # fmt: skip
    path = write_lines(tmp_path / "gens.jsonl", rows)
    common = ("question=q", "completion=out.choices.0.text", "tasks=gsm8k", f"out={tmp_path}")
    counted = run_cli("import", "jsonl", str(path), *common, "tokens=n_tokens", "finish=why", "name=field")
    assert counted.returncode == 0, counted.stderr
    field = metrics(tmp_path / "field", "gsm8k")
    assert field["tokens"]["mean"] == pytest.approx(45.5) and field["truncation_rate"] == 1.0
    tokenized = run_cli("import", "jsonl", str(path), *common, f"tokenizer={TINY_REASONER}", "max_tokens=4096", "name=tok")
    assert tokenized.returncode == 0, tokenized.stderr
    counts = [c["tokens"] for line in read_lines(tmp_path / "tok" / "gsm8k.samples.jsonl") for c in line["completions"]]
    assert all(c > 5 for c in counts) and len(set(counts)) > 1
    tok = metrics(tmp_path / "tok", "gsm8k")
    assert tok["reasoning_tokens"]["mean"] > 0 and tok["truncation_rate"] == 0.0
    assert "re-tokenized" in json.loads((tmp_path / "tok" / "run.json").read_text())["import"]["token_counts"]


def test_an_imported_run_compares_gates_rescores_reports_and_loads(tmp_path, data_dir):
    gsm8k = samples("gsm8k", data_dir, 20)
    rows = [{"question": s.question, "completion": answered(s.gold, i % 4 != 0)} for i, s in enumerate(gsm8k)]
    path = write_lines(tmp_path / "gens.jsonl", rows)
    for name, extra in (("counted", (f"tokenizer={TINY_REASONER}",)), ("uncounted", ())):
        result = run_cli("import", "jsonl", str(path), "tasks=gsm8k", f"out={tmp_path}", f"name={name}", *extra)
        assert result.returncode == 0, result.stderr
    compared = run_cli("compare", str(tmp_path / "counted"), str(tmp_path / "uncounted"), "format=json")
    assert compared.returncode == 0, compared.stderr
    task = json.loads(compared.stdout)["runs"]["uncounted"]["tasks"]["gsm8k"]
    assert task["accuracy_delta"] == 0 and task["compression"] is None and task["token_ratio"] is None
    assert "token counts absent: no compression, AES or token ratio" in task["notes"]
    gate = run_cli("gate", str(tmp_path / "counted"), str(tmp_path / "uncounted"))
    assert gate.returncode == 1 and "mean-token increase is undefined for these runs" in gate.stderr + gate.stdout
    assert run_cli("gate", str(tmp_path / "counted"), str(tmp_path / "counted"), "max_token_increase=0").returncode == 0
    for name in ("counted", "uncounted"):
        rescored = run_cli("rescore", str(tmp_path / name))
        assert rescored.returncode == 0, rescored.stderr
        assert "rescored 20 completions" in rescored.stdout and "0 verdicts changed" in rescored.stdout
    board = tmp_path / "board.yaml"
    board.write_text(f"title: imported\ntasks: [gsm8k]\nentries:\n  - {{name: counted, model: m, run: {tmp_path / 'counted'}}}\n")
    report = run_cli("report", str(board), f"out={tmp_path / 'site'}")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "site" / "index.html").exists()
    board.write_text(f"title: imported\ntasks: [gsm8k]\nentries:\n  - {{name: u, model: m, run: {tmp_path / 'uncounted'}}}\n")
    assert_one_line_error(run_cli("report", str(board), f"out={tmp_path / 'site2'}"), "has no token counts for gsm8k")

    import effbench

    table = effbench.load_runs(tmp_path)
    assert set(table["run"]) >= {"counted", "uncounted"}
    rows = table.set_index("run")
    assert rows.loc["counted", "accuracy"] == pytest.approx(0.75) and rows.loc["counted", "mean_tokens"] > 0
    assert pd.isna(rows.loc["uncounted", "mean_tokens"])  # absent, not 0
    # answers are located in the tokens the tokenizer gave, or, without one, in characters, and the figures say which
    assert rows.loc["counted", "positions"] == "tokens" and rows.loc["counted", "first_correct_tokens"] > 0
    assert rows.loc["uncounted", "positions"] == "characters" and pd.isna(rows.loc["uncounted", "first_correct_tokens"])
    assert rows.loc["counted", "outcome_efficiency"] > 0 and rows.loc["uncounted", "outcome_efficiency"] > 0


def test_records_that_cannot_be_used_are_listed_by_line(tmp_path, data_dir):
    first, second = samples("gsm8k", data_dir, 2)
    rows = [
        {"question": first.question, "completion": answered(first.gold, True), "gold": first.gold},
        {"question": first.question, "completion": answered(first.gold, True)},  # the same sample again
        {"question": "What is the colour of a mirror?", "completion": "silver"},  # no such sample
        {"question": second.question, "completion": 42},  # not a text
        {"question": second.question},  # no completion
        {"question": second.question, "completion": answered(second.gold, False), "gold": "1000000"},  # another gold
        [1, 2],
    ]
    path = write_lines(tmp_path / "gens.jsonl", rows)
    result = run_cli("import", "jsonl", str(path), "gold=gold", "tasks=gsm8k", f"out={tmp_path}")  # each without a gold: listed
    assert result.returncode == 0, result.stderr
    for expected in (
        "gens.jsonl line 2: no value at gold",
        "gens.jsonl line 3: no value at gold",
        "gens.jsonl line 4: completion holds the number 42, not a completion's text",
        "gens.jsonl line 5: no completion at completion",
        "gens.jsonl line 7: not a JSON object",
        "gens.jsonl line 6: the file's gold '1000000' is not gsm8k's gold",
    ):
        assert expected in result.stderr, (expected, result.stderr)
    again = run_cli("import", "jsonl", str(path), "tasks=gsm8k", f"out={tmp_path}", "name=nogold")
    assert "gens.jsonl line 2: gsm8k sample" in again.stderr and "was imported already, from gens.jsonl line 1" in again.stderr
    assert "gens.jsonl line 3: its question is not one of gsm8k's" in again.stderr
    assert metrics(tmp_path / "nogold", "gsm8k")["samples"] == 2


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("jsonl", "missing.jsonl"), "missing.jsonl is not a file; give a JSON Lines, JSON or Parquet file of generations"),
        (("parquet-ish", "x.jsonl"), "cannot import 'parquet-ish': effbench imports lm-eval, jsonl, qwen-math"),
        (("qwen-math", "x.jsonl", "question=q"), "question= name fields for `effbench import jsonl`; qwen-math files have"),
        (("jsonl", "x.jsonl", "requests=r.jsonl"), "requests= is the input file of an OpenAI batch"),
        (("jsonl", "x.jsonl", "tasks=gsm8k", "question=nothing"), "no record matches an effbench sample"),
        (("jsonl", "x.jsonl", "temperature=-1"), "temperature"),
    ],
)
def test_bad_imports_are_one_line(tmp_path, words, message):
    write_lines(tmp_path / "x.jsonl", [{"question": "q", "completion": "c"}])
    assert_one_line_error(run_cli("import", *words, cwd=tmp_path), message)


def lighteval_new(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows).select(["doc", "metric", "model_response"])  # sorted columns, as save_details writes


def test_lighteval_details_new_and_old(tmp_path, data_dir):
    math500 = samples("math500", data_dir, 6)
    new = []
    for index, s in enumerate(math500):
        texts = [answered(s.gold, index % 2 == 0)]
        new.append({
            "doc": {"query": f"Solve the following problem. ...\n\n{s.question}", "choices": [f"ANSWER: $\\boxed{{{s.gold}}}$"],
                    "gold_index": 0, "id": str(index), "task_name": "math_500|0", "num_samples": 1},
            "metric": {"pass@k:k=1&n=1": float(index % 2 == 0)},
            "model_response": {"input": "<|im_start|>user ...", "text": texts, "output_tokens": [[1] * (30 + index)],
                               "input_tokens": [1, 2], "reasonings": [None]},
        })  # fmt: skip
    path = tmp_path / "details_math_500|0_2025-06-01T12-30-45.123456.parquet"
    pq.write_table(lighteval_new(new), path)
    result = run_cli("import", "lighteval", str(path), f"out={tmp_path}", "name=new")
    assert result.returncode == 0, result.stderr
    got = metrics(tmp_path / "new", "math500")
    assert got["samples"] == 6 and got["accuracy"] == 0.5 and got["tokens"]["mean"] == pytest.approx(32.5)
    assert "disagrees" not in result.stderr  # the gold "ANSWER: …" read as its boxed answer, the scores as effbench's

    gsm8k = samples("gsm8k", data_dir, 4)
    old = [{"example": f"Question: {s.question}\nAnswer:", "full_prompt": "...", "predictions": [answered(s.gold, True)] * 2,
            "gold": [f"... #### {s.gold}"], "cont_tokens": [[[5] * 20, [5] * 24]], "metrics": {"qem": 1.0},
            "specifics": None, "choices": [], "gold_index": []} for s in gsm8k]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(old), tmp_path / "details_old.parquet")
    result = run_cli("import", "lighteval", str(tmp_path / "details_old.parquet"), f"out={tmp_path}", "name=old")
    assert result.returncode == 0, result.stderr
    got = metrics(tmp_path / "old", "gsm8k")
    assert got["completions"] == 8 and got["accuracy"] == 1.0 and got["tokens"]["mean"] == 22


def test_evalscope_reviews_of_each_layout(tmp_path, data_dir):
    math500 = samples("math500", data_dir, 4)
    run = tmp_path / "outputs" / "20250601_123045"
    reviews, predictions = [], []
    for problem, s in enumerate(math500):
        for generation in range(2):  # repeats=2: one line per completion, its problem in group_id
            index = 2 * problem + generation
            text = answered(s.gold, generation == 0).split("</think>\n\n")[1]
            content = [{"type": "reasoning", "reasoning": "Let me work it out.", "signature": None, "redacted": False},
                       {"type": "text", "text": text, "refusal": None}]  # fmt: skip
            reviews.append({"index": index, "target": [s.gold],
                            "messages": [{"role": "user", "content": f"{s.question}\nPlease reason step by step, and put "
                                          "your final answer within \\boxed{}."}, {"role": "assistant", "content": content}],
                            "sample_score": {"score": {"value": {"acc": float(generation == 0)}, "main_score_name": "acc",
                                                       "prediction": text, "extracted_prediction": s.gold},
                                             "sample_id": index, "group_id": problem,
                                             "generation_index": generation}})  # fmt: skip
            predictions.append({"index": index, "model": "m", "model_output": {"usage": {"output_tokens": 50 + index}}})
    reviews.reverse()  # evalscope appends lines as samples finish, not in index order
    path = write_lines(run / "reviews" / "qwen-plus" / "math_500_Level 1.jsonl", reviews)
    write_lines(run / "predictions" / "qwen-plus" / "math_500_Level 1.jsonl", predictions)
    result = run_cli("import", "evalscope", str(path.parent), f"out={tmp_path}", "name=v1")
    assert result.returncode == 0, result.stderr
    got = metrics(tmp_path / "v1", "math500")
    assert got["samples"] == 4 and got["completions"] == 8 and got["accuracy"] == 0.5 and got["tokens"]["mean"] == 53.5
    stored = read_lines(tmp_path / "v1" / "math500.samples.jsonl")[0]["completions"][0]
    assert stored["reasoning"] == "Let me work it out." and "disagrees" not in result.stderr

    gsm8k = samples("gsm8k", data_dir, 3)
    old = [{"id": "chatcmpl-1", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
            "content": answered(s.gold, True)}, "review": {"gold": s.gold, "pred": s.gold, "result": 1.0}}],
            "usage": {"completion_tokens": 70, "prompt_tokens": 20}, "raw_input": {"question": s.question, "answer": s.gold},
            "index": i, "reviewed": True} for i, s in enumerate(gsm8k)]  # fmt: skip
    path = write_lines(tmp_path / "old" / "gsm8k_main.jsonl", old)
    result = run_cli("import", "evalscope", str(path), f"out={tmp_path}", "name=v0")
    assert result.returncode == 0, result.stderr
    assert metrics(tmp_path / "v0", "gsm8k")["tokens"]["mean"] == 70


def test_openai_batch_output_with_and_without_its_input_file(tmp_path, data_dir):
    gsm8k = samples("gsm8k", data_dir, 5)
    requests, outputs = [], []
    for index, s in enumerate(gsm8k):
        requests.append({"custom_id": f"req-{index}", "method": "POST", "url": "/v1/chat/completions",
                         "body": {"model": "o4-mini", "messages": [{"role": "user", "content": s.question}]}})  # fmt: skip
        body = {"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": f"The answer is \\boxed{{{s.gold}}}."}}],
                "usage": {"completion_tokens": 300 + index, "completion_tokens_details": {"reasoning_tokens": 280}}}  # fmt: skip
        outputs.append({"id": f"batch_req_{index}", "custom_id": f"req-{index}",
                        "response": {"status_code": 200, "request_id": "r", "body": body}, "error": None})  # fmt: skip
    outputs[3] = {"id": "batch_req_3", "custom_id": "req-3", "response": None,
                  "error": {"code": "batch_expired", "message": "This request could not be executed in time."}}  # fmt: skip
    out = write_lines(tmp_path / "batch_output.jsonl", outputs[::-1])  # the output's order is not the input's
    inputs = write_lines(tmp_path / "batch_input.jsonl", requests)
    result = run_cli("import", "openai-batch", str(out), f"requests={inputs}", f"out={tmp_path}", "name=batch")
    assert result.returncode == 0, result.stderr
    assert "batch_output.jsonl line 2: request req-3 failed (This request could not be executed in time.)" in result.stderr
    got = metrics(tmp_path / "batch", "gsm8k")
    assert got["samples"] == 4 and got["accuracy"] == 1.0 and got["reasoning_tokens"]["mean"] == 280
    assert got["tokens"]["mean"] == pytest.approx((300 + 301 + 302 + 304) / 4) and got["truncation_rate"] == 0.0

    by_id = [{**o, "custom_id": s.id} for o, s in zip(outputs, gsm8k, strict=True)]
    out = write_lines(tmp_path / "by_id.jsonl", by_id)
    result = run_cli("import", "openai-batch", str(out), "tasks=gsm8k", f"out={tmp_path}", "name=byid")
    assert result.returncode == 0, result.stderr
    assert metrics(tmp_path / "byid", "gsm8k")["samples"] == 4


def test_a_rescore_takes_the_tokenizer_the_run_names_from_tokenizer_when_it_is_not_at_hand(tmp_path, data_dir):
    rows = [{"question": s.question, "completion": answered(s.gold, True)} for s in samples("gsm8k", data_dir, 6)]
    path = write_lines(tmp_path / "gens.jsonl", rows)
    made = run_cli("import", "jsonl", str(path), "tasks=gsm8k", f"out={tmp_path}", "name=tok", f"tokenizer={TINY_REASONER}")
    assert made.returncode == 0, made.stderr
    record = json.loads((tmp_path / "tok" / "run.json").read_text())
    record["config"]["backend_options"]["tokenizer"] = "effbench-tests/no-such-tokenizer"  # a hub name, not here
    (tmp_path / "tok" / "run.json").write_text(json.dumps(record))
    offline = {"HF_HUB_OFFLINE": "1"}
    failed = run_cli("rescore", str(tmp_path / "tok"), "reasoning=none", env=offline)  # recounted: the tokenizer is needed
    assert_one_line_error(failed, "give it with tokenizer=PATH")
    assert not (tmp_path / "tok-rescored").exists()  # no half-made run left behind
    given = run_cli("rescore", str(tmp_path / "tok"), "reasoning=none", f"tokenizer={TINY_REASONER}", env=offline)
    assert given.returncode == 0, given.stderr
    assert "rescored 6 completions" in given.stdout
