"""Reasoning formats: the answer part, `unfinished`, the reasoning tokens in the real Qwen vocabulary, and runs that use them."""

from __future__ import annotations

import json

import pytest

from effbench.backends.codec import TokenizerCodec, WordCodec, last_occurrence
from effbench.grading.reasoning import FORMATS, THINK, reasoning_format
from effbench.tasks.spec import TASK_FOLDER
from tests.conftest import assert_one_line_error, read_lines, run_cli, write_script
from tests.helpers import qwen_tokenizer

SKY = "<|begin_of_thought|>\n\nTry 4: no.\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\nSo \\boxed{5}.\n\n<|end_of_solution|>"
MARCO = "<Thought>\nTry 4: no.\n</Thought>\n<Output>\nSo \\boxed{5}.\n</Output>"
S1 = "<|im_start|>think\nTry 4: no. Wait, 5.\n<|im_start|>answer\nFinal Answer: \\boxed{5}<|im_end|>"
HARMONY = "<|channel|>analysis<|message|>Try 4: no.<|end|><|start|>assistant<|channel|>final<|message|>So \\boxed{5}.<|return|>"


@pytest.mark.parametrize(
    ("name", "text", "answer"),
    [
        ("think", "<think>Try 4: no.</think>So \\boxed{5}.", "So \\boxed{5}."),
        ("think", "template opened it. Try 4: no.</think>So \\boxed{5}.", "So \\boxed{5}."),
        ("think", "<think>Try 4: still thinking", None),
        ("think", "no thinking, So \\boxed{5}.", "no thinking, So \\boxed{5}."),
        ("sky-t1", SKY, "\n\n\n\nSo \\boxed{5}.\n\n"),
        ("sky-t1", "<|begin_of_thought|>\n\nTry 4: still thinking", None),
        ("marco", MARCO, "\n\nSo \\boxed{5}.\n"),
        ("marco", "<Thought>\nTry 4: still thinking", None),
        ("s1", S1, "\nFinal Answer: \\boxed{5}"),
        ("s1", "<|im_start|>think\nTry 4: still thinking", None),
        ("harmony", HARMONY, "So \\boxed{5}."),
        ("harmony", "analysisTry 4: no.assistantfinalSo \\boxed{5}.", "So \\boxed{5}."),  # special tokens skipped
        ("harmony", "<|channel|>analysis<|message|>Try 4: still thinking", None),
        ("harmony", "analysisTry 4: still thinking", None),
        ("none", "<think>Try 4</think>So \\boxed{5}.", "<think>Try 4</think>So \\boxed{5}."),
        ("<reasoning>...</reasoning>", "<reasoning>Try 4</reasoning>So \\boxed{5}.", "So \\boxed{5}."),
        ("<reasoning>...</reasoning>", "<reasoning>Try 4", None),
        ("sky-t1", "<think>Try 4</think>So \\boxed{5}.", "<think>Try 4</think>So \\boxed{5}."),  # another format's tags are text
    ],
)
def test_each_format_splits_answer_from_reasoning(name, text, answer):
    split = reasoning_format(name).split(text)
    assert split.answer == answer
    assert split.unfinished is (answer is None)
    if split.reasoning is not None:
        assert "Try 4" in split.reasoning and not any(m in split.reasoning for m in reasoning_format(name).opens)


def test_a_server_split_reasoning_is_taken_as_it_is():
    assert THINK.split("\\boxed{6}", "reasoning").answer == "\\boxed{6}"
    assert THINK.split("  ", "reasoning that never ended").unfinished


def test_budget_forcing_knows_when_each_format_is_still_reasoning():
    assert FORMATS["sky-t1"].is_open("prompt <|begin_of_thought|> step")
    assert not FORMATS["sky-t1"].is_open(SKY)
    assert FORMATS["harmony"].is_open("analysisstill going")
    assert not FORMATS["none"].is_open("<think>anything")
    assert THINK.is_open("<|im_start|>assistant\n<think>\n step") and not THINK.is_open("<think>a</think> b")
    assert FORMATS["s1"].is_open("<|im_start|>assistant\n<|im_start|>think\nstep") and not FORMATS["s1"].is_open(S1)


