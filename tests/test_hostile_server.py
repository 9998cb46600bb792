"""A hostile server's answers: counts that cannot be true, ids that do not write the text, bodies built to break the
reader, waits asked for without end. Each is one line naming the server, or a flag on the stored sample; never a
traceback, and never a wrong number stored as if it were counted."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from effbench.errors import BackendError
from tests.conftest import assert_one_line_error, read_lines, run_cli
from tests.fake_server import FakeServer

TEXT = "\\boxed{18}"


def answer(*, text: str = TEXT, usage: dict | None = None, **choice) -> bytes:
    """A whole answer of one choice (`choice` adds to it, token_ids say), with `usage`."""
    first = {"index": 0, "message": {"content": text}, "finish_reason": "stop", **choice}
    return json.dumps({"choices": [first], **({"usage": usage} if usage is not None else {})}).encode()


def eval_against(server: FakeServer, tmp_path, *extra: str, env: dict | None = None) -> tuple[str, object]:
    """(the server's URL, the result of one eval of one problem against it); `extra` words replace the defaults."""
    with server as url:
        words = {"model": "m", "tasks": "gsm8k", "limit": "1", "backend": "openai", "base_url": url, "out": str(tmp_path),
                 "max_retries": "0"}  # fmt: skip
        words.update(word.split("=", 1) for word in extra)
        result = run_cli("eval", *(f"{k}={v}" for k, v in words.items()), env=env, timeout=120)
    return url, result


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory):
    from tests.helpers import qwen_tokenizer

    path = tmp_path_factory.mktemp("tokenizer")
    qwen_tokenizer().save_pretrained(path)
    return path


# --- counts that cannot be true ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        ({"completion_tokens": -5}, "usage.completion_tokens is '-5', not a count of tokens"),
        ({"completion_tokens": True}, "usage.completion_tokens is 'True', not a count of tokens"),
        ({"completion_tokens": 1e30}, "usage.completion_tokens is '1e+30', not a count of tokens"),
        ({"completion_tokens": 10**8}, "usage.completion_tokens is '100000000', not a count of tokens"),
        ({"completion_tokens": 9, "prompt_tokens": -1}, "usage.prompt_tokens is '-1'"),
        ({"completion_tokens": 9, "prompt_tokens": 10**12}, "usage.prompt_tokens is '1000000000000'"),
        ({"completion_tokens": 9, "prompt_tokens": 40, "prompt_tokens_details": {"cached_tokens": True}},
         "usage.cached_tokens is 'True'"),
        ({"completion_tokens": 9, "completion_tokens_details": {"reasoning_tokens": 1e30}}, "usage.reasoning_tokens is '1e+30'"),
        ({"output_tokens": 2.5}, "usage.output_tokens is '2.5'"),
    ],
)  # fmt: skip
def test_usage_that_is_not_a_count_is_one_line_naming_the_server_and_the_field(tmp_path, usage, message):
    url, result = eval_against(FakeServer("body", answer(usage=usage)), tmp_path)
    assert_one_line_error(result, message)
    assert f"answered by {url}" in result.stderr
    assert not list(tmp_path.glob("*/gsm8k.samples.jsonl")) or not read_lines(next(tmp_path.glob("*/gsm8k.samples.jsonl")))


def test_usage_too_small_for_the_text_it_came_with_is_one_line(tmp_path):
    url, result = eval_against(FakeServer("body", answer(text="x" * 2800, usage={"completion_tokens": 1})), tmp_path)
    assert_one_line_error(result, "usage.completion_tokens is 1 for 2,800 characters of text, fewer than it takes")
    assert f"answered by {url}" in result.stderr


