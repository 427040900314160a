"""Monitor a chain you cannot rewrite: a callback handler checks every model answer against the
documents retrieved in the same run and appends the reports to a JSONL file.

    python examples/langchain_callbacks.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from guardrail.integrations.langchain import GuardrailCallbackHandler
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough

from guardrail import Guardrail


class StaticRetriever(BaseRetriever):
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                id="storage",
                page_content="The Free plan includes 5 GB of storage. The Pro plan includes 1 TB of storage.",
            )
        ]


def main() -> None:
    chain = (
        {"context": StaticRetriever(), "question": RunnablePassthrough()}
        | ChatPromptTemplate.from_messages([("system", "{context}"), ("human", "{question}")])
        | FakeListChatModel(
            responses=["The Free plan includes 5 GB of storage.", "The Free plan includes 50 GB of storage."]
        )
        | StrOutputParser()
    )
    log = Path(tempfile.mkdtemp()) / "guardrail.jsonl"
    handler = GuardrailCallbackHandler(Guardrail(), sink=log)
    for _ in range(2):
        print("answer:", chain.invoke("How much storage is free?", config={"callbacks": [handler]}))
    for line in log.read_text().splitlines():
        report = json.loads(line)["report"]
        print(log.name, "->", [(c["claim"]["text"], c["verdict"]) for c in report["claims"]])


if __name__ == "__main__":
    main()
