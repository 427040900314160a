from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from guardrail import EmbeddedNLI, ModelLoadError
from guardrail.nli import EMBEDDED_VERIFIER, load_nli


def test_embedded_model_predicts_probabilities(guard) -> None:  # type: ignore[no-untyped-def]
    probs = guard.nli.predict([("The sky is blue.", "The sky is blue."), ("The sky is blue.", "The sky is green.")])
    assert probs.shape == (2, 3)
    assert abs(probs.sum(axis=1) - 1).max() < 1e-4
    assert probs[0, 0] > probs[1, 0]


def test_corrupt_model_file_is_detected(tmp_path: Path) -> None:
    broken = tmp_path / "verifier"
    shutil.copytree(EMBEDDED_VERIFIER, broken)
    with (broken / "config.json").open("a") as fh:
        fh.write(" ")
    with pytest.raises(ModelLoadError, match="corrupt"):
        EmbeddedNLI(broken)


def test_missing_model_file_names_the_fix(tmp_path: Path) -> None:
    broken = tmp_path / "verifier"
    shutil.copytree(EMBEDDED_VERIFIER, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="missing"):
        EmbeddedNLI(broken)


def test_unknown_model_name_is_a_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"directory '.*no-such-model' does not exist"):
        EmbeddedNLI(tmp_path / "no-such-model")
    with pytest.raises(ModelLoadError, match="cannot load verifier model"):
        EmbeddedNLI(tmp_path)  # a directory, but no model in it


def test_threads_loading_at_once_share_one_model(tmp_path: Path) -> None:
    copy = tmp_path / "verifier"
    shutil.copytree(EMBEDDED_VERIFIER, copy)
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: load_nli(str(copy)), range(4)))
    assert all(m is models[0] for m in models)
