from dataclasses import replace

import pytest

from effbench.grading.equivalence import GRADERS
from effbench.grading.extract import extract, last_braced
from effbench.grading.pool import GradeJob, GradingPool
from effbench.grading.reasoning import THINK
from tests.helpers import sleepy


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        ("<think>a \\boxed{1}</think>The answer is \\boxed{2}", None, "The answer is \\boxed{2}"),
        ("thinking only, template opened it</think>\\boxed{3}", None, "\\boxed{3}"),
        ("<think>never closed \\boxed{4}", None, None),
        ("no thinking \\boxed{5}", None, "no thinking \\boxed{5}"),
        ("\\boxed{6}", "server-split reasoning", "\\boxed{6}"),
        ("", "server-split reasoning that never ended", None),
    ],
)
def test_split_reasoning(text, reasoning, answer):
    assert THINK.split(text, reasoning).answer == answer


@pytest.mark.parametrize(
    ("text", "extractor", "expected"),
    [
        ("so \\boxed{1} then \\boxed{\\frac{1}{2}}", "math", ("\\frac{1}{2}", "boxed")),
        ("\\fbox{x^{2}}", "math", ("x^{2}", "boxed")),
        ("The final answer is 42.", "math", ("42", "answer_is")),
        ("we get 3 and then 1,000 apples", "number", ("1,000", "last_number")),
        ("#### 72", "number", ("72", "hashes")),
        ("no numbers here", "number", (None, None)),
        ("we get 3 and then 5", "math", ("5", "last_number")),  # the fallback; scoring may still refuse it
        ("\\boxed{-2} \\quad\\text{and}\\quad \\boxed{1}.", "math", ("-2, 1", "several_boxes")),  # one box per root
        ("\\boxed{\\boxed{5}}", "math", ("5", "boxed")),
        ("Final Answer: The final answer is $7$. I hope it is correct.", "math", ("7", "answer_is")),
        ("**Final Answer:** $\\frac12$", "math", ("\\frac12", "answer_is")),
        ("The answer is 72, in total, so that is it.", "number", ("72", "answer_is")),
        ("Final Answer: The largest $n$ is 34.", "math", ("34", "answer_is")),
        ("The correct option is (B).", "math", ("(B)", "answer_is")),
        ("Comparing the values, we choose C.", "math", ("C", "choice")),
        ("$\\dfrac{3}{4}$", "math", ("$\\dfrac{3}{4}$", "bare")),
        ("no idea", "math", (None, None)),  # prose is not a bare answer
        ("Thus we obtain $x=7$ in the end, after all that work", "math", ("x=7", "last_math")),
        ("The temperature was −3 degrees.", "number", ("−3", "last_number")),
        ("He spends 1.45 million dollars.", "number", ("1.45 million", "last_number")),
    ],
)
def test_extract_rules(text, extractor, expected):
    assert extract(text, extractor) == expected


def test_unbalanced_box_is_not_an_answer():
    assert last_braced("\\boxed{1} and \\boxed{2") == "1"
    assert last_braced("\\boxed{" * 20000 + "x") is None  # one pass, not one scan per opening


def test_pathological_answers_end_in_a_verdict_or_a_timeout():
    cases = [("9^{9^{9^{9^{9}}}}", "1"), ("\\frac{" * 300 + "1" + "}{2}" * 300, "1"), ("x" * 100_000, "1"), ("2", "2")]
    with GradingPool(workers=2, timeout=2.0) as pool:
        outcomes = [pool.submit(GradeJob("math", a, g)).result(timeout=120)[0] for a, g in cases]
    assert all(o in {"wrong", "timeout"} for o in outcomes[:3])
    assert outcomes[3] == "correct"  # the pool goes on after killing stuck workers


@pytest.mark.parametrize(
    ("grader", "answer", "gold", "correct"),
    [
        ("math", "2,125", "2,125", True),
        ("math", "2125", "2,125", True),
        ("math", "12", "1,2", False),  # `1,2` is a list, not twelve
        ("math", "\\$18", "18", True),
        ("math", "27", "27.0", True),
        ("math", "17", "18", False),
        ("math", "25", "025", True),
        ("math", "25.5", "25", False),
        ("math", "A, B, D", "A B D", True),
        ("math", "(C) 5", "C", True),
        ("math", "AB", "ABD", False),
        ("math", "4 4/9", "40/9", True),
        ("math", "1.45 million", "1,450,000", True),
        ("math", "10\\%", "0.1", True),
        ("math", "1 + \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{\\mathrm{e}}", False),  # no first-number fallback
        ("math", "1, 3, 5, \\ldots, 2n-1", "1, 2, \\ldots, n", None),  # math-verify reads neither: not compared
        ("math", "0", "a + 3z = 0", False),  # an equation's right side is not the equation
        ("math", "f(4) > f(1) > f(2)", "f(2) < f(1) < f(4)", True),
        ("math", "[-2,1)", "\\{x|-2\\leq x < 1\\}", True),
        ("math", "\\lambda \\in (3,4]", "(3,4]", True),
        ("math", "x \\lt 3", "x < 3", True),
        ("math", "\\ln 2", "ln2", True),
        ("math", "24, 112", "24;112", True),
        ("math", "\\frac{1}{2}", "0.5", True),
        ("math", "\\dfrac{\\pi}{2}", "\\frac{\\pi}{2}", True),
        ("math", "3", "4", False),
        ("math", "10{,}000", "10000", True),
        ("math", "\\text{4:30 p.m.}", "4:30 \\text{ p.m.}", True),
        ("math", "[-2,7]", "-2 \\le x \\le 7", True),
        ("math", "\\frac{1}{2004!}", "\\frac{1}{2006!}", False),  # both round to the same float
        ("math", "2^{100}", "2^{100}+1", False),
        ("math", "x=3", "3", True),
        ("math", "50\\%", "50", True),
        ("math", "30^\\circ", "30", True),
        ("math", "\\$5.00", "5", True),
        ("math", "\\{1,2\\}", "\\{2,1\\}", True),
        ("math", "(1,2)", "(2,1)", False),  # ordered pairs keep their order
        ("math", "0.333333", "\\frac13", True),
    ],
)
def test_graders(grader, answer, gold, correct):
    assert GRADERS[grader](answer, gold) is correct


