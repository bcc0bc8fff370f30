"""Tests for the synthetic landing data generator (stedi_assets.sample)."""

import json
import re
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import pytest

from stedi_assets.sample import write_sample_landing
from stedi_assets_tests.reference import CONTRACT_FIELDS

PATTERN = re.compile(
    r"^(customer|accelerometer|step_trainer)/landing/"
    r"ingest_date=(\d{4}-\d{2}-\d{2})/(customer|accelerometer|step_trainer)-(\d+)\.json$"
)
KNOWN = {source: set(fields) for source, fields in CONTRACT_FIELDS.items()}


def _files(root):
    """Relative path -> bytes of every file under root."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _records(root):
    """(source, ingest_date, file, record) for every parseable line; plus unparseable lines."""
    good, bad = [], []
    for rel, content in _files(root).items():
        source, ingest = PATTERN.match(rel).group(1, 2)
        for line in content.decode("utf-8").splitlines():
            if not line.strip():
                continue
            try:
                good.append((source, ingest, rel, json.loads(line)))
            except json.JSONDecodeError:
                bad.append((rel, line))
    return good, bad


def _ts(rec):
    return rec.get("timestamp", rec.get("timeStamp"))


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing")
    summary = write_sample_landing(root)
    good, bad = _records(root)
    return root, summary, good, bad


def test_layout_and_summary(landing):
    root, summary, good, bad = landing
    files = _files(root)
    dates = set()
    lines = defaultdict(int)
    for rel, content in files.items():
        m = PATTERN.match(rel)
        assert m, rel
        source, ingest, name_source, epoch_ms = m.groups()
        assert name_source == source
        # The file name's epoch falls on the ingest date (the contract's fallback agrees).
        assert datetime.fromtimestamp(int(epoch_ms) / 1000, timezone.utc).date().isoformat() == ingest
        dates.add(ingest)
        lines[source] += sum(1 for line in content.decode().splitlines() if line.strip())
    first = date.fromisoformat(min(dates))
    assert sorted(dates) == [(first + timedelta(days=d)).isoformat() for d in range(3)]
    assert first == date(2024, 1, 1)
    for d in dates:  # every source lands on every date
        for source in KNOWN:
            assert any(rel.startswith(f"{source}/landing/ingest_date={d}/") for rel in files)
    assert summary["files"] == len(files)
    assert summary["lines"] == dict(lines)
    assert summary["ingest_dates"] == sorted(dates)
    assert 2000 < sum(lines.values()) < 10000  # "a few thousand lines"


def test_ingest_dates_argument(tmp_path):
    write_sample_landing(tmp_path, customers=20, ingest_dates=5)
    dates = {PATTERN.match(rel).group(2) for rel in _files(tmp_path)}
    assert sorted(dates) == [(date(2024, 1, 1) + timedelta(days=d)).isoformat() for d in range(5)]


def test_same_seed_is_byte_identical(tmp_path):
    write_sample_landing(tmp_path / "a", seed=3)
    write_sample_landing(tmp_path / "b", seed=3)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_different_seed_differs(tmp_path):
    write_sample_landing(tmp_path / "a", seed=3)
    write_sample_landing(tmp_path / "b", seed=4)
    assert _files(tmp_path / "a") != _files(tmp_path / "b")


@pytest.mark.parametrize("n", [10, 25, 90])
def test_customers_argument_scales_distinct_customers(tmp_path, n):
    write_sample_landing(tmp_path, customers=n)
    good, _ = _records(tmp_path)
    emails = {r["email"].strip().lower() for s, _, _, r in good if s == "customer"}
    users = {r["user"].strip().lower() for s, _, _, r in good if s == "accelerometer"}
    assert len(emails) == n
    assert users <= emails


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        write_sample_landing(tmp_path, ingest_dates=0)
    with pytest.raises(ValueError):
        write_sample_landing(tmp_path, customers=2, ingest_dates=3)


# --- quirks -----------------------------------------------------------------


def test_numeric_phone_and_timeStamp_only_on_oldest_date(landing):
    _, summary, good, _ = landing
    oldest = summary["ingest_dates"][0]
    for source, ingest, _, rec in good:
        if source == "customer":
            assert isinstance(rec["phone"], int) == (ingest == oldest)
        if source == "accelerometer":
            assert ("timeStamp" in rec) == (ingest == oldest)
            assert ("timestamp" in rec) != (ingest == oldest)


def test_one_file_ends_in_a_truncated_line(landing):
    root, _, _, bad = landing
    assert len(bad) == 1
    rel, line = bad[0]
    assert _files(root)[rel].decode().endswith(line)  # it is the last line, no newline


def test_a_file_is_delivered_twice(landing):
    root, _, _, _ = landing
    by_content = defaultdict(list)
    for rel, content in _files(root).items():
        by_content[content].append(rel)
    dups = [rels for rels in by_content.values() if len(rels) > 1]
    assert len(dups) == 1 and len(dups[0]) == 2


def test_unknown_extra_fields(landing):
    _, _, good, _ = landing
    extra = {s for s, _, _, r in good if set(r) - KNOWN[s] - {"timeStamp"}}
    assert {"accelerometer", "step_trainer"} <= extra


def test_consent_fields_missing_or_null(landing):
    _, _, good, _ = landing
    customers = [r for s, _, _, r in good if s == "customer"]
    share = {"shareWithResearchAsOfDate", "shareWithPublicAsOfDate", "shareWithFriendsAsOfDate"}
    assert any("shareWithResearchAsOfDate" not in r for r in customers)
    assert any(not share & set(r) for r in customers)  # no consent field at all
    assert any("shareWithResearchAsOfDate" in r and r["shareWithResearchAsOfDate"] is None for r in customers)
    assert sum(r.get("shareWithResearchAsOfDate") is not None for r in customers) > len(customers) / 2


def test_customer_updates_across_ingest_dates(landing):
    _, _, good, _ = landing
    versions = defaultdict(list)  # email key -> [(ingest_date, record)]
    for s, ingest, _, r in good:
        if s == "customer":
            versions[r["email"].strip().lower()].append((ingest, r))
    multi = {k: sorted(v, key=lambda x: x[0]) for k, v in versions.items() if len(v) > 1}
    assert multi and all(len({d for d, _ in v}) == 2 for v in multi.values())
    newer = [v for v in multi.values() if v[1][1]["lastUpdateDate"] > v[0][1]["lastUpdateDate"]]
    stale = [v for v in multi.values() if v[1][1]["lastUpdateDate"] < v[0][1]["lastUpdateDate"]]
    assert stale, "an older lastUpdateDate landed in a later file"

    def consents(rec):
        return rec.get("shareWithResearchAsOfDate") is not None

    assert any(consents(old) and not consents(new) for (_, old), (_, new) in newer)  # withdrawn
    assert any(not consents(old) and consents(new) for (_, old), (_, new) in newer)  # granted


def test_two_customers_share_a_millisecond(landing):
    _, _, good, _ = landing
    users_at = defaultdict(set)
    for s, _, _, r in good:
        if s == "accelerometer":
            users_at[_ts(r)].add(r["user"].lower())
    assert any(len(u) > 1 for u in users_at.values())


def test_several_accelerometer_readings_per_timestamp(landing):
    _, _, good, _ = landing
    per_key = defaultdict(int)
    for s, _, _, r in good:
        if s == "accelerometer":
            per_key[(r["user"], _ts(r))] += 1
    assert sum(c > 1 for c in per_key.values()) > len(per_key) / 2


def test_consent_granted_after_some_readings(landing):
    _, _, good, _ = landing
    times = defaultdict(list)
    for s, _, _, r in good:
        if s == "accelerometer":
            times[r["user"].lower()].append(_ts(r))
    late = [
        r
        for s, _, _, r in good
        if s == "customer"
        and r.get("shareWithResearchAsOfDate") is not None
        and min(times[r["email"].lower()]) < r["shareWithResearchAsOfDate"] <= max(times[r["email"].lower()])
    ]
    assert late


def test_step_trainer_readings_mostly_match_own_accelerometer(landing):
    _, _, good, _ = landing
    serial_owner = {r["serialNumber"]: r["email"].lower() for s, _, _, r in good if s == "customer"}
    accel = {(r["user"].lower(), _ts(r)) for s, _, _, r in good if s == "accelerometer"}
    steps = [r for s, _, _, r in good if s == "step_trainer"]
    assert all(r["serialNumber"] in serial_owner for r in steps)
    matched = [(serial_owner[r["serialNumber"]], r["sensorReadingTime"]) in accel for r in steps]
    assert 0.8 * len(steps) < sum(matched) < len(steps)  # most, not all


# --- scale ------------------------------------------------------------------


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """A tenth of the starter volume, in files of at most 500 lines (so that there are several)."""
    from stedi_assets import sample

    root = tmp_path_factory.mktemp("scaled")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sample, "SCALED_LINES_PER_FILE", 500)
        summary = write_sample_landing(root, scale=0.1)
    good, bad = _records(root)
    return root, summary, good, bad


def test_scale_follows_the_starter_volume(scaled):

    root, summary, good, bad = scaled
    assert summary["customers"] == 96
    emails = {r["email"].strip().lower() for s, _, _, r in good if s == "customer"}
    assert len(emails) == 96
    # 30 reading timestamps per customer, ~2.8 accelerometer readings each: about the
    # starter's 85 accelerometer and 30 step-trainer lines per customer.
    assert summary["lines"]["step_trainer"] == 96 * 30
    assert 96 * 80 < summary["lines"]["accelerometer"] < 96 * 100
    assert summary["ingest_dates"] == ["2024-01-01", "2024-01-02", "2024-01-03"]


def test_scale_writes_several_bounded_files_per_date_with_every_quirk(scaled):
    root, summary, good, bad = scaled
    files = _files(root)
    assert summary["files"] == len(files)
    per_date = defaultdict(int)
    for rel, content in files.items():
        source, ingest = PATTERN.match(rel).group(1, 2)
        assert content.count(b"\n") <= 500 + 100  # a block of customers may overrun a little
        per_date[source, ingest] += 1
    assert all(per_date["accelerometer", d] >= 5 for d in summary["ingest_dates"])
    assert all(per_date["step_trainer", d] >= 2 for d in summary["ingest_dates"])
    assert len(bad) == 1  # the truncated last line
    by_content = defaultdict(list)
    for rel, content in files.items():
        by_content[content].append(rel)
    assert [len(rels) for rels in by_content.values() if len(rels) > 1] == [2]  # a file delivered twice
    oldest = summary["ingest_dates"][0]
    assert all(("timeStamp" in r) == (d == oldest) for s, d, _, r in good if s == "accelerometer")


def test_scale_is_deterministic_and_exclusive_with_customers(tmp_path):
    write_sample_landing(tmp_path / "a", scale=0.02, seed=5)
    write_sample_landing(tmp_path / "b", scale=0.02, seed=5)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    with pytest.raises(ValueError):
        write_sample_landing(tmp_path / "c", customers=10, scale=1)
    with pytest.raises(ValueError):
        write_sample_landing(tmp_path / "c", scale=0)


def test_add_sample_ingest_date_lands_new_customers(tmp_path):
    from stedi_assets.sample import add_sample_ingest_date

    write_sample_landing(tmp_path, scale=0.02)
    before, bad_before = _records(tmp_path)
    summary = add_sample_ingest_date(tmp_path, "2024-01-04", customers=5)
    after, bad = _records(tmp_path)
    assert bad == bad_before  # only the base data's truncated line
    new = [(s, r) for s, d, _, r in after if d == "2024-01-04"]
    assert len(after) - len(before) == len(new) == sum(summary["lines"].values())
    old_emails = {r["email"].lower() for s, _, _, r in before if s == "customer"}
    new_emails = {r["email"].lower() for s, r in new if s == "customer"}
    assert len(new_emails) == 5 and not new_emails & old_emails
    assert {r["user"].lower() for s, r in new if s == "accelerometer"} <= new_emails
    assert summary["lines"]["step_trainer"] == 5 * 30
    with pytest.raises(FileExistsError):
        add_sample_ingest_date(tmp_path, "2024-01-04", customers=5)
