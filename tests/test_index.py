"""EvidenceIndex: real FAISS on disk, the real bundled embedding model, bad input of every kind."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from guardrail.documents import read_document
from guardrail.embeddings import Embedder, load_embedder
from guardrail.exceptions import ConfigError, EvidenceError, InputError
from guardrail.index import EvidenceIndex
from guardrail.protocols import Retriever

DOCS = Path(__file__).resolve().parents[1] / "examples" / "docs"


class HashEmbedder:
    """Bag of hashed words: instant and deterministic, for bookkeeping tests at scale."""

    name = "tests/hash"

    def __init__(self, dim: int = 128) -> None:
        self.dim = dim

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        if progress is not None:
            progress(len(texts))
        return out


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder()  # cached: shared with the other test modules


@pytest.fixture(scope="module")
def docs_index(embedder: Embedder) -> EvidenceIndex:
    index = EvidenceIndex()
    index.add_folder(DOCS)
    return index


# -- retrieval with the real model ---------------------------------------------------------------

@pytest.mark.parametrize(("query", "doc"), [
    ("How long does the Halcyra H2 run on one charge?", "halcyra-h2-specs.md"),
    ("Who founded Halcyra Robotics?", "halcyra-company.md"),
    ("Does the H2 work with Apple HomeKit?", "halcyra-faq.html"),
    ("When did Apollo 11 land on the Moon?", "apollo-11.txt"),
    ("Who created the Python programming language?", "python-language.md"),
    ("How tall is the Eiffel Tower?", "eiffel-tower.md"),
    ("How long is the battery warranty?", "halcyra-warranty.txt"),
])
def test_top1_is_the_right_document(docs_index: EvidenceIndex, query: str, doc: str) -> None:
    passage, score = docs_index.search(query, k=3)[0]
    assert passage.metadata["doc_id"] == doc
    assert 0.2 < score <= 1.0 + 1e-5


def test_chunks_keep_metadata_and_offsets(docs_index: EvidenceIndex) -> None:
    assert len(docs_index) >= docs_index.num_documents >= 8
    passage = docs_index.search("Halcyra H2 frequently asked questions HomeKit", k=1)[0][0]
    assert passage.title == "Halcyra H2: frequently asked questions"
    assert passage.url == "https://halcyra.example/support/h2-faq"
    meta = passage.metadata
    assert meta["type"] == "html" and meta["source"].endswith("halcyra-faq.html")
    assert "<p>" not in passage.text and "analytics" not in passage.text  # trafilatura removed markup
    for p, _ in docs_index.search("Eiffel Tower height in metres", k=5):
        source = read_document(p.metadata["source"]).text
        assert source[p.metadata["start"]:p.metadata["end"]] == p.text
        assert p.id == p.metadata["doc_id"] or p.id == f"{p.metadata['doc_id']}#{p.metadata['chunk']}"


def test_title_comes_from_the_first_heading(docs_index: EvidenceIndex) -> None:
    passage = docs_index.search("Apollo 11 crew Armstrong Aldrin Collins", k=1)[0][0]
    assert passage.title == "Apollo 11" and passage.id == "apollo-11.txt"


def test_retriever_protocol_sync_and_async(docs_index: EvidenceIndex) -> None:
    assert isinstance(docs_index, Retriever)
    passages = docs_index.retrieve("Who created Python?", 2)
    assert len(passages) == 2 and passages[0].metadata["doc_id"] == "python-language.md"

    async def both() -> list[list]:
        return await asyncio.gather(docs_index.aretrieve("Eiffel Tower", 1),
                                    docs_index.aretrieve("Halcyra warranty", 1))

    eiffel, warranty = asyncio.run(both())
    assert eiffel[0].metadata["doc_id"] == "eiffel-tower.md"
    assert warranty[0].metadata["doc_id"] == "halcyra-warranty.txt"


def test_search_many_and_blank_queries(docs_index: EvidenceIndex) -> None:
    results = docs_index.search_many(["Apollo 11 landing", "   ", "Python 3.0 release"], k=2)
    assert [len(r) for r in results] == [2, 0, 2]
    assert results[0][0][0].metadata["doc_id"] == "apollo-11.txt"
    assert docs_index.search("x", k=1000)  # k above the size returns what there is
    with pytest.raises(ConfigError, match="k must be"):
        docs_index.search("x", k=0)


def test_save_load_round_trip_and_incremental_add(docs_index: EvidenceIndex, embedder: Embedder,
                                                  tmp_path: Path) -> None:
    out = docs_index.save(tmp_path / "idx")
    assert {p.name for p in out.iterdir()} == {"manifest.json", "index.faiss", "chunks.jsonl"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["embedding_model"] is None and manifest["dim"] == 384
    assert manifest["embedding_model_label"] == "sentence-transformers/all-MiniLM-L6-v2"

    loaded = EvidenceIndex.load(out)
    assert len(loaded) == len(docs_index) and loaded.num_documents == docs_index.num_documents
    assert loaded.embedder is embedder  # the same cached model
    query = "When was the Eiffel Tower built?"
    before, after = docs_index.search(query, 3), loaded.search(query, 3)
    assert [p for p, _ in before] == [p for p, _ in after]
    np.testing.assert_allclose([s for _, s in before], [s for _, s in after], atol=1e-5)

    ids = loaded.add_texts(["The Halcyra H3 is a robotic lawn mower released in April 2025."],
                           metadatas=[{"title": "H3 launch", "url": "https://halcyra.example/h3",
                                       "lang": "en"}],
                           ids=["h3-launch"])
    assert ids == ["h3-launch"] and "h3-launch" in loaded
    loaded.save(out)
    again = EvidenceIndex.load(out)
    hit, _ = again.search("Which Halcyra product mows lawns?", 1)[0]
    assert (hit.id, hit.title, hit.url) == ("h3-launch", "H3 launch", "https://halcyra.example/h3")
    assert hit.metadata["lang"] == "en" and hit.metadata["start"] == 0
    assert len(again) == len(docs_index) + 1


def test_loading_with_a_model_of_another_dimension(docs_index: EvidenceIndex, tmp_path: Path) -> None:
    docs_index.save(tmp_path / "idx")
    with pytest.raises(ConfigError, match="384-dimensional"):
        EvidenceIndex.load(tmp_path / "idx", embedder=HashEmbedder(64))


# -- bookkeeping (hash embedder: fast) -----------------------------------------------------------

def test_empty_index_searches_without_loading_a_model(tmp_path: Path) -> None:
    index = EvidenceIndex("no/such-model-is-ever-loaded")
    assert len(index) == 0 and index.search("anything", 5) == [] and index.retrieve("x", 1) == []
    assert index._embedder is None
    index.save(tmp_path / "empty")
    loaded = EvidenceIndex.load(tmp_path / "empty")
    assert len(loaded) == 0 and loaded.search("anything", 3) == []
    assert loaded.embedding_model == "no/such-model-is-ever-loaded"


def test_ten_thousand_passages(tmp_path: Path) -> None:
    passages = [f"Record {i}: sensor unit{i} logged reading{i} in zone{i % 50}." for i in range(10_000)]
    index = EvidenceIndex(embedder=HashEmbedder(1024))
    started = time.perf_counter()
    ids = index.add_texts(passages)
    assert len(ids) == len(index) == 10_000 and ids[0] == "doc1"
    top = index.search(passages[7321], 3)
    assert top[0][0].text == passages[7321] and top[0][1] == pytest.approx(1.0) and len(top) == 3
    index.save(tmp_path / "big")
    loaded = EvidenceIndex.load(tmp_path / "big", embedder=HashEmbedder(1024))
    assert loaded.search(passages[42], 1)[0][0].id == "doc43"
    assert time.perf_counter() - started < 60


def test_ids_duplicates_replace_and_remove() -> None:
    index = EvidenceIndex(embedder=HashEmbedder())
    assert index.add_texts(["alpha text", "beta text"]) == ["doc1", "doc2"]
    assert index.add_texts(["gamma"], ids=["doc3"]) == ["doc3"]
    assert index.add_texts(["delta"]) == ["doc4"]  # generated ids skip taken ones
    with pytest.raises(InputError, match="already in the index"):
        index.add_texts(["alpha again"], ids=["doc1"])
    with pytest.raises(InputError, match="given twice"):
        index.add_texts(["a", "b"], ids=["x", "x"])
    index.add_texts(["alpha replaced entirely"], ids=["doc1"], replace=True)
    assert len(index) == 4 and index.search("replaced", 1)[0][0].text == "alpha replaced entirely"
    assert index.remove(["doc2", "nope"]) == 1 and len(index) == 3 and "doc2" not in index
    with pytest.raises(InputError, match="not one string"):
        index.remove("doc1")  # type: ignore[arg-type]
    assert all(p.id != "doc2" for p, _ in index.search("beta text", 3))
    assert index.add_texts(["", "   "]) == ["doc5", "doc6"] and len(index) == 3  # blank: nothing added


def test_bad_add_texts_input() -> None:
    index = EvidenceIndex(embedder=HashEmbedder())
    with pytest.raises(InputError, match="not one string"):
        index.add_texts("a string")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not a str"):
        index.add_texts([b"bytes"])  # type: ignore[list-item]
    with pytest.raises(InputError, match="2 texts but 1 metadatas"):
        index.add_texts(["a", "b"], metadatas=[{}])
    with pytest.raises(InputError, match="JSON-serialisable"):
        index.add_texts(["a"], metadatas=[{"obj": object()}])
    assert len(index) == 0


def test_long_texts_are_chunked_with_ids_per_chunk() -> None:
    index = EvidenceIndex(embedder=HashEmbedder(), chunk_chars=200, overlap_chars=50)
    text = " ".join(f"Sentence number {i} mentions topic{i}." for i in range(40))
    index.add_texts([text], metadatas=[{"doc_id": "ignored", "team": "docs"}], ids=["long"])
    hits = index.search("topic33", 20)
    assert all(p.id.startswith("long#") and p.metadata["team"] == "docs" for p, _ in hits)
    assert all(p.metadata["doc_id"] == "long" for p, _ in hits)  # reserved keys are ours
    assert hits[0][0].text == text[hits[0][0].metadata["start"]:hits[0][0].metadata["end"]]
    assert "topic33" in hits[0][0].text


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="chunk_chars"):
        EvidenceIndex(chunk_chars=10)
    with pytest.raises(ConfigError, match="overlap_chars"):
        EvidenceIndex(chunk_chars=200, overlap_chars=100)


# -- files and folders ---------------------------------------------------------------------------

def _pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of text per page."""
    n = len(pages)
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{off:010d} 00000 n \n" for off in offsets).encode()
    return out + f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()


