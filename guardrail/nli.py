"""The verifier model: a cross-encoder scoring (evidence, claim) pairs as entailment / neutral /
contradiction.  The default is the small model shipped inside this package (``models/verifier``),
checked against its sha256 manifest and loaded without any network access; any Hugging Face
sequence-classification NLI model (a local path, or a hub name when online) can replace it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from guardrail.exceptions import ModelLoadError

EMBEDDED_VERIFIER = Path(__file__).parent / "models" / "verifier"
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")  # "model" or "org/model"
_LOAD_LOCK = threading.Lock()
_LABEL_ALIASES = {"entailment": 0, "entailed": 0, "supported": 0, "neutral": 1, "not_entailment": 1,
                  "contradiction": 2, "contradicted": 2, "refuted": 2}


def verify_manifest(model_dir: Path) -> None:
    """Raise ``ModelLoadError`` if a file listed in ``MANIFEST.json`` is missing or altered."""
    manifest = model_dir / "MANIFEST.json"
    if not manifest.exists():
        return
    for name, meta in json.loads(manifest.read_text()).get("files", {}).items():
        path = model_dir / name
        if not path.exists():
            raise ModelLoadError(f"verifier file {path} is missing; reinstall guardrail "
                                 "(pip install --force-reinstall guardrail) or retrain it with "
                                 "training/train_verifier.py")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != meta["sha256"]:
            raise ModelLoadError(f"verifier file {path} is corrupt (sha256 mismatch); reinstall "
                                 "guardrail or retrain it with training/train_verifier.py")


class EmbeddedNLI:
    """A sequence-classification NLI model behind ``predict(pairs) -> [n, 3]`` probabilities
    in the order (entailment, neutral, contradiction), whatever the model's own label order.

    Pairs are (evidence, claim).  Evidence is cut to fit ``max_length``, the claim never is:
    callers window evidence so it fits, and split claims longer than ``max_claim_tokens``.
    """

    def __init__(self, name_or_path: str | os.PathLike[str] | None = None, *, device: str = "cpu",
                 max_length: int = 256, batch_size: int = 32) -> None:
        self.name = str(name_or_path or EMBEDDED_VERIFIER)
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self._lock = threading.Lock()  # tokenizers are not safe to share across threads
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            from transformers.utils import logging as hf_logging

            # its "Loading weights" bar goes to stdout and would corrupt `--json` output
            hf_logging.disable_progress_bar()
        except ImportError as exc:  # pragma: no cover - both are hard dependencies
            raise ModelLoadError(f"the verifier needs torch and transformers: pip install guardrail ({exc})") from exc
        local = Path(self.name).expanduser()
        if name_or_path is None and not (local / "config.json").exists():
            raise ModelLoadError(f"the embedded verifier is missing from {local}; reinstall guardrail "
                                 "or build it with: python training/train_verifier.py")
        if not local.exists() and not _HUB_NAME.match(self.name):  # "/models/nli", "./nli", "a/b/c"
            raise ModelLoadError(f"verifier model directory {self.name!r} does not exist; pass a local "
                                 "model directory, a hub name (online only), or nothing for the embedded default")
        if local.exists():
            verify_manifest(local)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.name)
            self.model = AutoModelForSequenceClassification.from_pretrained(self.name, dtype=torch.float32)
        except Exception as exc:  # transformers raises OSError, ValueError, RuntimeError ...
            raise ModelLoadError(
                f"cannot load verifier model {self.name!r}: {exc}. Use a local model directory, "
                "or a hub name on a machine with internet access; the embedded default needs none."
            ) from exc
        self.model.to(device).eval()
        self._order = self._label_order(self.model.config.id2label)
        self._torch = torch

    @staticmethod
    def _label_order(id2label: dict[int, str]) -> list[int]:
        found = {_LABEL_ALIASES.get(str(label).lower()): int(i) for i, label in id2label.items()}
        if len(id2label) == 3 and None not in found and len(found) == 3:
            return [found[0], found[1], found[2]]
        if len(id2label) == 2 and 0 in found:  # entailment vs not: put "not" in neutral
            other = next(int(i) for i in id2label if int(i) != found[0])
            return [found[0], other, -1]
        raise ModelLoadError(f"cannot map model labels {id2label} to entailment/neutral/contradiction")

    @property
    def max_claim_tokens(self) -> int:
        """The longest claim, in tokens, verified in one piece; longer ones are chunked."""
        return self.max_length // 2

    def count_tokens(self, text: str) -> int:
        """How many model tokens ``text`` takes."""
        with self._lock:
            return len(self.tokenizer.tokenize(text))

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Rows of (entailment, neutral, contradiction) probabilities, one per (evidence, claim) pair."""
        out = np.zeros((len(pairs), 3), dtype=np.float32)
        if not pairs:
            return out
        torch = self._torch
        for idx in _batches(pairs, self.batch_size):
            with self._lock:
                enc = self.tokenizer([pairs[i][0] for i in idx], [pairs[i][1] for i in idx],
                                     truncation="only_first", max_length=self.max_length,
                                     padding=True, return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits
            probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
            for row, i in zip(probs, idx):
                out[i] = [row[j] if j >= 0 else 0.0 for j in self._order]
        return out


def _batches(pairs: Sequence[tuple[str, str]], size: int) -> list[list[int]]:
    """Indices of ``pairs`` in batches of similar length: each batch is padded to its longest
    pair, so a short claim-and-sentence pair batched with 3-sentence windows would cost as much
    as one of them.  A batch closes at ``size`` pairs or when a pair is over twice as long as
    the batch's first (shortest) one, plus 64 characters so that batches of short pairs do not
    split at every few words; results are put back in order by the caller."""
    lengths = [len(a) + len(b) for a, b in pairs]
    batches: list[list[int]] = []
    for i in sorted(range(len(pairs)), key=lengths.__getitem__):
        if batches and len(batches[-1]) < size and lengths[i] <= 2 * lengths[batches[-1][0]] + 64:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def load_nli(name_or_path: str | None = None, device: str = "cpu") -> EmbeddedNLI:
    """One shared model per (name, device) in a process: loading costs seconds.

    Threads that ask at once wait for one load: transformers' lazy imports are not safe to
    race ("cannot import name AutoModelForSequenceClassification").
    """
    with _LOAD_LOCK:
        return _load_nli(name_or_path, device)


@lru_cache(maxsize=4)
def _load_nli(name_or_path: str | None, device: str) -> EmbeddedNLI:
    return EmbeddedNLI(name_or_path, device=device)
