"""A local evidence index: documents cut into overlapping chunks, embedded, searched with FAISS.

>>> index = EvidenceIndex()
>>> index.add_folder("examples/docs")               # txt, md, html (and pdf with pypdf)
>>> index.search("How long does the H2 battery last?", k=3)
[(Passage(text=..., id='halcyra-h2-specs.md#1', ...), 0.71), ...]
>>> index.save("docs.index"); index = EvidenceIndex.load("docs.index")
>>> Guardrail(retrievers=[index]).check(answer)

Vectors are L2-normalised sentence embeddings in a ``faiss.IndexFlatIP`` (exact inner
product, i.e. cosine similarity) wrapped in ``IndexIDMap2`` so documents can be replaced.
A saved index is a directory: ``manifest.json`` (embedding model, dimension, checksums),
``index.faiss`` and ``chunks.jsonl`` (text and metadata of every chunk, in id order).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guardrail.documents import SUPPORTED_EXTENSIONS, check_chunking, chunk_text, read_document
from guardrail.embeddings import DEFAULT_EMBEDDING_MODEL, EmbeddingModel, load_embedder
from guardrail.exceptions import ConfigError, EvidenceError, InputError
from guardrail.report import Passage

__all__ = ["EvidenceIndex"]

log = logging.getLogger(__name__)

FORMAT = "guardrail.EvidenceIndex"
FORMAT_VERSION = 1
MANIFEST, FAISS_FILE, CHUNKS_FILE = "manifest.json", "index.faiss", "chunks.jsonl"
# Keys every chunk's metadata carries; user metadata cannot override them.
_RESERVED = ("doc_id", "chunk", "start", "end")

Progress = Callable[[int, int], None]


class EvidenceIndex:
    """Chunked documents in a FAISS inner-product index; a ``Retriever`` for ``Guardrail``.

    ``embedding_model``: a sentence-transformers name or directory, None for the bundled
    all-MiniLM-L6-v2.  ``embedder``: an already loaded model (anything with ``name``, ``dim``
    and ``encode``), which wins over ``embedding_model``.  The model loads on first use, so an
    empty or just-loaded index costs nothing until it embeds.
    """

    def __init__(self, embedding_model: str | None = None, chunk_chars: int = 800, overlap_chars: int = 150,
                 *, embedder: EmbeddingModel | None = None, device: str = "cpu") -> None:
        check_chunking(chunk_chars, overlap_chars, "chunk_chars", "overlap_chars")
        self.embedding_model = embedder.name if embedder is not None else embedding_model
        self.chunk_chars = chunk_chars
        self.overlap_chars = overlap_chars
        self.device = device
        self._embedder = embedder
        self._dim: int | None = None  # fixed by the first add or by the manifest
        self._faiss: Any = None  # created with the first vectors
        self._chunks: dict[int, dict[str, Any]] = {}  # faiss id -> chunk record, in insertion order
        self._docs: dict[str, list[int]] = {}  # document id -> faiss ids of its chunks
        self._next_id = 0
        self._doc_counter = 1  # for generated ids doc1, doc2, ...
        self._lock = threading.RLock()

    # -- model -------------------------------------------------------------------------------

    @property
    def embedder(self) -> EmbeddingModel:
        """The embedding model, loaded on first access (``ModelLoadError`` if it cannot load)."""
        if self._embedder is None:
            self._embedder = load_embedder(self.embedding_model, device=self.device)
        if self._dim is not None and self._embedder.dim != self._dim:
            raise ConfigError(f"the index holds {self._dim}-dimensional vectors but embedding model "
                              f"{_model_label(self._embedder)!r} makes {self._embedder.dim}-dimensional "
                              "ones; load it with the model it was built with, or rebuild it")
        return self._embedder

    @property
    def dim(self) -> int | None:
        """The vector dimension; None until the index holds vectors or its model is loaded."""
        if self._dim is None and self._embedder is not None:
            return self._embedder.dim
        return self._dim

    @property
    def model_label(self) -> str:
        """The embedding model's name for people (the hub name of the bundled default)."""
        if self._embedder is not None:
            return _model_label(self._embedder)
        return self.embedding_model or DEFAULT_EMBEDDING_MODEL

    def __len__(self) -> int:
        """The number of chunks (passages) in the index."""
        return len(self._chunks)

    @property
    def num_documents(self) -> int:
        """How many documents (not chunks) the index holds."""
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def __repr__(self) -> str:
        return (f"EvidenceIndex({len(self._docs)} documents, {len(self)} chunks, "
                f"model={self.embedding_model or 'bundled default'!r})")

    # -- adding ------------------------------------------------------------------------------

    def add_texts(self, texts: Sequence[str], metadatas: Sequence[Mapping[str, Any] | None] | None = None,
                  ids: Sequence[str] | None = None, *, replace: bool = False,
                  progress: Progress | None = None) -> list[str]:
        """Chunk, embed and add ``texts``; returns their document ids (one per text).

        A text that fits in one chunk becomes a passage with the document id; longer ones
        become ``"{id}#0"``, ``"{id}#1"``, ...  ``metadatas[i]`` is kept on each chunk (its
        ``title`` and ``url`` become the passage's), next to ``doc_id``, ``chunk`` and the
        chunk's ``start``/``end`` in the text.  An id already in the index raises
        ``InputError`` unless ``replace=True``, which swaps the old document's chunks out.
        ``progress(done, total)`` reports embedded chunks.  Blank texts add nothing.
        """
        if isinstance(texts, str):
            raise InputError("add_texts() takes a list of texts, not one string")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"text {i} is a {type(t).__name__}, not a str")
        metas = list(metadatas) if metadatas is not None else [None] * len(texts)
        if len(metas) != len(texts):
            raise InputError(f"{len(texts)} texts but {len(metas)} metadatas")
        doc_ids = self._doc_ids(texts, ids, replace)
        docs = [(d, t, _check_metadata(m, d), None) for d, t, m in zip(doc_ids, texts, metas, strict=True)]
        self._add_documents(docs, replace=replace, progress=progress)
        return doc_ids

    def add_files(self, paths: Iterable[str | os.PathLike[str]], *, replace: bool = False,
                  progress: Progress | None = None,
                  on_skip: Callable[[Path, InputError], None] | None = None) -> list[str]:
        """Read, chunk and add files (txt, md, html, pdf); returns the document ids of those
        with text (an empty file adds nothing, like a blank text in ``add_texts``).

        A file's id is its name (its path relative to the folder for ``add_folder``), made
        longer only when another file already took it.  Metadata: ``source`` (absolute path),
        ``type`` (extension), ``page`` for PDFs; the title comes from the first heading or
        the HTML ``<title>``.

        A file that cannot be read (binary, not UTF-8, too big, a PDF without pypdf) raises
        ``InputError`` and adds nothing; with ``on_skip`` it is left out instead and
        ``on_skip(path, error)`` told why, so one bad file in a folder of thousands does not
        stop the build.
        """
        files = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
        return self._add_paths(files, None, replace, progress, on_skip)

    def _add_paths(self, files: list[Path], root: Path | None, replace: bool,
                   progress: Progress | None, on_skip: Callable[[Path, InputError], None] | None) -> list[str]:
        files = list({p.resolve(): p for p in files}.values())  # the same file twice is read once
        docs: list[tuple[str, str, dict[str, Any], list[int] | None]] = []
        taken: set[str] = set()
        # A file already indexed keeps its id however it is named now: added from its folder
        # as "notes/a.md", then on its own (rel "a.md"), it must not become a second document.
        indexed = {self._doc_source(d): d for d in self._docs}
        for path in files:
            try:
                doc = read_document(path)  # InputError naming the file, and what to install for pdf
            except InputError as exc:
                if on_skip is None:
                    raise
                on_skip(path, exc)
                continue
            known = indexed.get(str(path.resolve()))
            if known is not None and not replace:
                raise InputError(f"{path} is already in the index as {known!r}; pass replace=True "
                                 "(guardrail index add --replace) to update it")
            doc_id = known or self._file_doc_id(path, root, taken)
            taken.add(doc_id)
            meta = {**doc.metadata, "title": doc.title, "url": doc.url}
            docs.append((doc_id, doc.text, meta, doc.page_starts))
        self._add_documents(docs, replace=replace, progress=progress)
        return [d[0] for d in docs if d[1].strip()]  # an empty file adds nothing, as a blank text

    def add_folder(self, path: str | os.PathLike[str], extensions: Iterable[str] = SUPPORTED_EXTENSIONS, *,
                   pattern: str = "**/*", replace: bool = False, progress: Progress | None = None,
                   on_skip: Callable[[Path, InputError], None] | None = None) -> list[str]:
        """Add every file under ``path`` matching ``pattern`` with one of ``extensions``.

        Files are read in sorted order; hidden files and folders are skipped.  Pass
        ``extensions=("md", "txt")`` to leave PDFs out where pypdf is not installed (a PDF
        then raises ``InputError`` naming the package).  ``on_skip``: as for ``add_files``.
        """
        root = Path(path)
        if not root.is_dir():
            raise InputError(f"{root} is not a folder")
        exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
        files = sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in exts
                       and not any(part.startswith(".") for part in p.relative_to(root).parts))
        if not files:
            raise InputError(f"no {'/'.join(sorted(exts))} files under {root}")
        return self._add_paths(files, root, replace, progress, on_skip)

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Remove documents (all their chunks); returns how many chunks went."""
        if isinstance(doc_ids, str):  # iterating it would remove documents named "d", "o", "c" ...
            raise InputError("remove() takes a list of document ids, not one string")
        with self._lock:
            fids = [f for d in doc_ids for f in self._docs.pop(d, [])]
            self._drop(fids)
        return len(fids)

    # -- searching ---------------------------------------------------------------------------

    def search(self, query: str, k: int = 5) -> list[tuple[Passage, float]]:
        """The ``k`` chunks most similar to ``query``, best first, with cosine similarities."""
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int = 5) -> list[list[tuple[Passage, float]]]:
        """``search`` for several queries with one embedding batch and one FAISS call."""
        if isinstance(queries, str):
            raise InputError("search_many() takes a list of queries, not one string")
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        for q in queries:
            if not isinstance(q, str):
                raise InputError(f"a query must be a str, not {type(q).__name__}")
        results: list[list[tuple[Passage, float]]] = [[] for _ in queries]
        live = [i for i, q in enumerate(queries) if q.strip()]
        if not live or not self._chunks:
            return results
        vectors = self.embedder.encode([queries[i] for i in live])
        with self._lock:
            if self._faiss is None or self._faiss.ntotal == 0:
                return results
            scores, fids = self._faiss.search(vectors, min(k, self._faiss.ntotal))
            for row, i in enumerate(live):
                hits = zip(fids[row].tolist(), scores[row].tolist(), strict=True)
                # faiss pads with id -1 when fewer than k vectors match
                results[i] = [(self._passage(f), s) for f, s in hits if f in self._chunks]
        return results

    def retrieve(self, query: str, k: int) -> list[Passage]:
        """The ``Retriever`` protocol: the ``k`` best passages for ``query``."""
        return [p for p, _ in self.search(query, k)]

    async def aretrieve(self, query: str, k: int) -> list[Passage]:
        """``retrieve`` in a worker thread, so embedding does not block the event loop."""
        return await asyncio.to_thread(self.retrieve, query, k)

    # -- persistence -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index to the directory ``path`` (created if needed); returns it.

        Each file is written to a temporary name and renamed, the manifest last, and the
        manifest holds the other files' checksums: a save cut short never loads as valid.
        """
        import faiss

        out = Path(path)
        if out.exists() and not out.is_dir():
            raise EvidenceError(f"cannot save the index to {out}: it is a file, not a directory")
        try:
            self._save(out, faiss)
        except OSError as exc:
            raise EvidenceError(f"cannot save the index to {out}: {exc.strerror or exc}") from exc
        return out

    def _save(self, out: Path, faiss: Any) -> None:
        out.mkdir(parents=True, exist_ok=True)
        with self._lock:
            checksums: dict[str, str] = {}
            if self._faiss is not None:
                data = faiss.serialize_index(self._faiss).tobytes()
                checksums[FAISS_FILE] = _write(out / FAISS_FILE, data)
            else:
                (out / FAISS_FILE).unlink(missing_ok=True)
            lines = "".join(json.dumps({"fid": f, **rec}, ensure_ascii=False) + "\n"
                            for f, rec in self._chunks.items())
            checksums[CHUNKS_FILE] = _write(out / CHUNKS_FILE, lines.encode("utf-8"))
            manifest = {
                "format": FORMAT, "version": FORMAT_VERSION,
                "embedding_model": self.embedding_model, "embedding_model_label": self.model_label,
                "dim": self.dim, "metric": "cosine (inner product of L2-normalised vectors)",
                "chunk_chars": self.chunk_chars, "overlap_chars": self.overlap_chars,
                "chunks": len(self._chunks), "documents": len(self._docs), "next_id": self._next_id,
                "sha256": checksums,
            }
            text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
            _write(out / MANIFEST, text.encode("utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike[str], embedding_model: str | None = None, *,
             embedder: EmbeddingModel | None = None, device: str = "cpu") -> EvidenceIndex:
        """Open a saved index.  It embeds queries with the model it was built with, unless
        ``embedding_model`` or ``embedder`` names another, which must have the same dimension
        (``ConfigError`` otherwise).  A damaged directory raises ``EvidenceError``.
        """
        import faiss

        root = Path(path)
        manifest = _read_manifest(root)
        name = embedder.name if embedder is not None else embedding_model or manifest["embedding_model"]
        index = cls(name, manifest["chunk_chars"], manifest["overlap_chars"], embedder=embedder,
                    device=device)
        index._dim = manifest["dim"]
        index._next_id = manifest["next_id"]
        sums = manifest["sha256"]
        chunks_raw = _read_checked(root, CHUNKS_FILE, sums)
        for n, line in enumerate(chunks_raw.decode("utf-8").splitlines(), start=1):
            try:
                rec = json.loads(line)
                fid = int(rec.pop("fid"))
                if not isinstance(rec["text"], str) or not isinstance(rec["metadata"]["doc_id"], str):
                    raise TypeError("text and metadata.doc_id must be strings")
                rec["id"] = str(rec["id"])
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise EvidenceError(f"{root / CHUNKS_FILE}:{n}: not a chunk record ({exc}); "
                                    "rebuild the index") from None
            index._chunks[fid] = rec
            index._docs.setdefault(rec["metadata"]["doc_id"], []).append(fid)
        if FAISS_FILE in sums:
            data = _read_checked(root, FAISS_FILE, sums)
            try:
                index._faiss = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
            except Exception as exc:  # faiss raises RuntimeError with its C++ message
                raise EvidenceError(f"{root / FAISS_FILE} is not a FAISS index ({exc}); "
                                    "rebuild the index") from None
            if index._faiss.d != index._dim or index._faiss.ntotal != len(index._chunks):
                raise EvidenceError(f"{root} is inconsistent: FAISS holds {index._faiss.ntotal} vectors "
                                    f"of dimension {index._faiss.d}, the manifest says {len(index._chunks)} "
                                    f"chunks of dimension {index._dim}; rebuild the index")
        elif index._chunks:
            raise EvidenceError(f"{root} has chunks but no {FAISS_FILE}; rebuild the index")
        if embedder is not None or embedding_model is not None:
            index.embedder  # noqa: B018 - a model of another dimension fails now, not on first search
        return index

    # -- internals ---------------------------------------------------------------------------

    def _doc_ids(self, texts: list[str], ids: Sequence[str] | None, replace: bool) -> list[str]:
        if ids is None:
            out = []
            for _ in texts:
                while f"doc{self._doc_counter}" in self._docs:
                    self._doc_counter += 1
                out.append(f"doc{self._doc_counter}")
                self._doc_counter += 1
            return out
        out = [str(i) for i in ids]
        if len(out) != len(texts):
            raise InputError(f"{len(texts)} texts but {len(out)} ids")
        seen: set[str] = set()
        for d in out:
            if not d.strip():
                raise InputError("document ids must be non-empty")
            if d in seen:
                raise InputError(f"document id {d!r} is given twice")
            if d in self._docs and not replace:
                raise InputError(f"document {d!r} is already in the index; pass replace=True "
                                 "(guardrail index add --replace) to update it")
            seen.add(d)
        return out

    def _file_doc_id(self, path: Path, root: Path | None, taken: set[str]) -> str:
        """An id for a file not in the index yet (``_add_paths`` handles the ones that are)."""
        resolved = path.resolve()
        rel = path.relative_to(root).as_posix() if root is not None else path.name
        # Lengthen the id with parent folders until it names no other file.
        longer = ["/".join(resolved.parts[-n:]) for n in range(rel.count("/") + 2, len(resolved.parts))]
        for cand in [rel, *longer]:
            owner = self._doc_source(cand)
            if cand in taken or (owner is not None and owner != str(resolved)):
                continue
            return cand
        return str(resolved)

    def _doc_source(self, doc_id: str) -> str | None:
        fids = self._docs.get(doc_id)
        if not fids:
            return None
        return str(self._chunks[fids[0]]["metadata"].get("source", ""))

    def _add_documents(self, docs: list[tuple[str, str, dict[str, Any], list[int] | None]], *,
                       replace: bool, progress: Progress | None) -> None:
        records: list[tuple[str, dict[str, Any]]] = []
        for doc_id, text, meta, page_starts in docs:
            chunks = chunk_text(text, self.chunk_chars, self.overlap_chars)
            title, url = meta.pop("title", None), meta.pop("url", None)
            for n, c in enumerate(chunks):
                chunk_meta = {**meta, "doc_id": doc_id, "chunk": n, "start": c.start, "end": c.end}
                if page_starts:
                    chunk_meta["page"] = int(np.searchsorted(page_starts, c.start, side="right"))
                records.append((doc_id, {"id": doc_id if len(chunks) == 1 else f"{doc_id}#{n}",
                                         "text": c.text, "title": title, "url": url,
                                         "metadata": chunk_meta}))
        if not records and not replace:
            return
        total = len(records)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total)

        # Embed before touching any state: a model failure leaves the index as it was.
        vectors = self.embedder.encode([r["text"] for _, r in records], progress=step) if records else None
        with self._lock:
            if replace:
                self.remove([d[0] for d in docs])
            if vectors is None:
                return
            if self._faiss is None:
                self._create(vectors.shape[1])
            fids = np.arange(self._next_id, self._next_id + len(records), dtype=np.int64)
            self._faiss.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), fids)
            self._next_id += len(records)
            for fid, (doc_id, rec) in zip(fids.tolist(), records, strict=True):
                self._chunks[fid] = rec
                self._docs.setdefault(doc_id, []).append(fid)

    def _create(self, dim: int) -> None:
        import faiss

        self._dim = dim
        self._faiss = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def _drop(self, fids: list[int]) -> None:
        if not fids:
            return
        for f in fids:
            self._chunks.pop(f, None)
        if self._faiss is not None:
            self._faiss.remove_ids(np.asarray(fids, dtype=np.int64))

    def _passage(self, fid: int) -> Passage:
        rec = self._chunks[fid]
        return Passage(text=rec["text"], id=rec["id"], url=rec.get("url"), title=rec.get("title"),
                       metadata=dict(rec["metadata"]))