def test_folder_with_pdf_subfolders_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.md").write_text("# Mowers\n\nThe H3 mows lawns.", encoding="utf-8")
    (tmp_path / "sub" / "a.md").write_text("Another a.md about vacuums.", encoding="utf-8")
    (tmp_path / ".git" / "x.txt").write_text("hidden", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    pages = ["The H3 cuts grass.", "The H3 mows 900 square metres per charge."]
    (tmp_path / "manual.pdf").write_bytes(_pdf(pages))
    index = EvidenceIndex(embedder=HashEmbedder())
    ids = index.add_folder(tmp_path)
    assert ids == ["a.md", "manual.pdf", "sub/a.md"]
    hit = index.search("900 square metres per charge", 1)[0][0]
    assert hit.id == "manual.pdf" and hit.metadata["page"] == 1 and hit.metadata["type"] == "pdf"
    assert index.search("mows lawns", 1)[0][0].title == "Mowers"
    # the same name from elsewhere gets a longer id; the same file again needs replace
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.md").write_text("A third a.md.", encoding="utf-8")
    assert index.add_files([tmp_path / "other" / "a.md"]) == ["other/a.md"]
    with pytest.raises(InputError, match=r"already in the index as 'sub/a\.md'"):
        index.add_files([tmp_path / "sub" / "a.md"])
    assert index.add_files([tmp_path / "a.md"], replace=True) == ["a.md"]
    assert index.add_folder(tmp_path, extensions=["md"], replace=True) == ["a.md", "other/a.md", "sub/a.md"]
    assert index.num_documents == 4
    with pytest.raises(InputError, match=r"no \.txt files"):
        index.add_folder(tmp_path / "sub", extensions=["txt"])


def test_a_file_from_a_subfolder_added_again_keeps_its_id(tmp_path: Path) -> None:
    # Indexed from its folder as "sub/b.md", then named on its own (name "b.md", taken by no
    # other file): it was added a second time, and --replace left the stale copy searchable.
    (tmp_path / "sub").mkdir()
    doc = tmp_path / "sub" / "b.md"
    doc.write_text("The H3 costs 499 euros.", encoding="utf-8")
    index = EvidenceIndex(embedder=HashEmbedder())
    assert index.add_folder(tmp_path) == ["sub/b.md"]
    with pytest.raises(InputError, match=r"already in the index as 'sub/b\.md'"):
        index.add_files([doc])
    doc.write_text("The H3 costs 599 euros.", encoding="utf-8")
    assert index.add_files([doc], replace=True) == ["sub/b.md"]
    assert index.add_folder(tmp_path / "sub", replace=True) == ["sub/b.md"]
    assert index.num_documents == 1 and [p.text for p, _ in index.search("H3 costs", 5)] == [
        "The H3 costs 599 euros."]


def test_empty_files_add_nothing_and_return_no_id(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("The H3 costs 499 euros.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "blank.md").write_text("  \n\n", encoding="utf-8")
    index = EvidenceIndex(embedder=HashEmbedder())
    assert index.add_folder(tmp_path) == ["a.md"] and index.num_documents == 1
    assert index.add_files([tmp_path / "empty.txt"]) == []


def test_unreadable_files_raise_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = EvidenceIndex(embedder=HashEmbedder())
    cases = {"notes.docx": (b"PK", "unsupported file type"), "bin.txt": (b"ab\x00cd", "looks binary"),
             "latin1.md": ("café".encode("latin-1"), "not UTF-8"),
             "bad.pdf": (b"%PDF-garbage", "unreadable PDF")}
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=message):
            index.add_files([tmp_path / name])
    with pytest.raises(InputError, match="cannot read"):
        index.add_files([tmp_path / "missing.txt"])
    with pytest.raises(InputError, match="not a folder"):
        index.add_folder(tmp_path / "missing")
    (tmp_path / "ok.pdf").write_bytes(_pdf(["text"]))
    monkeypatch.setitem(sys.modules, "pypdf", None)
    with pytest.raises(InputError, match=r"pip install 'guardrail\[pdf\]'"):
        index.add_files([tmp_path / "ok.pdf"])
    assert len(index) == 0


def test_on_skip_leaves_unreadable_files_out_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("The H3 costs 499 euros.", encoding="utf-8")
    (tmp_path / "bin.txt").write_bytes(b"ab\x00cd")
    (tmp_path / "latin1.md").write_bytes("café".encode("latin-1"))
    skipped: list[tuple[str, str]] = []
    index = EvidenceIndex(embedder=HashEmbedder())
    ids = index.add_folder(tmp_path, on_skip=lambda path, err: skipped.append((path.name, str(err))))
    assert ids == ["a.md"] and index.num_documents == 1
    assert [name for name, _ in skipped] == ["bin.txt", "latin1.md"] and "looks binary" in skipped[0][1]
    assert index.add_files([tmp_path / "bin.txt"], on_skip=lambda path, err: None) == []


# -- damaged index directories -------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path: Path) -> Path:
    index = EvidenceIndex(embedder=HashEmbedder())
    index.add_texts(["one fact", "another fact"])
    return index.save(tmp_path / "idx")


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: (d / "manifest.json").unlink(), "manifest.json is missing"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "unreadable or corrupt"),
    (lambda d: (d / "manifest.json").write_text('{"format": "other"}'), "not a guardrail evidence index"),
    (lambda d: (d / "index.faiss").write_bytes(b"garbage"), "does not match its checksum"),
    (lambda d: (d / "index.faiss").unlink(), "cannot read"),
    (lambda d: (d / "chunks.jsonl").write_text('{"fid": 0}\n'), "does not match its checksum"),
])
def test_damaged_index_raises_evidence_error(saved: Path, damage: Callable[[Path], object],
                                             message: str) -> None:
    damage(saved)
    with pytest.raises(EvidenceError, match=message):
        EvidenceIndex.load(saved, embedder=HashEmbedder())


