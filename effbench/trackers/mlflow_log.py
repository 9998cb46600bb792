"""MLflow: a run per series in the `effbench` experiment (found again by its name), metrics at the step, the sample
table as an artifact. Where to, from MLFLOW_TRACKING_URI as MLflow reads it."""

from __future__ import annotations

from effbench.trackers import Logged

EXPERIMENT = "effbench"


def log(entry: Logged) -> None:
    import mlflow

    mlflow.set_experiment(EXPERIMENT)
    found = mlflow.search_runs(filter_string=f"tags.`mlflow.runName` = '{entry.series}'", output_format="list")
    with mlflow.start_run(run_id=found[0].info.run_id if found else None, run_name=None if found else entry.series) as run:
        known = run.data.params
        mlflow.log_params({key: str(value)[:6000] for key, value in entry.params.items() if key not in known})
        mlflow.log_metrics(entry.metrics, step=entry.step)
        if entry.samples:
            columns = list(entry.samples[0])
            mlflow.log_table({c: [s[c] for s in entry.samples] for c in columns}, artifact_file=f"samples-step{entry.step}.json")
