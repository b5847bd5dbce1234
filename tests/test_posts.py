import json

from polit.chan.posts import normalize_post, parse_thread, version_of


def test_known_fields_typed_unknown_kept_in_extra():
    row, notes = normalize_post(
        {"no": 7, "resto": 0, "time": 1, "com": "a&gt;b", "since4pass": 2016, "zzz_new": [1, 2]}
    )
    assert row is not None and notes == ["unknown field 'zzz_new' kept in extra"]
    assert row["no"] == 7 and row["since4pass"] == 2016 and row["text"] == "a>b"
    assert json.loads(row["extra"]) == {"zzz_new": [1, 2]}


def test_wrong_types_coerced_or_moved_to_extra():
    row, notes = normalize_post({"no": "8", "time": "12", "w": "wide", "sub": 5, "name": ["x"]})
    assert row["no"] == 8 and row["time"] == 12 and row["sub"] == "5"
    assert "w" not in row and "name" not in row
    assert json.loads(row["extra"]) == {"w": "wide", "name": ["x"]}
    assert len(notes) == 2 and all("wrong type" in n for n in notes)


def test_post_without_no_is_rejected():
    for bad in ({"resto": 0}, {"no": None}, {"no": "abc"}, {"no": -3}, [1, 2], "x"):
        row, notes = normalize_post(bad)
        assert row is None and notes


def test_lone_surrogate_is_replaced_not_crashing():
    row, notes = normalize_post({"no": 1, "com": "bad \ud800 char", "name": "\udcff"})
    assert row is not None
    row["com"].encode("utf-8")
    row["name"].encode("utf-8")
    assert any("unicode" in n for n in notes)


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