@pytest.mark.parametrize("bad", ["", "thinking", "<a>...<a>", "... </x>", "<a> ...</a>"])
def test_unknown_formats_name_the_choices(bad):
    with pytest.raises(ValueError, match="use one of think, none, sky-t1, marco, s1, harmony"):
        reasoning_format(bad)


@pytest.fixture(scope="module")
def codec() -> TokenizerCodec:
    return TokenizerCodec(qwen_tokenizer())


def test_reasoning_tokens_are_located_in_the_real_qwen_token_ids(codec):
    text = "Let me think. 2 + 3 = 5, so the answer is five.</think>\n\nThe answer is \\boxed{5}."
    ids = codec.encode(text)
    assert 151668 in ids  # </think> is one special token in Qwen3's vocabulary
    assert codec.reasoning_tokens(ids, text) == ids.index(151668) + 1
    for name, sample in (("sky-t1", SKY), ("marco", MARCO)):
        ids = codec.encode(sample)
        reasoning = codec.reasoning_tokens(ids, sample, FORMATS[name])
        marker = FORMATS[name].closes[0]
        head = codec.tokenizer.decode(list(ids[:reasoning]))
        assert head.endswith(marker) or (marker in head and marker not in codec.tokenizer.decode(list(ids[: reasoning - 1])))
        assert 0 < reasoning < len(ids)
    assert codec.reasoning_tokens(codec.encode("no markers here"), "no markers here", FORMATS["sky-t1"]) is None
    assert codec.reasoning_tokens((), "anything", FORMATS["none"]) is None


def test_a_marker_merged_with_what_follows_is_counted_to_its_last_token(codec):
    text = "step one\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\\boxed{5}"
    ids = codec.encode(text)
    count = codec.reasoning_tokens(ids, text, FORMATS["sky-t1"])
    decoded = [codec.tokenizer.decode(list(ids[:k])) for k in (count - 1, count)]
    assert "<|end_of_thought|>" not in decoded[0] and "<|end_of_thought|>" in decoded[1]


def test_last_occurrence_finds_the_last_match():
    assert last_occurrence((1, 2, 3, 1, 2, 3), (1, 2)) == 5
    assert last_occurrence((1, 2, 3), (3,)) == 3
    assert last_occurrence((1, 2, 3), (4,)) is None
    assert last_occurrence((2, 2), (1, 2)) is None
    assert WordCodec().reasoning_tokens((), "a b <|end_of_thought|> c d", FORMATS["sky-t1"]) == 3


@pytest.fixture
def sky_script(tmp_path):
    return write_script(
        tmp_path / "sky.json",
        {
            "gsm8k/0": "<|begin_of_thought|> four steps of thought <|end_of_thought|> <|begin_of_solution|> \\boxed{18} "
            "<|end_of_solution|>",
            "gsm8k/1": "<|begin_of_thought|> thinking to the end without an answer \\boxed{3}",
            "*": "<think> a b </think> \\boxed{0}",
        },
    )


def test_a_run_grades_and_counts_with_its_reasoning_format(tmp_path, sky_script):
    words = (
        "eval",
        "model=m",
        "tasks=gsm8k",
        "backend=scripted",
        f"script={sky_script}",
        f"out={tmp_path}",
        "limit=3",
        "max_tokens=50",
    )
    result = run_cli(*words, "reasoning=sky-t1", "name=sky")
    assert result.returncode == 0, result.stderr
    lines = {line["id"]: line["completions"][0] for line in read_lines(tmp_path / "sky" / "gsm8k.samples.jsonl")}
    assert lines["0"]["grade"]["verdict"] == "correct" and lines["0"]["reasoning_tokens"] == 6
    assert lines["1"]["grade"]["verdict"] == "unfinished" and lines["1"]["reasoning_tokens"] is None
    assert lines["2"]["grade"]["answer"] == "0" and lines["2"]["reasoning_tokens"] is None  # <think> is text in sky-t1
    run = json.loads((tmp_path / "sky" / "run.json").read_text())
    assert run["tasks"]["gsm8k"]["reasoning"] == "sky-t1" and run["identity"]["reasoning"] == "sky-t1"
    assert_one_line_error(run_cli(*words, "reasoning=think", "name=sky"), "was made with reasoning='sky-t1'")
    assert_one_line_error(run_cli(*words, "reasoning=thoughts", "name=other"), "unknown reasoning format 'thoughts'")
    rescored = run_cli("rescore", str(tmp_path / "sky"), "name=sky-as-think", "reasoning=think")
    assert rescored.returncode == 0, rescored.stderr
    assert "gsm8k 1 #0: unfinished -> " in rescored.stdout  # graded again with another format, without the model
    recounted = {line["id"]: line["completions"][0] for line in read_lines(tmp_path / "sky-as-think" / "gsm8k.samples.jsonl")}
    assert recounted["0"]["reasoning_tokens"] is None and recounted["2"]["reasoning_tokens"] == 4  # counted again, as think


