"""A guard in LCEL chains, offline: `prompt | model | guard`, RAG dicts, block + fallbacks, streaming.

python examples/langchain_runnable.py
"""

from __future__ import annotations

from guardrail.integrations.langchain import GuardrailRunnable, get_report
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from guardrail import BlockedResponse, Guardrail

DOCS = [
    Document(
        id="billing",
        page_content="Acme Cloud refunds annual plans in full within 30 days of purchase. "
        "Monthly plans are never refunded.",
        metadata={"title": "Acme billing"},
    ),
]


class Retriever(BaseRetriever):
    """Stands in for a vector store retriever."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return DOCS


PROMPT = ChatPromptTemplate.from_messages([("system", "Answer from:\n{context}"), ("human", "{question}")])
GOOD = "Annual plans are refunded in full within 30 days of purchase. Monthly plans are never refunded."
BAD = "Annual plans are refunded within 90 days. Monthly plans are refunded too."


def main() -> None:
    g = Guardrail()  # the embedded verifier, offline
    guard = GuardrailRunnable(g)

    # 1. A RAG chain whose output dict keeps the retrieved documents under "context".
    rag = (
        RunnablePassthrough.assign(context=lambda _: DOCS)
        | RunnablePassthrough.assign(answer=PROMPT | FakeListChatModel(responses=[GOOD]))
        | guard
    )
    out = rag.invoke({"question": "Can I get a refund?"})
    print("== dict output ==\n" + out["answer"].content)
    print(
        "supported:",
        len(out["guardrail"]["claims"]) - len(out["guardrail"]["flagged"]),
        "of",
        len(out["guardrail"]["claims"]),
    )

    # 2. guard.wrap(chain): the documents the chain's retriever returned are the evidence; AIMessage out.
    chain = (
        {"context": Retriever(), "question": RunnablePassthrough()}
        | PROMPT
        | FakeListChatModel(responses=[GOOD])
    )
    msg = guard.wrap(chain).invoke("Can I get a refund?")
    print("\n== message ==\n" + msg.content)
    print("report score:", get_report(msg)["score"])

    # 3. block + with_fallbacks: a flagged answer is replaced, never shown.
    strict = GuardrailRunnable(g, policy="block")
    safe = (
        RunnablePassthrough.assign(context=lambda _: DOCS)
        | RunnablePassthrough.assign(answer=PROMPT | FakeListChatModel(responses=[BAD]))
        | strict
    ).with_fallbacks(
        [RunnableLambda(lambda _: {"answer": AIMessage(content="Sorry, I could not verify an answer.")})],
        exceptions_to_handle=(BlockedResponse,),
    )
    print("\n== block ==\n" + safe.invoke({"question": "Can I get a refund?"})["answer"].content)

    # 4. Streaming: chunks flow unchanged; the last chunk carries the report.
    print("\n== stream ==")
    merged = None
    for chunk in guard.wrap(chain).stream("Can I get a refund?"):
        print(chunk.content, end="", flush=True)
        merged = chunk if merged is None else merged + chunk
    print("\nflagged claims:", get_report(merged)["flagged"])


if __name__ == "__main__":
    main()
