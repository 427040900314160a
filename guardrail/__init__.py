"""guardrail: catch hallucinations in LLM answers."""
