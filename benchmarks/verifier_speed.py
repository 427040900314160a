"""Verifier throughput: (evidence, claim) pairs per second at batch 32 on this machine.

    python benchmarks/verifier_speed.py [--batches 5]

Pairs of about 64 and about 256 tokens; the shipped model (fp16 on disk) run in fp32 on CPU,
and the same model with int8 dynamic quantisation of its linear layers for comparison.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import torch

from guardrail import EmbeddedNLI

SENTENCE = "The Halcyra H2 robot vacuum has a 5,200 mAh battery and cleans for up to 180 minutes. "


def pairs(tokens: int) -> list[tuple[str, str]]:
    repeat = max(1, tokens // 22)  # SENTENCE is ~22 tokens
    return [(SENTENCE * repeat, "The H2 cleans for 180 minutes on one charge.")] * 32


def rate(nli: EmbeddedNLI, batch: list[tuple[str, str]], batches: int) -> float:
    nli.predict(batch)  # warm-up
    t = time.perf_counter()
    for _ in range(batches):
        nli.predict(batch)
    return len(batch) * batches / (time.perf_counter() - t)


def quantize(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantisation of the linear layers.

    torch.ao.quantization is deprecated in favour of the separate ``torchao`` package, which is
    not a dependency; the deprecated API still works and is what this comparison measures, so its
    two deprecation warnings (the API's, and the quantised-tensor one it triggers) are silenced
    here, and only here, instead of printing a page of migration notes before the table."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other "
                                r"quantized tensor creation functions", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", type=int, default=5)
    args = ap.parse_args()
    nli = EmbeddedNLI()
    quantised = EmbeddedNLI()
    quantised.model = quantize(quantised.model)
    print(f"{os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{'pair length':<14}{'fp32 pairs/s':>14}{'int8 pairs/s':>14}")
    for tokens in (64, 256):
        batch = pairs(tokens)
        n = len(nli.tokenizer(batch[0][0], batch[0][1])["input_ids"])
        fp32, int8 = rate(nli, batch, args.batches), rate(quantised, batch, args.batches)
        print(f"{f'~{n} tokens':<14}{fp32:>14.1f}{int8:>14.1f}")


if __name__ == "__main__":
    main()
