from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from guardrail import EmbeddedNLI, ModelLoadError
from guardrail.nli import EMBEDDED_VERIFIER, _batches, load_nli


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


def test_batches_group_pairs_of_similar_length_and_keep_every_pair() -> None:
    lengths = [75, 90, 100, 130, 145, 180, 210, 370, 380, 390, 400, 410, 420, 450]
    pairs = [("x" * n, "y" * 20) for n in reversed(lengths)]
    batches = _batches(pairs, 32)
    assert sorted(i for b in batches for i in b) == list(range(len(pairs)))
    assert len(batches) == 2 and all(len(pairs[i][0]) < 300 for i in batches[0])  # short ones apart
    assert [len(b) for b in _batches([("a", "b")] * 70, 32)] == [32, 32, 6]


def test_predictions_do_not_depend_on_how_pairs_are_batched(guard) -> None:  # type: ignore[no-untyped-def]
    long = "Marie Curie was born in Warsaw in 1867. She moved to Paris in 1891. She won two Nobel Prizes."
    pairs = [(long, "Marie Curie was born in Warsaw."), ("She moved to Paris in 1891.", "Curie moved to Paris."),
             (long * 3, "Curie won two Nobel Prizes.")]
    together = guard.nli.predict(pairs)
    alone = np.vstack([guard.nli.predict([p]) for p in pairs])
    assert np.allclose(together, alone, atol=1e-4)
