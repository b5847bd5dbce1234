import json
import logging
from datetime import UTC, datetime

from polit.chan.posts import normalize_post, parse_thread, repair_logged, repair_row, version_of
from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS

NOW = datetime(2023, 3, 27, tzinfo=UTC)


def test_known_fields_typed_unknown_kept_in_extra():
    row, notes = normalize_post(
        {"no": 7, "resto": 0, "time": 1, "com": "a&gt;b", "since4pass": 2016, "zzz_new": [1, 2]}
    )
    assert row is not None and notes == ["unknown field 'zzz_new' kept in extra"]
    assert row["no"] == 7 and row["since4pass"] == 2016 and row["text"] == "a>b"
    assert json.loads(row["extra"]) == {"zzz_new": [1, 2]}


def _to_rows(*raws):
    """The crawler's path: normalise, add polit's columns, convert as one Arrow batch."""
    buf = RowBuffer(POSTS, repair=repair_logged)
    for raw in raws:
        row, _ = normalize_post(raw)
        row.update(board="pol", thread_no=1, observed_at=NOW, run_id="r")
        buf.add(row)
    return buf.to_table().to_pylist()


def test_wrong_types_coerced_or_moved_to_extra(caplog):
    caplog.set_level(logging.WARNING)
    good, bad = _to_rows(
        {"no": 7, "time": 5, "name": "ok"},
        {"no": 8, "time": "12", "w": "wide", "sub": 5, "name": ["x"], "zz": 1},
    )
    assert good["no"] == 7 and good["time"] == 5 and good["name"] == "ok"
    assert bad["no"] == 8 and bad["time"] == 12 and bad["sub"] == "5"
    assert bad["w"] is None and bad["name"] is None
    assert json.loads(bad["extra"]) == {"w": "wide", "name": ["x"], "zz": 1}
    assert bad["board"] == "pol" and bad["version"]  # polit's columns survive the repair
    text = caplog.text
    assert "/pol/1: post 8: field 'w' has a wrong type" in text and "'name'" in text


def test_strict_normalisation_reports_each_wrong_type():
    row, notes = repair_row({"no": 8, "time": "12", "w": "wide", "board": "pol", "text": "t"})
    assert row["time"] == 12 and row["board"] == "pol"
    assert notes == ["field 'w' has a wrong type ('wide'), kept in extra"]


def test_number_as_text_takes_the_strict_path():
    row, notes = normalize_post({"no": "9", "time": 1.0})
    assert row["no"] == 9 and row["time"] == 1 and notes == []


def test_post_without_no_is_rejected():
    for bad in ({"resto": 0}, {"no": None}, {"no": "abc"}, {"no": -3}, [1, 2], "x"):
        row, notes = normalize_post(bad)
        assert row is None and notes


def test_lone_surrogate_is_replaced_not_crashing():
    (row,) = _to_rows({"no": 1, "com": "bad \ud800 char", "name": "\udcff"})
    assert row["com"] == "bad \ufffd char" or row["com"] == "bad ? char"
    row["name"].encode("utf-8")


def test_version_ignores_thread_counters_but_not_mutations():
    base = {"no": 1, "resto": 0, "com": "x", "replies": 3, "images": 1}
    assert version_of(base) == version_of({**base, "replies": 9, "unique_ips": 4})
    assert version_of(base) != version_of({**base, "filedeleted": 1})
    assert version_of(base) != version_of({**base, "com": "x<br>(USER WAS BANNED FOR THIS POST)"})


def test_parse_thread_reports_broken_bodies():
    assert not parse_thread({"nope": 1}, 5).complete
    assert not parse_thread({"posts": []}, 5).complete
    assert not parse_thread([1, 2], 5).complete
    body = parse_thread({"posts": [{"no": 5, "resto": 0}, {"resto": 5, "com": "no number"}]}, 5)
    assert [p["no"] for p in body.posts] == [5]
    assert not body.complete and "rejected" in body.problems[0]


def test_parse_thread_real_sample(samples):
    data = json.loads((samples / "thread_v_backendtea-2017.json").read_text())
    op = data["posts"][0]["no"]
    body = parse_thread(data, op)
    assert body.complete and len(body.posts) == len(data["posts"])
    assert any(p["quotes"] for p in body.posts)