def _model_label(embedder: EmbeddingModel) -> str:
    return str(getattr(embedder, "label", None) or embedder.name or DEFAULT_EMBEDDING_MODEL)


def _check_metadata(meta: Mapping[str, Any] | None, doc_id: str) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise InputError(f"metadata of {doc_id!r} must be a mapping, not {type(meta).__name__}")
    out = {str(k): v for k, v in meta.items() if k not in _RESERVED}
    try:
        json.dumps(out)
    except (TypeError, ValueError) as exc:
        raise InputError(f"metadata of {doc_id!r} must be JSON-serialisable to be saved: {exc}") from None
    return out


def _write(path: Path, data: bytes) -> str:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def _read_manifest(root: Path) -> dict[str, Any]:
    if not root.is_dir():
        raise EvidenceError(f"no evidence index at {root}: build one with "
                            f"`guardrail index build DOCS --out {root}`")
    path = root / MANIFEST
    if not path.is_file():
        raise EvidenceError(f"{root} is not an evidence index ({MANIFEST} is missing); "
                            f"build one with `guardrail index build DOCS --out {root}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(f"{path} is unreadable or corrupt ({exc}); rebuild the index") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise EvidenceError(f"{path} is not a guardrail evidence index manifest")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > FORMAT_VERSION:
        raise EvidenceError(f"{root} was saved by a newer guardrail (format {manifest.get('version')}); "
                            "upgrade guardrail to load it")
    required = {"embedding_model": (str, type(None)), "dim": (int, type(None)), "chunk_chars": int,
                "overlap_chars": int, "next_id": int, "sha256": dict}
    for key, types in required.items():
        if not isinstance(manifest.get(key, ...), types):
            raise EvidenceError(f"{path}: {key!r} is missing or has the wrong type; rebuild the index")
    return manifest


def _read_checked(root: Path, name: str, sums: Mapping[str, str]) -> bytes:
    path = root / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(f"cannot read {path} ({exc.strerror or exc}); rebuild the index") from None
    if name not in sums or hashlib.sha256(data).hexdigest() != sums[name]:
        raise EvidenceError(f"{path} does not match its checksum in {MANIFEST} (corrupt, or changed "
                            "after saving); rebuild the index")
    return data
