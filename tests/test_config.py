from __future__ import annotations

from pathlib import Path

import pytest

from guardrail import ConfigError, Settings


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    Settings(support_threshold=0.7, fail="closed").save(path)
    loaded = Settings.load(path)
    assert loaded.support_threshold == 0.7 and loaded.fail == "closed"


def test_bad_files_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "typo.json").write_text('{"suport_threshold": 0.4}')
    for name in ("bad.json", "typo.json", "missing.json"):
        with pytest.raises(ConfigError):
            Settings.load(tmp_path / name)
    # a calibration file passed as settings: the first problem in one line, not pydantic's dump
    (tmp_path / "calibration.json").write_text('{"bias": 1, "weights": [1, 2], "features": ["a"]}')
    with pytest.raises(ConfigError) as info:
        Settings.load(tmp_path / "calibration.json")
    assert str(info.value).endswith("bias: Extra inputs are not permitted (got 1) (and 2 more)")
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot save settings to"):
        Settings().save(tmp_path / "no-such-dir" / "settings.json")


def test_settings_built_in_code_raise_config_error_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^invalid setting: top_k: .* greater than or equal to 1 \(got 0\)$"):
        Settings(top_k=0)
    with pytest.raises(ConfigError, match="fail"):
        Settings(fail="maybe")  # type: ignore[arg-type]
