"""End-to-end latency of one check on a typical RAG answer, beside a naive baseline.

    python benchmarks/latency.py [--runs 60]

Workload: a ~150-word answer (6 claims) and 5 context passages of ~100 words.  "guardrail" is
the default check (windowing + per-claim ranking, then one NLI batch); "naive" verifies every
claim against every whole passage with the same model (6 x 5 pairs), the obvious approach.
Both run in this process on the same model after warm-up; p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from guardrail import Guardrail

PASSAGES = [
    "The Halcyra H2 is a robot vacuum cleaner with a mopping pad. It maps rooms with a LiDAR sensor on its top "
    "and avoids obstacles with a front camera. The company announced the H2 in March 2024 at a press event in "
    "Lyon, where it showed the robot cleaning a furnished apartment. Reviewers praised its navigation and said "
    "it rarely got stuck under furniture or on cables during their tests.",
    "The H2 has a 5,200 mAh lithium-ion battery. On the standard suction level it cleans for up to 180 minutes "
    "on one charge; on the maximum level the runtime drops to about 70 minutes. A full charge takes 4 hours on "
    "the included dock. When the battery runs low during a job, the robot returns to the dock, recharges, and "
    "resumes cleaning where it stopped.",
    "Maximum suction is 4,000 Pa. The dust bin holds 0.4 litres and the water tank for mopping holds 0.25 "
    "litres. The H2 climbs thresholds up to 2 cm high. Its main brush is rubber rather than bristle, which "
    "the company says reduces hair tangling. Replacement filters and brushes are sold in packs of three on "
    "the Halcyra web shop and in selected electronics stores.",
    "The H2 is 35 cm in diameter and 9.7 cm tall, and it weighs 3.4 kg. It is rated at 62 dB on the standard "
    "suction level. A quiet mode lowers the noise to 55 dB at the cost of suction power. The robot can be "
    "controlled with the Halcyra app on Android and iOS, and it works with common voice assistants for "
    "starting, pausing and sending it back to its dock.",
    "The Halcyra H2 costs 549 euros. The H2 Max, which adds a self-emptying base station and a 6,400 mAh "
    "battery, costs 799 euros. Both models come with a two-year warranty in the European Union, which can be "
    "extended by one year when the product is registered in the app within 30 days of purchase. Halcyra "
    "Robotics is based in Lyon and was founded in 2019.",
]
ANSWER = (
    "The Halcyra H2 is a robot vacuum cleaner that maps rooms with a LiDAR sensor and avoids obstacles with a "
    "front camera. It has a 5,200 mAh lithium-ion battery, and on the standard suction level it cleans for up to "
    "240 minutes on one charge. A full charge takes about 4 hours on the included dock. The robot's maximum "
    "suction is 4,000 Pa and its dust bin holds 0.4 litres, which is typical for this class of device. The H2 "
    "weighs 3.4 kg and is rated at 62 dB on the standard level, so it is fairly quiet in everyday use at home. "
    "It costs 549 euros, while the H2 Max with a self-emptying base station costs 899 euros in most of Europe."
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()

    guard = Guardrail(policy="annotate")
    claims = guard.extractor.extract(ANSWER)
    nli = guard.nli

    def ours() -> None:
        guard.check(ANSWER, context=PASSAGES)

    def naive() -> None:
        nli.predict([(p, c.text) for c in claims for p in PASSAGES])

    timings: dict[str, list[float]] = {"guardrail": [], "naive all-claims x all-passages": []}
    for fn, key in ((ours, "guardrail"), (naive, "naive all-claims x all-passages")):
        for _ in range(args.warmup):
            fn()
        for _ in range(args.runs):
            t = time.perf_counter()
            fn()
            timings[key].append((time.perf_counter() - t) * 1000)

    words = len(ANSWER.split())
    print(f"answer: {words} words, {len(claims)} claims; context: {len(PASSAGES)} passages of "
          f"~{sum(len(p.split()) for p in PASSAGES) // len(PASSAGES)} words")
    threads = __import__("torch").get_num_threads()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads={threads}")
    print(f"{'method':<34}{'p50 ms':>10}{'p95 ms':>10}")
    for key, values in timings.items():
        print(f"{key:<34}{statistics.median(values):>10.1f}{percentile(values, 0.95):>10.1f}")
    ratio = statistics.median(timings["naive all-claims x all-passages"]) / statistics.median(timings["guardrail"])
    print(f"naive / guardrail (p50): {ratio:.2f}x")


if __name__ == "__main__":
    main()
