"""Zones, lines, marks and times as the CLI accepts them; every rejection has its test."""

from __future__ import annotations

import pytest

from video_pipeline.errors import InvalidOption
from video_pipeline.options import Mark, parse_line, parse_marks, parse_time, parse_zone


def test_zone_with_and_without_a_name() -> None:
    zone = parse_zone("door=0.1,0.2, 0.5,0.2, 0.5,0.9")
    assert zone.name == "door" and zone.points == ((0.1, 0.2), (0.5, 0.2), (0.5, 0.9))
    assert parse_zone("0,0,1,0,1,1", default_name="zone3").name == "zone3"


@pytest.mark.parametrize(("text", "message"), [
    ("0.1,0.2,0.3,0.4", "at least 3 points"),
    ("0.1,0.2,0.3", "odd number"),
    ("a,b,c,d,e,f", "must be numbers"),
    ("0,0,1,0,1,1.5", r"in \[0, 1\]"),
    ("bad/name=0,0,1,0,1,1", "bad name"),
])
def test_bad_zones(text: str, message: str) -> None:
    with pytest.raises(InvalidOption, match=message):
        parse_zone(text)


def test_line() -> None:
    assert parse_line("kerb=0,0.5,1,0.5").points == ((0.0, 0.5), (1.0, 0.5))


@pytest.mark.parametrize(("text", "message"), [
    ("0,0.5,1", "odd number"), ("0,0,1,1,0.5,0.5", "exactly 2 points"),
    ("0.2,0.2,0.2,0.2", "the same"), ("nan,0,1,1", r"in \[0, 1\]")])
def test_bad_lines(text: str, message: str) -> None:
    with pytest.raises(InvalidOption, match=message):
        parse_line(text)


@pytest.mark.parametrize(("text", "seconds"), [
    ("65.2", 65.2), ("1:05.2", 65.2), ("01:01:05", 3665.0), ("0", 0.0), ("00:00.5", 0.5)])
def test_times(text: str, seconds: float) -> None:
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("-1", ">= 0"), ("1:75", "below 60"), ("soon", "use seconds"), ("inf", "finite")])
def test_bad_times(text: str, message: str) -> None:
    with pytest.raises(InvalidOption, match=message):
        parse_time(text)


def test_marks_sorted_with_labels() -> None:
    assert parse_marks("1:05=arrest; 12.5=stop,3") == (
        Mark(3.0, ""), Mark(12.5, "stop"), Mark(65.0, "arrest"))
    assert parse_marks("") == ()


def test_bad_mark() -> None:
    with pytest.raises(InvalidOption, match="bad time"):
        parse_marks("12=ok;later=bad")
