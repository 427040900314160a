"""Settings of a check: thresholds, limits and failure mode, loadable from a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guardrail.exceptions import ConfigError


class Settings(BaseModel):
    """Every tunable of a check.  Defaults are calibrated on the verifier's validation data.

    ``fail``: what happens when a part of the check breaks (model, retriever, web).
    ``"open"`` (default) returns the answer unchanged with the failure in ``Report.errors``
    and no claim marked supported; ``"closed"`` raises the error.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    support_threshold: float = Field(0.5, ge=0, le=1, description="score at or above: supported")
    contradiction_threshold: float = Field(0.5, ge=0, le=1, description="contradiction prob. above: contradicted")
    top_k: int = Field(4, ge=1, le=100, description="evidence windows verified per claim")
    window_sentences: int = Field(3, ge=1, le=20, description="sentences per evidence window")
    window_stride: int = Field(2, ge=1, le=20, description="sentences between window starts")
    max_answer_chars: int = Field(1_000_000, ge=1, description="longer answers raise InputError")
    max_claims: int = Field(200, ge=1, description="claims beyond this are reported unverified")
    batch_size: int = Field(32, ge=1, le=1024)
    fail: Literal["open", "closed"] = "open"
    verifier_model: str | None = Field(None, description="path or hub name; None = embedded")
    embedding_model: str | None = Field(None, description="path or hub name; None = embedded")
    device: str = "cpu"

    if not TYPE_CHECKING:  # type checkers keep pydantic's typed keyword signature

        def __init__(self, **data: Any) -> None:
            # ConfigError like every other bad option, in one line (pydantic's message runs to many)
            try:
                super().__init__(**data)
            except ValidationError as exc:
                raise ConfigError(f"invalid setting: {first_error(exc)}") from None

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        """Settings from a JSON file (keys as the fields); ``ConfigError`` if it is not valid."""
        try:
            return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        except ValidationError as exc:
            raise ConfigError(f"cannot load settings from {path}: {first_error(exc)}") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot load settings from {path}: {exc}") from exc

    def save(self, path: str | Path) -> None:
        """Write the settings that differ from the defaults as JSON."""
        try:
            Path(path).write_text(self.model_dump_json(indent=1, exclude_defaults=True) + "\n", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot save settings to {path}: {exc}") from exc


def first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, in one line (its own message runs to many)."""
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"])
    got = f" (got {err['input']!r})" if where and "input" in err else ""
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{got}{more}" if where else f"{err['msg']}{more}"