def test_usage_within_reason_is_stored_as_given(tmp_path):
    usage = {"completion_tokens": 12, "prompt_tokens": 40, "prompt_tokens_details": {"cached_tokens": 24}}
    _, result = eval_against(FakeServer("body", answer(text="x" * 2800, usage=usage)), tmp_path, "name=fine")
    assert result.returncode == 0, result.stderr
    completion = read_lines(tmp_path / "fine" / "gsm8k.samples.jsonl")[0]["completions"][0]
    assert (completion["tokens"], completion["prompt_tokens"], completion["cached_tokens"]) == (12, 40, 24)


# --- token ids that cannot write the text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (answer(token_ids=[]), "returned 0 token ids for 10 characters of text"),
        (answer(text="x" * 2800, token_ids=[7]), "returned 1 token ids for 2,800 characters of text"),
        (answer(text="0123456789", token_ids=list(range(5000))), "returned 5,000 token ids for 10 characters of text"),
        (answer(token_ids=[1, -1]), "token_ids hold -1, an id no vocabulary holds"),
        (answer(token_ids=[1, 2**70]), f"token_ids hold {2**70}, an id no vocabulary holds"),
        (answer(token_ids=[1]).replace(b"[1]", b"[" + b"9" * 5000 + b"]"), "answered JSON that cannot be read"),
    ],
)
def test_token_ids_that_cannot_write_the_text_are_one_line_without_a_tokenizer(tmp_path, body, message):
    url, result = eval_against(FakeServer("body", body), tmp_path)
    assert_one_line_error(result, message)
    assert f"answered by {url}" in result.stderr


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([1, -1], "token_ids hold -1, an id no vocabulary holds"),
        ([1, 151_700], "token_ids hold 151700, past the 151,669 ids of tokenizer="),
        ([1, 10**4000], "an id no vocabulary holds"),
    ],
)
def test_token_ids_past_the_tokenizer_s_vocabulary_are_one_line(tmp_path, tokenizer_path, ids, message):
    url, result = eval_against(FakeServer("body", answer(token_ids=ids)), tmp_path, f"tokenizer={tokenizer_path}")
    assert_one_line_error(result, message)
    assert f"answered by {url}" in result.stderr


def test_token_ids_that_write_other_text_are_counted_from_the_text_and_flagged(tmp_path, tokenizer_path):
    from tests.helpers import qwen_tokenizer

    tokenizer = qwen_tokenizer()
    text = "Nine eggs a day at $2 each. " * 100 + TEXT
    own = tokenizer.encode(text, add_special_tokens=False)
    cases = {"none": [], "one": [9], "many": list(range(5000)), "other": tokenizer.encode("something else entirely")}
    for name, ids in cases.items():
        _, result = eval_against(FakeServer("body", answer(text=text, token_ids=ids)), tmp_path, f"name={name}",
                                 f"tokenizer={tokenizer_path}")  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"effbench: the server's token ids do not write its text; such completions are counted from their text "
            f"with tokenizer={tokenizer_path} (counted_from: retokenized)"
        ]
        completion = read_lines(tmp_path / name / "gsm8k.samples.jsonl")[0]["completions"][0]
        assert (completion["tokens"], completion["token_count_source"]) == (len(own), "retokenized")
        assert completion["token_ids"] == own and completion["grade"]["verdict"] == "correct"
        metrics = json.loads((tmp_path / name / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]
        assert metrics["counted_from"]["tokens"] == {"retokenized": 1} and metrics["tokens"]["mean"] == len(own)
    _, kept = eval_against(FakeServer("body", answer(text=text, token_ids=own)), tmp_path, "name=own",
                           f"tokenizer={tokenizer_path}")  # fmt: skip
    assert kept.returncode == 0 and kept.stderr.strip() == ""  # ids that write the text are the count, unflagged
    completion = read_lines(tmp_path / "own" / "gsm8k.samples.jsonl")[0]["completions"][0]
    assert (completion["tokens"], completion["token_count_source"]) == (len(own), "token_ids")


# --- bodies built to break the reader ------------------------------------------------------------------------------


DEEP = b"[" * 200_000
GZIP = {"Content-Encoding": "gzip"}  # on a body that is not gzip


@pytest.mark.parametrize(
    ("server", "message"),
    [
        (lambda: FakeServer("models-deep"), "/models answered JSON nested deeper than 100 levels"),
        (lambda: FakeServer("body", DEEP), "answered JSON nested deeper than 100 levels"),
        (lambda: FakeServer("body", b"data: " + DEEP + b"\n\ndata: [DONE]\n\n"), "stream answered JSON nested deeper than 100"),
        (lambda: FakeServer("good", headers=GZIP), "/chat/completions answered a body that its Content-Encoding ('gzip')"),
        (lambda: FakeServer("good", models_headers=GZIP), "/models answered a body that its Content-Encoding ('gzip')"),
    ],
)
def test_a_body_built_to_break_the_reader_is_one_line_naming_the_server(tmp_path, server, message):
    url, result = eval_against(server(), tmp_path)
    assert_one_line_error(result, message)
    assert url in result.stderr


def test_a_body_past_its_size_limit_is_one_line():
    from effbench.backends.endpoints import read_body

    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=b"x" * (2**20 + 1))))
    with client.stream("GET", "http://server/v1/models") as response, pytest.raises(BackendError, match="more than 1 MiB"):
        read_body(response, "http://server/v1/models", 2**20, time.monotonic() + 60)


