"""``guardrail check`` input handling, ``--help``, ``--version`` and the claims table, offline.

Nothing here loads the verifier: input errors stop the command before the engine is built, and
the table tests swap the engine for a stub that returns a report written here.
"""

from __future__ import annotations

import io
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

import guardrail.cli
from guardrail.cli import app, shorten
from guardrail.report import Claim, ClaimResult, Evidence, Passage, Report

runner = CliRunner()


def flat(text: str) -> str:
    """Output on one line without rich's panel borders, so wrapping does not matter."""
    return " ".join(text.replace("│", " ").split())


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def assert_input_error(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, OSError)
    assert f"error: {message}" in flat(result.output)


# -- where the answer comes from --------------------------------------------------------------

def test_an_empty_stdin_read_without_dash_is_a_forgotten_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guardrail.cli, "Guardrail", StubGuardrail)
    # CliRunner's stdin is not a terminal, as in CI or under </dev/null
    assert_input_error(runner.invoke(app, ["check", "-c", str(SPEC_FILE)], input=""), "no answer")
    assert runner.invoke(app, ["check", "-", "-c", str(SPEC_FILE)], input="").exit_code != 2  # "-": as given


def test_missing_answer_file_is_an_error_like_a_missing_context_file() -> None:
    missing = "/nonexistent-guardrail-test/answer.txt"
    assert_input_error(invoke("check", "--file", missing),
                       f"cannot read answer file {missing}: [Errno 2] No such file or directory")
    assert_input_error(invoke("check", "x", "-c", missing),
                       f"cannot read context file {missing}: [Errno 2] No such file or directory")


def test_answer_file_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    assert_input_error(invoke("check", "--file", str(tmp_path)), f"cannot read answer file {tmp_path}:")


def test_answer_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    binary = tmp_path / "answer.bin"
    binary.write_bytes(b"\xff\xfe\x00caf\xe9")
    assert_input_error(invoke("check", "--file", str(binary)), f"file {binary} is not UTF-8 text")


@pytest.mark.parametrize("positional", ["an answer", "-"])
def test_answer_argument_and_file_together_is_an_error(tmp_path: Path, positional: str) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text("The Eiffel Tower is in Paris.", encoding="utf-8")
    assert_input_error(invoke("check", positional, "--file", str(answer)),
                       "give the answer either as an argument or with --file, not both")


def test_web_options_without_web_are_an_error() -> None:
    for option in (["--web-url", "http://127.0.0.1:8888"], ["--allow-host", "127.0.0.1"]):
        assert_input_error(invoke("check", "x", *option), "--web-url and --allow-host configure web search")


# -- help and version -------------------------------------------------------------------------

def test_a_bad_fail_value_is_one_error_line() -> None:
    result = invoke("check", "Paris is in France.", "--fail", "maybe")
    assert_input_error(result, "--fail must be open or closed, got 'maybe'")
    assert "validation error" not in result.output and len(result.output.strip().splitlines()) == 1


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout == f"guardrail {version('guardrail')}\n"


@pytest.mark.parametrize("command", [[], ["check"], ["eval"], ["index"], ["index", "build"], ["index", "search"]])
def test_help_shows_flags_without_a_value_type(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout and "<list[" not in result.stdout.replace("<list[Path]>", "")
    assert "--help" in result.stdout


def test_check_help_lists_exit_codes_and_readable_metavars() -> None:
    text = flat(invoke("check", "--help").stdout)
    assert "Usage: guardrail check [OPTIONS] [ANSWER]" in text
    assert ("Exit status: 0 every claim supported; 1 a claim flagged, or a component failed under the default "
            "--fail open; 2 bad input or options, or a failure under --fail closed; 3 the block policy blocked "
            "the answer.") in text
    assert "--context -c <path> evidence file (repeatable)" in text
    assert "--allow-host <host>" in text
    assert "--json print the report as JSON" in text


def test_usage_lines_name_arguments_without_braces() -> None:
    assert "Usage: guardrail eval [OPTIONS] FILE " in flat(invoke("eval", "--help").stdout)
    assert "Usage: guardrail index add [OPTIONS] INDEX_DIR PATHS... " in flat(invoke("index", "add", "--help").stdout)
    assert "Usage: guardrail index search [OPTIONS] INDEX_DIR QUERY " in flat(
        invoke("index", "search", "--help").stdout)


def test_a_flag_takes_no_value(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"premise": "a", "claim": "a", "label": "supported"}\n', encoding="utf-8")
    result = invoke("eval", str(data), "--json", "true")
    assert result.exit_code == 2 and "unexpected extra argument(s) (true)" in flat(result.output)


# -- quotes in the claims table -----------------------------------------------------------------

def test_shorten_cuts_at_a_word_and_marks_the_cut() -> None:
    assert shorten("short quote") == "short quote"
    assert shorten("line one\n\n## Heading ") == "line one ## Heading"
    text = "The H2 has a 5,200 mAh battery. It cleans for up to 180 minutes on one charge."
    cut = shorten(text, 40)
    assert cut == "The H2 has a 5,200 mAh battery. It…" and len(cut) <= 40
    assert shorten("word, " * 20, 30) == "word, word, word, word, word…"
    assert shorten("x" * 100, 20) == "x" * 19 + "…"  # one long token: cut inside it rather than drop it


SPEC_FILE = Path(__file__).parents[1] / "examples" / "docs" / "halcyra-h2-specs.md"


class StubGuardrail:
    """Stands in for the engine: returns ``REPORT`` whatever it is asked."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def check(self, text: str, **kwargs: Any) -> Report:
        return REPORT


SPEC = ("The H2 has a 5,200 mAh lithium-ion battery [1]. On the standard suction level it cleans for up to "
        "180 minutes on one charge; on the maximum level the runtime drops to about 70 minutes.")
PASSAGE = Passage(SPEC, "specs.md")
ANSWER = "It cleans for 240 minutes."
REPORT = Report(
    answer=ANSWER,
    claims=(ClaimResult(Claim(ANSWER, 0, len(ANSWER)), "contradicted", 0.1,
                        (Evidence(PASSAGE, SPEC, 0, len(SPEC), 0.01, 0.95),),
                        ("number 240 is not in the evidence",)),),
    sources=(PASSAGE,), annotated=ANSWER, output=ANSWER, policy="annotate")


def test_table_shows_a_shortened_quote_and_the_issues(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guardrail.cli, "Guardrail", StubGuardrail)
    table = io.StringIO()
    monkeypatch.setattr(guardrail.cli, "out", Console(file=table, width=400))
    result = invoke("check", ANSWER, "-c", str(Path(__file__)))
    assert result.exit_code == 1, result.output
    row = next(line for line in table.getvalue().splitlines() if "contradicted" in line)
    assert f"specs.md: “{shorten(SPEC)}”" in row and "[1]" in row  # document text is not rich markup
    assert shorten(SPEC).endswith("runtime…") and "number 240 is not in the evidence" in table.getvalue()


def test_table_marks_a_claim_nobody_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text('{"max_claims": 1}')
    table = io.StringIO()
    monkeypatch.setattr(guardrail.cli, "out", Console(file=table, width=400))
    result = invoke("check", "The H2 weighs 3.4 kg. The H2 has a 5,200 mAh battery.", "-c", str(SPEC_FILE),
                    "--settings", str(settings))
    assert result.exit_code == 1, result.output
    rows = [line for line in table.getvalue().splitlines() if "The H2" in line]
    assert "supported" in rows[0] and "unverified" not in rows[0]
    assert "unverified" in rows[1] and "—" in rows[1] and "0.00" not in rows[1]
