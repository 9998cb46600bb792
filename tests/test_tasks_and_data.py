import json

import pytest

from effbench.errors import DataError, TaskError
from effbench.tasks.data import load_dataset
from effbench.tasks.prompts import render
from effbench.tasks.spec import TASK_FOLDER, load_task, parse_task, task_names

EXPECTED = {
    "gsm8k": 1319,
    "math500": 500,
    "aime24": 30,
    "aime25": 30,
    "gaokao2023en": 385,
    "amc23": 40,
    "math": 5000,
    "gaokao2024_I": 14,
    "gaokao2024_II": 14,
    "gaokao2024_mix": 91,
    "gaokao_math_cloze": 118,
    "gaokao_math_qa": 351,
    "o1pruner_math": 458,
    "o1pruner_gaokao": 385,
    "olympiadbench": 675,
    "minerva_math": 272,
    "aime26": 30,
    "hmmt_feb25": 30,
}


def test_registry_holds_the_tasks():
    assert set(task_names()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_task_loads_its_canonical_file(name, data_dir):
    spec = load_task(name)
    dataset = load_dataset(spec, root=data_dir)
    assert dataset.fingerprint["records"] == EXPECTED[name] == spec.source.records
    assert dataset.fingerprint["sha256"] == spec.source.sha256
    assert len(dataset.samples) + len(dataset.excluded) == EXPECTED[name]
    assert all(s.question and s.gold for s in dataset.samples)
    assert len({s.id for s in dataset.samples}) == len(dataset.samples)
    for field in spec.breakdown:
        assert all(s.metadata[field] for s in dataset.samples), f"{name}: {field} missing somewhere"


def test_data_quirks(data_dir):
    gsm8k = {s.id: s.gold for s in load_dataset(load_task("gsm8k"), root=data_dir).samples}
    assert gsm8k["0"] == "18"
    assert sum("," in gold for gold in gsm8k.values()) == 14  # thousands separators are kept for the grader
    aime = {s.id: s for s in load_dataset(load_task("aime24"), root=data_dir).samples}
    assert sum(s.gold.startswith("0") for s in aime.values()) == 7
    assert {s.metadata["contest"] for s in aime.values()} == {"AIME_I", "AIME_II"}
    gaokao = load_dataset(load_task("gaokao2023en"), root=data_dir)
    assert [e["id"] for e in gaokao.excluded] == ["167", "192"]
    assert all(e["reason"] == "empty gold answer" for e in gaokao.excluded)
    math = load_dataset(load_task("math"), root=data_dir)
    assert {s.metadata["level"] for s in math.samples} == {"1", "2", "3", "4", "5"}
    math500 = {s.question: s.gold for s in load_dataset(load_task("math500"), root=data_dir).samples}
    full = {s.question: s.gold for s in math.samples}
    assert sum(full[q] == g for q, g in math500.items()) >= 495  # gold from the solution's last \boxed{}


def test_chinese_gaokao_and_o1_pruner_files_read_as_their_evaluations_read_them(data_dir):
    qa = load_dataset(load_task("gaokao_math_qa"), root=data_dir).samples
    assert "\n选项: (A) $\\{x \\mid x>-1\\}$ (B)" in qa[0].question and qa[0].gold == "D"  # Qwen2.5-Math's layout
    assert sum(len(s.gold.replace(" ", "")) > 1 for s in qa) == 7 and {s.metadata["year"][:2] for s in qa} == {"20"}
    mix = load_dataset(load_task("gaokao2024_mix"), root=data_dir).samples
    choices = [s for s in mix if s.metadata["format"] == "choice"]
    assert len(choices) == 55 and all(s.gold in "ABCD" for s in choices)  # the letter, not the letter with its text
    assert {s.gold for s in mix if s.id == "2"} == {"D"} and len(mix) - len(choices) == 36
    cloze = load_dataset(load_task("gaokao_math_cloze"), root=data_dir).samples
    assert cloze[1].gold == "$5$;$10$" and cloze[0].metadata["year"] == "2021"
    paper = load_dataset(load_task("gaokao2024_I"), root=data_dir).samples
    assert [s.metadata["type"] for s in paper].count("blank") == 3
    gaokao = load_dataset(load_task("o1pruner_gaokao"), root=data_dir)
    assert [e["id"] for e in gaokao.excluded] == ["167", "192"]
    assert gaokao.samples[1].gold == "$-1-\\sqrt{3}i$"  # corrected in O1-Pruner's copy
    math500 = {s.question: s.gold for s in load_dataset(load_task("math500"), root=data_dir).samples}
    pruner = load_dataset(load_task("o1pruner_math"), root=data_dir).samples
    assert all(math500[s.question] == s.gold for s in pruner)


def test_limit_keeps_the_full_fingerprint(data_dir):
    spec = load_task("math500")
    full, limited = load_dataset(spec, root=data_dir), load_dataset(spec, root=data_dir, limit=5)
    assert len(limited.samples) == 5
    assert limited.fingerprint == full.fingerprint


def test_missing_and_altered_data(tmp_path, data_dir):
    spec = load_task("aime24")
    with pytest.raises(DataError, match="not found; point EFFBENCH_DATA_DIR"):
        load_dataset(spec, root=tmp_path)
    altered = tmp_path / "aime" / "aime24.jsonl"
    altered.parent.mkdir()
    altered.write_bytes((data_dir / "aime" / "aime24.jsonl").read_bytes().replace(b"204", b"205", 1))
    with pytest.raises(DataError, match="restore the canonical file"):
        load_dataset(spec, root=tmp_path)


def test_unknown_task_and_misspelled_task_key(tmp_path):
    with pytest.raises(TaskError, match="did you mean gsm8k"):
        load_task("gsm8kk")
    source = (TASK_FOLDER / "aime24.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(source.replace("extractor:", "extracter:"))
    with pytest.raises(TaskError, match="extracter: unknown key"):
        parse_task(bad)
    bad.write_text(source.replace("grader: math", "grader: nonsense"))
    with pytest.raises(TaskError, match="unknown grader 'nonsense'"):
        parse_task(bad)


def test_prompts_render_chat_and_plain(data_dir):
    spec = load_task("gsm8k")
    sample = load_dataset(spec, root=data_dir, limit=1).samples[0]
    chat = render(spec, sample, system="Be brief.")
    assert chat[0] == {"role": "system", "content": "Be brief."}
    assert chat[1]["content"].startswith("Janet")
    assert chat[1]["content"].endswith("put your final answer within \\boxed{}.")
    plain = render(spec, sample, mode="plain")
    assert plain.startswith("Question: Janet") and plain.endswith("Answer:")
    assert json.loads(json.dumps(chat)) == list(chat)  # prompts are stored as JSON and read back equal


def test_hub_records_go_through_the_same_mapping(monkeypatch, data_dir):
    """The hub path (no hub here): records as `datasets` would return them, with the task's filter and overrides."""
    import datasets

    lines = (data_dir / "amc23" / "test.jsonl").read_text().splitlines()
    rows = [{k: str(v) for k, v in json.loads(line).items()} for line in lines]
    decoy = {**rows[0], "id": "999", "url": rows[0]["url"].replace("2023", "2022")}
    calls = []

    def fake_load(path, name=None, split=None, revision=None):
        calls.append((path, name, split, revision))
        return datasets.Dataset.from_list([*rows, decoy])

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    monkeypatch.delenv("EFFBENCH_DATA_DIR")
    spec = load_task("amc23")
    dataset = load_dataset(spec)
    assert calls == [("AI-MO/aimo-validation-amc", "default", "train", spec.source.hub.revision)]
    assert len(dataset.samples) == 40 and "999" not in {s.id for s in dataset.samples}  # the 2022 row is filtered out
    assert dataset.fingerprint["source"].startswith("hub AI-MO/aimo-validation-amc@")
    local = load_dataset(spec, root=data_dir)
    assert dataset.fingerprint["samples_sha256"] == local.fingerprint["samples_sha256"]

    aime25 = [{"problem_idx": i + 1, "problem": f"p{i}", "answer": i} for i in range(30)]
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_list(aime25))
    samples = load_dataset(load_task("aime25")).samples
    assert [s.id for s in samples[:2]] == ["1", "2"] and samples[1].gold == "1"  # ids from problem_idx on the hub


def test_unreachable_hub_is_one_clear_error(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.delenv("EFFBENCH_DATA_DIR")
    with pytest.raises(
        DataError, match=r"could not load openai/gsm8k from the Hugging Face hub .ConnectionError.; set EFFBENCH_DATA_DIR"
    ):
        load_dataset(load_task("gsm8k"))
