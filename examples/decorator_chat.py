"""`@guarded` around plain chat functions: a str-returning function, an OpenAI-style response,
a streaming generator with citations appended at sentence ends, and a function that returns an
OpenAI-style chunk stream (as `stream=True` does), released sentence by sentence once checked.
Offline.

    python examples/decorator_chat.py
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from guardrail.integrations.decorator import guarded

from guardrail import Guardrail

DOCS = [
    "Acme Cloud refunds annual plans in full within 30 days of purchase. Monthly plans are never refunded."
]
ANSWER = "Annual plans are refunded in full within 30 days of purchase. Monthly plans are never refunded."
g = Guardrail()


@guarded(g, context="docs")
def chat(question: str, docs: list[str]) -> str:
    return ANSWER  # your LLM call here


@guarded(
    g, context="docs", policy="flag", on_report=lambda r: print("flagged:", [c.claim.text for c in r.flagged])
)
def chat_openai_style(question: str, docs: list[str]) -> dict:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}}]}


@guarded(g, context="docs", cite=True)
def chat_stream(question: str, docs: list[str]) -> Iterator[str]:
    for word in ANSWER.split(" "):
        time.sleep(0.02)  # a model streaming tokens
        yield word + " "


@guarded(g, context="docs", policy="block", release="sentence")
def chat_openai_stream(question: str, docs: list[str]) -> Iterator[dict]:
    # your `client.chat.completions.create(..., stream=True)` here: a returned stream is checked too
    chunks = [{"choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]} for w in ANSWER.split()]
    return iter([*chunks, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}])


def main() -> None:
    print(chat("Can I get a refund?", DOCS), end="\n\n")
    out = chat_openai_style("Can I get a refund?", DOCS)
    print(out["choices"][0]["message"]["content"], "| score", out["guardrail"]["score"], end="\n\n")
    for piece in chat_stream("Can I get a refund?", DOCS):
        print(piece, end="", flush=True)
    print(end="\n\n")
    for chunk in chat_openai_stream("Can I get a refund?", DOCS):
        print(chunk["choices"][0]["delta"].get("content") or "", end="", flush=True)
    print()


if __name__ == "__main__":
    main()