# --- waits asked for -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "keys", "message"),
    [
        ("3600", (), "asked to wait 3,600 s before it is asked again (Retry-After), more than the 1,800 s left of "
                     "request_timeout=1800"),
        ("two hours from now", (), "asked to wait 7,"),
        ("5", ("request_timeout=2",), "asked to wait 5 s before it is asked again (Retry-After), more than the 2 s left"),
    ],
    ids=["seconds", "http-date", "past-a-short-timeout"],
)  # fmt: skip
def test_a_wait_asked_for_past_the_request_timeout_ends_the_run_at_once(tmp_path, retry_after, keys, message):
    if retry_after == "two hours from now":  # as an HTTP date
        retry_after = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    server = FakeServer("good", refuse=(429, {"Retry-After": retry_after}))
    started = time.monotonic()
    _, result = eval_against(server, tmp_path, "max_retries=5", *keys)
    assert_one_line_error(result, message)
    assert len(server.posted) == 1 and time.monotonic() - started < 60  # asked once, not five times more within seconds


def test_a_wait_asked_for_within_the_request_timeout_is_honoured(tmp_path):
    server = FakeServer("good", refuse=(429, {"Retry-After": "2"}), refusals=1)
    _, result = eval_against(server, tmp_path, "max_retries=1", "name=waited")
    assert result.returncode == 0, result.stderr
    assert len(server.posted) == 2 and server.posted[1] - server.posted[0] >= 2.0  # the back-off alone waits 0.5 to 1 s
    assert read_lines(tmp_path / "waited" / "gsm8k.samples.jsonl")[0]["completions"][0]["grade"]["verdict"] == "correct"


# --- an API key a header cannot carry ------------------------------------------------------------------------------


def test_an_api_key_a_header_cannot_carry_is_one_line_saying_so(tmp_path):
    _, result = eval_against(FakeServer("good"), tmp_path, env={"OPENAI_API_KEY": "sk-caf\u00e9"})
    assert_one_line_error(result, "the API key in the environment variable OPENAI_API_KEY holds a character that is not ASCII")
    assert "is not a URL" not in result.stderr and "caf" not in result.stderr  # the key is never shown
    key_file = tmp_path / "key"
    key_file.write_text("sk-one two\n")
    _, result = eval_against(FakeServer("good"), tmp_path, f"api_key_file={key_file}")
    assert_one_line_error(result, f"the API key in api_key_file {key_file} holds a space or control character (at position 7")
    _, padded = eval_against(FakeServer("good"), tmp_path, "name=padded", env={"OPENAI_API_KEY": " sk-fine\n"})
    assert padded.returncode == 0, padded.stderr  # whitespace around the key, as a pasted one has, is dropped
