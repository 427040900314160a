"""Streaming overhead of guardrail: time to first token and time after the last token.

A fake streaming model yields the words of an answer with a fixed per-token delay; the same
stream is consumed plain and through ``guard_stream`` in each mode.  Printed per mode (median
of ``--runs``): TTFT, its overhead over the plain stream, and the time from the model's last
token to the end of the guarded stream, next to what checking the last sentence alone costs
(the bound the design aims for).  Uses the embedded verifier, offline.

    python benchmarks/streaming_overhead.py [--token-ms 25] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator

from guardrail.integrations.streaming import guard_stream

from guardrail import Guardrail, RuleBasedExtractor

CONTEXT = [
    "Acme Cloud refunds annual plans in full within 30 days of purchase. After 30 days, annual plans are "
    "not refundable, but you can cancel renewal at any time from the Billing page. Monthly plans are never "
    "refunded.",
    "The Free plan includes 5 GB of storage. The Pro plan includes 1 TB of storage and keeps deleted files "
    "for 90 days. Acme Cloud stores all data in data centres in Frankfurt and Dublin.",
]
ANSWER = (
    "Annual plans are refunded in full within 30 days of purchase. After that, you can still cancel the "
    "renewal from the Billing page. Monthly plans are never refunded. The Pro plan includes 1 TB of storage "
    "and keeps deleted files for 90 days. All data is stored in Frankfurt and Dublin."
)


def fake_model(token_s: float, marks: dict[str, float]) -> Iterator[str]:
    """Words with their trailing space, one per ``token_s``, like a model streaming at ~1/token_s tok/s."""
    words = ANSWER.split(" ")
    for i, w in enumerate(words):
        time.sleep(token_s)
        if i == len(words) - 1:
            marks["last_token"] = time.perf_counter()
        yield w if i == len(words) - 1 else w + " "


def measure(make: Callable[[dict[str, float]], Iterator[str]], token_s: float) -> tuple[float, float]:
    marks: dict[str, float] = {}
    start = time.perf_counter()
    first = None
    for _ in make(marks):
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    return (first - start) * 1000, (end - marks["last_token"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token-ms", type=float, default=25.0, help="per-token delay of the fake model")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    token_s = args.token_ms / 1000

    g = Guardrail()
    for _ in range(3):  # load and warm the verifier
        g.check(ANSWER, context=CONTEXT)

    spans = RuleBasedExtractor().sentences(ANSWER)
    last_sentence = ANSWER[spans[-1][0] : spans[-1][1]]
    costs = []
    for _ in range(max(5, args.runs)):
        t = time.perf_counter()
        g.check(last_sentence, context=CONTEXT)
        costs.append((time.perf_counter() - t) * 1000)
    last_cost = statistics.median(costs)

    modes: dict[str, Callable[[dict[str, float]], Iterator[str]]] = {
        "plain stream": lambda m: fake_model(token_s, m),
        "guarded (token)": lambda m: guard_stream(fake_model(token_s, m), g, context=CONTEXT),
        "guarded cite=True": lambda m: guard_stream(fake_model(token_s, m), g, context=CONTEXT, cite=True),
        "guarded release=sentence": lambda m: guard_stream(
            fake_model(token_s, m), g, context=CONTEXT, release="sentence"
        ),
    }
    rows = []
    for name, make in modes.items():
        measure(make, token_s)  # warm-up run, discarded
        results = [measure(make, token_s) for _ in range(args.runs)]
        rows.append(
            (name, statistics.median(r[0] for r in results), statistics.median(r[1] for r in results))
        )

    plain_ttft = rows[0][1]
    words = len(ANSWER.split(" "))
    print(
        f"answer: {words} tokens, {len(spans)} sentences; fake model {args.token_ms:.0f} ms/token; "
        f"median of {args.runs} runs; verifying the last sentence alone: {last_cost:.0f} ms"
    )
    print(f"{'mode':<26}{'TTFT ms':>10}{'TTFT overhead':>15}{'after last token ms':>22}")
    for name, ttft, after in rows:
        print(f"{name:<26}{ttft:>10.1f}{ttft - plain_ttft:>+15.1f}{after:>22.1f}")


if __name__ == "__main__":
    main()
