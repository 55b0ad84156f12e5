"""The CLI rejects bad options before touching any media (no ffmpeg needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from video_pipeline.cli import main


@pytest.mark.parametrize("args", [
    ["--zone", "0.1,0.2"], ["--line", "0,0,1"], ["--marks", "soon"], ["--mode", "slow"]])
def test_bad_option_exits_2_with_a_plain_message(args: list[str], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["analyze", str(tmp_path / "clip.mp4"), "--out", str(tmp_path / "out"), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert "error: InvalidOption" in err and "Traceback" not in err


def test_missing_out_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["analyze", str(tmp_path / "clip.mp4")]) == 2


def test_empty_file_is_refused_without_ffmpeg(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert main(["probe", str(empty)]) == 2
    assert "EmptyMedia" in capsys.readouterr().err


def test_bad_video_setting_is_an_invalid_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from video_pipeline.settings import get_settings

    monkeypatch.setenv("VIDEO_WORKERS", "0")
    get_settings.cache_clear()
    try:
        code = main(["analyze", str(tmp_path / "clip.mp4"), "--out", str(tmp_path / "o")])
    finally:
        get_settings.cache_clear()
    assert code == 2
    assert "bad VIDEO_* setting" in capsys.readouterr().err


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from video_pipeline.settings import VideoSettings

    monkeypatch.setenv("VIDEO_MODE", "full")
    monkeypatch.setenv("VIDEO_MAX_SIDE", "4096")
    settings = VideoSettings()
    assert settings.mode == "full" and settings.workers == 2
    assert settings.limits().max_side == 4096
