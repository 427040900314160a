"""`@guarded` around plain chat functions: a str-returning function, an OpenAI-style response,
and a streaming generator with citations appended at sentence ends.  Offline.

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


def main() -> None:
    print(chat("Can I get a refund?", DOCS), end="\n\n")
    out = chat_openai_style("Can I get a refund?", DOCS)
    print(out["choices"][0]["message"]["content"], "| score", out["guardrail"]["score"], end="\n\n")
    for piece in chat_stream("Can I get a refund?", DOCS):
        print(piece, end="", flush=True)
    print()


if __name__ == "__main__":
    main()