def test_pool_grades_in_workers():
    with GradingPool(workers=2, timeout=30) as pool:
        futures = [pool.submit(GradeJob("math", a, g)) for a, g in [("\\frac12", "0.5"), ("3", "4")]]
        assert [f.result(timeout=60) for f in futures] == [("correct", None), ("wrong", None)]


def test_stuck_worker_is_killed_and_the_pool_goes_on():
    with GradingPool(workers=1, timeout=1.0, job_fn=sleepy) as pool:
        futures = [pool.submit(GradeJob("x", a, "1")) for a in ("hang", "1", "boom", "2")]
        outcomes = [f.result(timeout=60) for f in futures]
    assert outcomes[0][0] == "timeout" and "killed" in outcomes[0][1]
    assert outcomes[1] == ("correct", None)
    assert outcomes[2][0] == "error" and "grader bug" in outcomes[2][1]
    assert outcomes[3] == ("wrong", None)
    assert pool.timeouts == 1


def test_every_gold_answer_grades_as_itself_in_the_format_its_prompt_asks_for(data_dir, tmp_path):
    """Every task's prompt asks for the final answer in \\boxed{}: each gold, boxed, through `effbench grade`."""
    import json

    from effbench.tasks.data import load_dataset
    from effbench.tasks.spec import load_task, task_names
    from tests.conftest import run_cli

    rows = []
    for name in task_names():
        spec = load_task(name)
        assert any("\\boxed{}" in m["content"] for m in spec.prompt.chat), name
        rows += [
            {"task": name, "id": s.id, "gold": s.gold, "completion": f"So the final answer is $\\boxed{{{s.gold}}}$."}
            for s in load_dataset(spec, root=data_dir).samples
        ]
    (tmp_path / "golds.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = run_cli("grade", str(tmp_path / "golds.jsonl"), f"out={tmp_path / 'graded.jsonl'}", timeout=900)
    assert result.returncode == 0, result.stderr
    graded = [json.loads(line) for line in (tmp_path / "graded.jsonl").read_text(encoding="utf-8").splitlines()]
    failures = [(r["task"], r["id"], r["gold"], r["pred"], r["status"]) for r in graded if not r["correct"]]
    assert len(graded) == len(rows) > 8000 and not failures, failures[:10]


def test_first_correct_answer_is_located_for_outcome_efficiency():
    from effbench.grading.scoring import Rules, score
    from effbench.types import Completion

    def completion(text, reasoning=None):
        return Completion(text=text, tokens=1, finish_reason="stop", reasoning=reasoning)

    early = "<think>First try: the answer is 4. Check: \\boxed{5} works.</think> So \\boxed{5}."
    with GradingPool(workers=2, timeout=30) as pool:
        grades = [
            score(pool, c, "5", Rules()).result(timeout=60)
            for c in (
                completion(early),
                completion("So \\boxed{5}.", reasoning="the answer is 4. no, the answer is 5. yes"),  # a server's split
                completion("<think>hmm</think> \\boxed{4}"),
                completion("we get 5 in the end", reasoning=None),
            )
        ]
    assert grades[0].first_correct == pytest.approx(round((early.index("\\boxed{5}") + len("\\boxed{5}")) / len(early), 6))
    full = "the answer is 4. no, the answer is 5. yes</think>So \\boxed{5}."
    assert grades[1].first_correct == pytest.approx(round((full.index("5. yes") + 1) / len(full), 6))
    assert grades[2].verdict == "wrong" and grades[2].first_correct is None
    assert (grades[3].verdict, grades[3].rule) == ("correct", "last_number")  # no answer marked: the fallback


def test_script_without_main_guard_is_told_what_to_do(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from effbench.run.grade_file import grade_outputs\n"
        "list(grade_outputs([{'gold': '1', 'completion': '1'}], task=None, workers=1, timeout=5))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'call effbench under `if __name__ == "__main__":`' in result.stderr


def test_stated_answers_are_searched_whatever_the_verdict():
    """A wrong or unfinished completion that stated the right answer on its way has it located (harmful overthinking);
    positions count the characters of the text itself, markdown bold included."""
    from effbench.grading.scoring import Rules, score
    from effbench.types import Completion

    def completion(text):
        return Completion(text=text, tokens=1, finish_reason="stop")

    overthought = "<think>So the answer is 5. Wait, maybe not.</think> \\boxed{4}"
    bold = "<think>**Answer:** \\boxed{5}</think> So **\\boxed{5}**."
    cut_off = "<think>I get \\boxed{5}, but let me check again and again"
    with GradingPool(workers=2, timeout=30) as pool:
        grades = [score(pool, completion(text), "5", Rules()).result(timeout=60) for text in (overthought, bold, cut_off)]
        never = score(pool, completion("<think>4</think> \\boxed{4}"), "5", Rules()).result(timeout=60)
    assert grades[0].verdict == "wrong" and grades[0].first_correct_at == overthought.index("5.") + 1
    assert grades[1].verdict == "correct" and grades[1].first_correct_at == bold.index("{5}") + 3
    assert grades[2].verdict == "unfinished" and grades[2].first_correct_at == cut_off.index("{5}") + 3
    assert all(g.searched for g in grades) and never.searched and never.first_correct_at is None


def test_where_the_final_answer_first_appears_and_settles():
    """The final answer's first statement, and the first from which on the answer stated no longer changes; an answer
    stated nowhere on the way (a bare one) is stated at the end; past the statements searched, the settling is unknown."""
    from effbench.grading.extract import MAX_CANDIDATES
    from effbench.grading.scoring import Rules, answer_positions, score
    from effbench.types import Completion

    wavering = "<think>\\boxed{5}, no: \\boxed{4}. Hmm, the answer is $\\frac{10}{2}$. Check: 5.0.</think> \\boxed{5.0}"
    settled = wavering.index("{2}$") + 4
    bare = "<think>Maybe \\boxed{4}.</think>\n5"
    changed = "<think>\\boxed{5}.</think> \\boxed{4}"
    with GradingPool(workers=2, timeout=30) as pool:
        waver, late, lost = (
            score(pool, Completion(text, 1, "stop"), "5", Rules()).result(timeout=60) for text in (wavering, bare, changed)
        )
    assert waver.verdict == "correct" and waver.answer_first_at == wavering.index("{5}") + 3
    assert waver.answer_settled_at == settled < len(wavering)  # `\\frac{10}{2}` and `5.0` state 5 again
    assert late.answer_first_at == late.answer_settled_at == len(bare)
    assert lost.verdict == "wrong" and lost.answer_first_at == lost.answer_settled_at == len(changed)
    many = [(at, "4" if at % 2 else "5") for at in range(1, MAX_CANDIDATES + 1)]
    assert answer_positions("5", many, 100) == (2, None) and answer_positions(None, many, 100) == (None, None)


def test_a_position_is_located_in_the_tokens_that_write_it():
    from effbench.backends.codec import TokenizerCodec, WordCodec, with_token_position
    from effbench.types import Completion, Grade
    from tests.helpers import qwen_tokenizer

    codec = TokenizerCodec(qwen_tokenizer())
    ids = codec.encode("<think>Let me compute 12 × 7 = 84. 等等, 再检查: 84.</think> The answer is \\boxed{84}.")

    def decoded(ids):  # as vLLM decodes a completion: special tokens skipped
        return codec.tokenizer.decode(list(ids), skip_special_tokens=True)

    text = decoded(ids)
    at = text.index("84") + 2
    tokens = codec.tokens_until(ids, text, at)
    assert decoded(ids[:tokens]).endswith("84") and len(decoded(ids[:tokens])) == at > len(decoded(ids[: tokens - 1]))
    assert codec.tokens_until(ids, text, 0) == 0 and codec.tokens_until(ids, text, len(text)) == len(ids)
    lengths = [len(decoded(ids[:k])) for k in range(len(ids) + 1)]
    fewest = [next(k for k, n in enumerate(lengths) if n >= chars) for chars in range(len(text) + 1)]
    assert [codec.tokens_until(ids, text, chars) for chars in range(len(text) + 1)] == fewest  # at every position
    assert WordCodec().tokens_until((), "a b cd e", 5) == 3  # the word a position falls in counts
    grade = Grade("correct", answer="84", first_correct_at=at)
    located = with_token_position(grade, Completion(text, len(ids), "stop", token_ids=ids), codec)
    assert located.first_correct_tokens == tokens
    whole = Completion(text, len(ids), "stop", token_ids=ids)
    both = with_token_position(replace(grade, answer_first_at=at, answer_settled_at=len(text)), whole, codec)
    assert both.answer_first_tokens == tokens and both.answer_settled_tokens == len(ids)
    separate = Completion(text, len(ids), "stop", token_ids=ids, reasoning="Let me compute")  # ids do not write the whole
    assert with_token_position(grade, separate, codec).first_correct_tokens is None
    assert with_token_position(grade, Completion(text, len(ids), "stop"), codec).first_correct_tokens is None