def test_s1_s_completions_are_counted_to_its_answer_marker_and_forced_the_way_s1_forces_them(tmp_path):
    ids = WordCodec().encode(S1.replace("\n", " "))
    assert WordCodec().reasoning_tokens(ids, S1.replace("\n", " "), FORMATS["s1"]) == 7  # think … Wait, 5. answer
    script = write_script(tmp_path / "s1.json", {"*": "<|im_start|>think " + "step " * 40, "after_cue": {"*": "18 done"}})
    words = ("eval", "model=m", "tasks=gsm8k", "backend=scripted", f"script={script}", f"out={tmp_path}", "limit=1")
    result = run_cli(*words, "max_tokens=10", "method=budget_forcing", "force_cue=Final Answer:", "reasoning=s1", "name=s1")
    assert result.returncode == 0, result.stderr
    completion = read_lines(tmp_path / "s1" / "gsm8k.samples.jsonl")[0]["completions"][0]
    assert (
        completion["forced"]["text"] == "\n<|im_start|>answer\n\nFinal Answer:"
    )  # s1's own ending: its answer marker, then the cue
    assert completion["reasoning_tokens"] == 10 and completion["grade"]["verdict"] == "correct"


def test_budget_forcing_ends_reasoning_with_the_format_marker(tmp_path):
    script = write_script(tmp_path / "long.json", {"*": "<|begin_of_thought|> " + "step " * 40, "after_cue": {"*": "18} done"}})
    result = run_cli(
        "eval",
        "model=m",
        "tasks=gsm8k",
        "backend=scripted",
        f"script={script}",
        f"out={tmp_path}",
        "limit=1",
        "max_tokens=10",
        "force=true",
        "reasoning=sky-t1",
        "name=forced",
    )
    assert result.returncode == 0, result.stderr
    completion = read_lines(tmp_path / "forced" / "gsm8k.samples.jsonl")[0]["completions"][0]
    assert completion["forced"]["text"].startswith("\n<|end_of_thought|>\n\n<|begin_of_solution|>\n")
    assert completion["grade"]["verdict"] == "correct" and completion["reasoning_tokens"] == 10


def test_a_task_may_name_its_reasoning_format_and_a_bad_one_is_one_line(tmp_path):
    text = (TASK_FOLDER / "gsm8k.yaml").read_text()
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(text.replace("grader: math\n", "grader: math\nreasoning: marco\n"))
    bad.write_text(text.replace("grader: math\n", "grader: math\nreasoning: musing\n"))
    script = write_script(tmp_path / "m.json", {"*": "<Thought> x </Thought> <Output> \\boxed{18} </Output>"})
    result = run_cli("eval", "model=m", f"tasks={good}", "backend=scripted", f"script={script}", f"out={tmp_path}", "limit=1")
    assert result.returncode == 0, result.stderr
    assert read_lines(tmp_path / "m" / "gsm8k.samples.jsonl")[0]["completions"][0]["reasoning_tokens"] == 3
    assert_one_line_error(
        run_cli("eval", "model=m", f"tasks={bad}", "backend=scripted", f"script={script}", f"out={tmp_path}", "limit=1"),
        "unknown reasoning format 'musing'",
    )
