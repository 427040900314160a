#!/usr/bin/env bash
# Check an answer about the Halcyra H2 against the product's spec sheet, offline.
# Two of its claims are wrong (runtime, NASA); the others get citations.
set -euo pipefail
cd "$(dirname "$0")/.."
guardrail check --file examples/quickstart_answer.txt \
  --context examples/docs/halcyra-h2-specs.md \
  --question "Tell me about the Halcyra H2." "$@" || test $? -eq 1   # exit 1 = something flagged
