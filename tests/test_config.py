import pytest

from effbench.config import EvalConfig, build, parse_words, read_config_file
from effbench.errors import ConfigError


def test_words_become_typed_values():
    config = build(EvalConfig, parse_words(["model=m", "tasks=gsm8k, math500", "n=4", "temperature=0.6"]), what="eval")
    assert config.tasks == ("gsm8k", "math500")
    assert config.n == 4 and config.temperature == 0.6


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["model=m", "tasks=gsm8k", "temprature=0.6"], "unknown key 'temprature' for eval; did you mean temperature?"),
        (["tasks=gsm8k"], "missing key model= for eval"),
        (["model=m", "tasks=gsm8k", "n=0"], "bad value for n"),
        (["model=m", "tasks=gsm8k", "n=4", "temperature=0"], "n>1 needs sampling"),
        (["model=m", "tasks=gsm8k", "name=../../x"], "is not a plain folder name"),
        (["model=m", "tasks="], "name at least one task"),
    ],
)
def test_bad_words_give_one_clear_line(words, message):
    with pytest.raises(ConfigError) as error:
        build(EvalConfig, parse_words(words), what="eval")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_word_without_equals_and_repeated_key():
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_words(["model"])
    with pytest.raises(ConfigError, match="given twice"):
        parse_words(["n=1", "n=2"])


def test_config_file_then_words(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model: m\ntasks: [gsm8k, aime24]\nn: 2\ntemperature: 0.5\n")
    values = parse_words([f"config={path}", "n=3"])
    config = build(EvalConfig, values, what="eval")
    assert config.tasks == ("gsm8k", "aime24") and config.n == 3
    (tmp_path / "bad.yaml").write_text("- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_config_file(tmp_path / "bad.yaml")


def test_default_run_name_is_the_model_folder():
    assert (
        build(EvalConfig, {"model": "Qwen/Qwen2.5-Math-1.5B-Instruct", "tasks": "gsm8k"}, what="e").run_name
        == "Qwen2.5-Math-1.5B-Instruct"
    )
    assert build(EvalConfig, {"model": "/ckpt/step 100/", "tasks": "gsm8k"}, what="e").run_name == "step-100"
