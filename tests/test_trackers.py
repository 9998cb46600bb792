"""Results logged to W&B (offline), an MLflow file store and TensorBoard, and read back from what each wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli, write_script

OFFLINE = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "MLFLOW_ALLOW_FILE_STORE": "true"}
WANDB_BLOCK = 32768  # the .wandb file: a header, then LevelDB-log records (crc 4, length 2, type 1) of protobufs


def wandb_history(path: Path) -> list[dict]:
    from wandb.proto import wandb_internal_pb2

    data, at, pieces, rows = path.read_bytes(), 7, b"", []
    while at + 7 <= len(data):
        if (room := WANDB_BLOCK - at % WANDB_BLOCK) < 7:
            at += room
            continue
        length, kind = int.from_bytes(data[at + 4 : at + 6], "little"), data[at + 6]
        pieces, at = pieces + data[at + 7 : at + 7 + length], at + 7 + length
        if kind in (1, 4):  # a whole record, or a record's last piece
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pieces)
            pieces = b""
            if record.WhichOneof("record_type") == "history":
                row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
                rows.append({**row, "step": record.history.step.num})
    return rows


def test_a_two_checkpoint_series_is_logged_to_every_tracker_and_reads_back(tmp_path, monkeypatch):
    env = {**OFFLINE, "MLFLOW_TRACKING_URI": f"file:{tmp_path / 'mlruns'}"}
    accuracy = {}
    tokens = {}
    for step, text in ((100, "Nine and nine make eighteen, so the answer is \\boxed{18}."), (200, "\\boxed{0}")):
        script = write_script(tmp_path / f"s{step}.json", {"*": text})
        result = run_cli("eval", "model=m", "backend=scripted", f"script={script}", "tasks=gsm8k", "limit=4",
                         f"name=ckpt-{step}", f"step={step}", "log_name=training", "log_to=wandb,mlflow,tensorboard",
                         f"out={tmp_path / 'runs'}", f"log_baseline={tmp_path / 'runs' / 'ckpt-100'}", env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "logged to wandb, mlflow, tensorboard as training" in result.stdout
        metrics = json.loads((tmp_path / "runs" / f"ckpt-{step}" / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]
        accuracy[step], tokens[step] = metrics["accuracy"], metrics["tokens"]["mean"]
    assert accuracy[100] != accuracy[200]
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(f"file:{tmp_path / 'mlruns'}")
    (run,) = client.search_runs([client.get_experiment_by_name("effbench").experiment_id])
    assert run.info.run_name == "training" and run.data.params["model"] == "m"
    history = client.get_metric_history(run.info.run_id, "gsm8k/accuracy")
    assert sorted((m.step, m.value) for m in history) == sorted(accuracy.items())
    assert {"gsm8k/mean_tokens", "gsm8k/accuracy_ci_low", "gsm8k/truncation_rate", "gsm8k/aes"} <= set(run.data.metrics)
    shorter = client.get_metric_history(run.info.run_id, "gsm8k/compression")  # against log_baseline=ckpt-100
    assert sorted((m.step, m.value) for m in shorter) == [(100, 0.0), (200, pytest.approx(1 - tokens[200] / tokens[100]))]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "runs" / "tensorboard" / "training"))
    events.Reload()
    assert sorted((e.step, e.value) for e in events.Scalars("gsm8k/accuracy")) == sorted(accuracy.items())
    files = sorted((tmp_path / "runs" / "wandb").glob("offline-run-*/run-*.wandb"))
    logged = [row for path in files for row in wandb_history(path)]
    assert sorted((row["step"], row["gsm8k/accuracy"]) for row in logged) == sorted(accuracy.items())
    tables = sorted((tmp_path / "runs" / "wandb").glob("offline-run-*/files/media/table/samples_*.table.json"))
    assert len(tables) == 2  # each checkpoint's sample table, beside its figures
    assert all(json.loads(t.read_text())["columns"][-2:] == ["verdict", "tokens"] for t in tables)


def test_a_sweep_logs_each_budget_at_its_budget(tmp_path):
    script = write_script(tmp_path / "s.json", {"*": "<think>" + " step" * 40 + "</think> The answer is \\boxed{18}."})
    result = run_cli("sweep", "model=m", "backend=scripted", f"script={script}", "tasks=gsm8k", "limit=3", "budgets=8,64",
                     "name=budgets", "log_to=tensorboard", f"out={tmp_path}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard" / "budgets"))
    events.Reload()
    assert [e.step for e in events.Scalars("gsm8k/accuracy")] == [8, 64]
    assert events.Scalars("gsm8k/accuracy")[0].value < events.Scalars("gsm8k/accuracy")[1].value


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("log_to=comet",), "log_to.0=comet is not one of wandb, mlflow, tensorboard"),
        (("log_to=mlflow",), "log_to=mlflow failed: "),
    ],
)
def test_a_tracker_that_cannot_be_used_is_one_line_and_the_run_is_kept(tmp_path, words, message):
    script = write_script(tmp_path / "s.json", {"*": "\\boxed{18}"})
    env = {"MLFLOW_TRACKING_URI": f"file:{tmp_path / 'mlruns'}", "MLFLOW_ALLOW_FILE_STORE": ""}  # MLflow refuses a file store
    result = run_cli("eval", "model=m", "backend=scripted", f"script={script}", "tasks=gsm8k", "limit=2", "name=kept",
                     f"out={tmp_path}", *words, env=env)  # fmt: skip
    assert_one_line_error(result, message)
    if "failed" in message:
        assert "the run itself is stored" in result.stderr and (tmp_path / "kept" / "results.json").exists()
