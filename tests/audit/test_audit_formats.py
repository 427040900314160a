"""Log shapes: detection, mapping, overrides, rejects and skips (no model needed)."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import EXAMPLE_LINES, EXAMPLE_REJECTED, EXAMPLE_SKIPPED, EXAMPLES
from guardrail.integrations.audit.formats import AuditRecord, FieldMap, RejectedLine, SkippedLine, parse_line
from guardrail.integrations.audit.inputs import UnreadableInput, open_input

DOC = "The Eiffel Tower is 330 metres tall and stands in Paris. It was completed in 1889."
LONG_PROMPT = "Use these notes to answer. " + " ".join(["The tower was repainted in 2019."] * 12)


def p(obj, **kw):
    return parse_line(7, json.dumps(obj), **kw)


def test_openai_request_response_record():
    r = p(
        {
            "request": {
                "model": "gpt-4o",
                "metadata": {"route": "/faq"},
                "messages": [
                    {"role": "system", "content": DOC},
                    {"role": "user", "content": "How tall is it?"},
                ],
            },
            "response": {
                "id": "chatcmpl-1",
                "model": "gpt-4o-2024-08-06",
                "choices": [{"message": {"role": "assistant", "content": "It is 330 metres tall."}}],
            },
        }
    )
    assert (r.shape, r.id, r.answer, r.question) == (
        "openai",
        "chatcmpl-1",
        "It is 330 metres tall.",
        "How tall is it?",
    )
    assert [c["text"] for c in r.context] == [DOC]  # a short question is not evidence
    assert r.groups == {"route": "/faq", "model": "gpt-4o-2024-08-06"}
    assert r.line == 7


def test_openai_flat_content_parts_and_long_user_prompt_is_evidence():
    r = p(
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": [{"type": "text", "text": LONG_PROMPT}]}],
            "choices": [{"message": {"content": [{"type": "text", "text": "Repainted in 2019."}]}}],
        }
    )
    assert r.answer == "Repainted in 2019."
    assert [c["text"] for c in r.context] == [LONG_PROMPT]
    assert r.groups["model"] == "gpt-4o-mini"


def test_openai_chat_log_ending_in_assistant_and_batch_output():
    r = p(
        {
            "messages": [
                {"role": "system", "content": DOC},
                {"role": "user", "content": "When?"},
                {"role": "assistant", "content": "In 1889."},
            ]
        }
    )
    assert (r.shape, r.answer, r.question) == ("openai", "In 1889.", "When?")
    batch = p(
        {
            "custom_id": "req-9",
            "response": {
                "status_code": 200,
                "body": {
                    "model": "gpt-4o",
                    "choices": [{"message": {"role": "assistant", "content": "Hi."}}],
                },
            },
        }
    )
    assert (batch.shape, batch.id, batch.answer) == ("openai", "req-9", "Hi.")


def test_openai_tool_calls_only_is_skipped_not_rejected():
    with pytest.raises(SkippedLine, match="tool calls") as skipped:
        p(
            {
                "choices": [
                    {
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [{"id": "c", "type": "function"}],
                        }
                    }
                ]
            }
        )
    assert skipped.value.shape == "openai"  # report.jsonl keeps the detected shape


def test_langsmith_retrieval_chain_and_retrievalqa_exports():
    r = p(
        {
            "id": "run-1",
            "name": "RetrievalChain",
            "inputs": {"input": "How tall?"},
            "outputs": {
                "answer": "330 m.",
                "context": [{"page_content": DOC, "metadata": {"source": "wiki/eiffel", "title": "Eiffel"}}],
            },
            "extra": {"metadata": {"ls_model_name": "claude-3-5-sonnet"}},
        }
    )
    assert (r.shape, r.id, r.question, r.answer) == ("langsmith", "run-1", "How tall?", "330 m.")
    assert r.context[0]["text"] == DOC and r.context[0]["title"] == "Eiffel"
    assert r.groups == {"model": "claude-3-5-sonnet", "run": "RetrievalChain"}
    qa = p(
        {
            "id": "run-2",
            "inputs": {"query": "When?"},
            "outputs": {
                "result": "1889.",
                "source_documents": [{"lc": 1, "type": "constructor", "kwargs": {"page_content": DOC, "metadata": {}}}],
            },
        }
    )
    assert qa.answer == "1889." and qa.context[0]["text"] == DOC


def test_langsmith_llm_run_generations_and_ai_message_output():
    r = p(
        {
            "id": "llm-1",
            "run_type": "llm",
            "inputs": {
                "messages": [
                    [
                        {
                            "lc": 1,
                            "type": "constructor",
                            "id": ["langchain", "schema", "messages", "HumanMessage"],
                            "kwargs": {"content": "How tall?", "type": "human"},
                        }
                    ]
                ]
            },
            "outputs": {"generations": [[{"text": "330 metres.", "type": "ChatGeneration"}]]},
        }
    )
    assert (r.answer, r.question) == ("330 metres.", "How tall?")
    msg = p({"id": "a", "inputs": {"input": "q"}, "outputs": {"output": {"content": "An answer.", "type": "ai"}}})
    assert msg.answer == "An answer."


def test_langsmith_runs_without_answer_are_skipped():
    with pytest.raises(SkippedLine, match="retriever"):
        p({"id": "r", "run_type": "retriever", "inputs": {"query": "q"}, "outputs": {"documents": []}})
    with pytest.raises(SkippedLine, match="no outputs"):
        p({"id": "r", "run_type": "chain", "inputs": {"query": "q"}, "outputs": None, "error": "boom"})


def test_generic_shape_and_aliases():
    r = p({"id": 12, "question": "q?", "context": DOC, "response": "330 m.", "model": "m1", "route": "/a"})
    assert (r.shape, r.id, r.context, r.groups) == ("generic", "12", (DOC,), {"model": "m1", "route": "/a"})
    alias = p({"query": "q?", "passages": [{"text": DOC, "id": "d1"}], "answer": "x"})
    assert alias.id == "line-7" and alias.context[0]["id"] == "d1" and alias.question == "q?"


def test_field_overrides_and_group_by_from_metadata():
    raw = {
        "meta": {"uid": "u-1"},
        "log": {"q": "How tall?", "a": "330 m.", "docs": [DOC]},
        "metadata": {"tenant": "acme", "feature": "search"},
    }
    fields = FieldMap(id="meta.uid", question="log.q", answer="log.a", context="log.docs", group_by=("feature",))
    r = p(raw, fields=fields)
    assert (r.id, r.question, r.answer, r.context) == ("u-1", "How tall?", "330 m.", (DOC,))
    assert r.groups == {"tenant": "acme", "feature": "search"}
    with pytest.raises(RejectedLine, match=r"log\.missing"):
        p(raw, fields=FieldMap(answer="log.missing"))
    # An override also rescues a line that is otherwise skipped: list indexes work in paths.
    r2 = p({"outputs": {"x": ["first", "second"]}, "inputs": {}}, fields=FieldMap(answer="outputs.x.1"))
    assert r2.answer == "second"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"id": 1, "response": "cut off', "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"foo": 1}', "unrecognised shape"),
        ('{"response": 42}', "not text"),
        ('{"response": "x", "context": 5}', "context must be"),
        ('{"response": "x", "context": [{"title": "no text"}]}', "has no text"),
        ('{"response": "a\tb"}', r"invalid JSON: Invalid control character \(column 16\)"),  # not "at (column"
    ],
)
def test_malformed_lines_are_rejected_with_a_reason(text, reason):
    with pytest.raises(RejectedLine, match=reason):
        parse_line(3, text)


def test_forced_shape_and_empty_answer():
    with pytest.raises(SkippedLine, match="empty"):
        p({"response": "   "})
    r = p({"response": "x", "messages": [{"role": "user", "content": "hi"}]}, shape="generic")
    assert r.shape == "generic"


def test_example_logs_cover_every_shape():
    shapes, rejected, skipped = set(), set(), set()
    for i, line in enumerate(EXAMPLES.read_text().splitlines(), start=1):
        try:
            shapes.add(parse_line(i, line).shape)
        except RejectedLine:
            rejected.add(i)
        except SkippedLine:
            skipped.add(i)
    assert shapes == {"openai", "langsmith", "generic"}
    assert (rejected, skipped) == (EXAMPLE_REJECTED, EXAMPLE_SKIPPED)
    assert len(EXAMPLE_LINES) == len(EXAMPLES.read_text().splitlines())
    assert "[1]" in EXAMPLES.read_text()


def test_gzip_input_blank_lines_and_selection(tmp_path):
    path = tmp_path / "logs.jsonl.log"  # gzip is detected by content, not by name
    with gzip.open(path, "wt") as fh:
        fh.write('{"response": "a"}\n\n{"response": "b"}\n{"response": "c"}\n')
    src = open_input(str(path))
    assert [n for n, _ in src.lines()] == [1, 3, 4]
    assert src.select(limit=2, sample=None, seed=0) == {1, 3}
    sample = src.select(limit=None, sample=2, seed=5)
    assert len(sample) == 2 and sample == src.select(limit=None, sample=2, seed=5)  # seeded: resumable
    assert src.select(limit=None, sample=None, seed=0) is None


def test_stdin_is_spooled_and_fingerprinted(tmp_path, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"response": "a"}\n')))
    src = open_input("-", spool_dir=tmp_path)
    assert src.spooled and [t for _, t in src.lines()] == ['{"response": "a"}']
    same = tmp_path / "copy.jsonl"
    same.write_bytes(b'{"response": "a"}\n')
    assert open_input(str(same)).fingerprint == src.fingerprint
    src.cleanup()
    assert not src.path.exists()
    with pytest.raises(FileNotFoundError):
        open_input(str(tmp_path / "missing.jsonl"))


def test_a_record_keeps_the_start_of_its_line_through_json():
    line = json.dumps({"id": "r", "context": ["x" * 900], "response": "Paris is in France."})
    record = parse_line(3, line)
    assert record.line_head == line[:500]
    assert AuditRecord.from_json(json.loads(json.dumps(record.to_json()))) == record  # as Ray shards carry it


def test_a_bom_and_crlf_from_windows_tools_do_not_reject_the_first_line(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"response": "a"}\r\n{"response": "b"}\r\n')
    assert [t for _, t in open_input(str(path)).lines()] == ['{"response": "a"}', '{"response": "b"}']
    gz = tmp_path / "export.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert parse_line(1, next(open_input(str(gz)).lines())[1]).answer == "a"


def test_blank_means_the_same_to_the_counting_pass_and_the_reading_pass(tmp_path):
    # A line of non-breaking spaces counted in scope but never read would stay "to do" forever.
    path = tmp_path / "logs.jsonl"
    path.write_bytes('{"response": "a"}\n\u00a0\u00a0\n\x1c\n{"response": "b"}\n'.encode())
    src = open_input(str(path))
    assert src.line_numbers() == [n for n, _ in src.lines()] == [1, 4]


def test_a_truncated_or_corrupt_gzip_is_an_unreadable_input_naming_the_line(tmp_path):
    data = gzip.compress(b"".join(b'{"id": %d, "response": "%s"}\n' % (i, b"x" * 200) for i in range(200)))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableInput, match=r"cut.jsonl.gz: the gzip data is truncated or corrupt after line \d+"):
        open_input(str(cut)).line_numbers()
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"\x1f\x8bnot gzip at all\n")
    with pytest.raises(UnreadableInput, match="after line 0"):
        list(open_input(str(bad)).lines())