def test_damage_with_matching_checksums_is_still_caught(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    data = b"not faiss at all"
    (saved / "index.faiss").write_bytes(data)
    manifest["sha256"]["index.faiss"] = hashlib.sha256(data).hexdigest()
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EvidenceError, match="not a FAISS index"):
        EvidenceIndex.load(saved, embedder=HashEmbedder())
    manifest["version"] = 99
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EvidenceError, match="newer guardrail"):
        EvidenceIndex.load(saved)


def test_missing_or_file_paths(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no evidence index at"):
        EvidenceIndex.load(tmp_path / "nothing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(EvidenceError, match="is a file"):
        EvidenceIndex(embedder=HashEmbedder()).save(tmp_path / "file")


@pytest.mark.slow
@pytest.mark.timeout(1200)  # minutes on a busy 2-core CPU
def test_ten_thousand_passages_with_the_real_model(embedder: Embedder) -> None:
    passages = [f"Warehouse {i} in district {i % 97} stores {i * 7 % 1000} pallets of item {i}."
                for i in range(10_000)]
    index = EvidenceIndex()
    started = time.perf_counter()
    index.add_texts(passages)
    built = time.perf_counter() - started
    hits = index.search("Warehouse 1234 in district 70 stores pallets", 5)
    assert len(index) == 10_000 and len(hits) == 5
    assert any(p.text == passages[1234] for p, _ in hits)
    print(f"10k passages embedded and indexed in {built:.1f} s")
