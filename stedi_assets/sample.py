"""Synthetic STEDI landing data for demos and tests.

The public starter data is one clean export, but real exports drift (see
docs/data-contract.md). This module writes a small, deterministic landing tree
that contains each of those quirks on purpose, so the pipeline can be exercised
end to end without the real data and without network access.

Layout: <out_dir>/<source>/landing/ingest_date=YYYY-MM-DD/<source>-<epoch-ms>.json
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

# Fixed, so the output never depends on the clock.
BASE_DATE = date(2024, 1, 1)
HOUR_MS = 3_600_000
READINGS_PER_CUSTOMER = 15  # distinct timestamps per customer (the real data has 30)

FIRST_NAMES = ["Santosh", "Ben", "Frank", "David", "Edward", "Sarah", "Jerry", "Liz",
               "Chris", "Lyn", "Senthil", "Jackie", "Danny", "Anna", "Sean", "Trevor"]
LAST_NAMES = ["Clayton", "Khatib", "Hansen", "Jones", "Lincoln", "Mitra", "Staples",
              "Hayes", "Wu", "Anderson", "Gonzalez", "Ahmed", "Davis", "Habschied"]

# Consent profile of every 20 customers (shuffled per seed), so that every
# profile exists for any seed once there are 20 customers.
PROFILES = (["full"] * 11 + ["late"] * 2 + ["no_research"] * 3
            + ["no_consent_fields"] * 2 + ["null_research"] * 2)

# Accelerometer axes take the values -1, 0 and 1 in the real data.
AXES = [(float(x), float(y), float(z)) for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (-1, 0, 1)]


def _day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def _maybe_extra(rng: random.Random, rec: dict, rate: float, name: str, value) -> dict:
    """Now and then add a field the contract does not know (it must be ignored)."""
    if rng.random() < rate:
        rec[name] = value
    return rec


def _new_customer(rng: random.Random, i: int, names: list, day: int) -> dict:
    """One registered customer with its reading timestamps (consent is set later)."""
    first, last = names[i % len(names)]
    if i >= len(names):  # more customers than name pairs: keep emails unique
        last += str(i // len(names))
    reg = day + 6 * HOUR_MS + rng.randrange(6 * HOUR_MS)
    times = sorted(reg + t for t in rng.sample(range(1, 2 * HOUR_MS), READINGS_PER_CUSTOMER))
    record = {
        "customerName": f"{first} {last}",
        "email": f"{first}.{last}@test.com",
        "phone": f"801555{rng.randrange(10_000):04d}",
        "birthDay": f"{rng.randrange(1940, 2006)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "serialNumber": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "registrationDate": reg,
        "lastUpdateDate": reg + rng.randrange(1000, HOUR_MS),
    }
    return {"record": record, "times": times}


def _set_consent(rng: random.Random, person: dict) -> None:
    """Apply the person's consent profile to the customer record."""
    rec, reg = person["record"], person["record"]["registrationDate"]
    profile = person["profile"]
    if profile == "full":  # as in most real records: all share dates = registration
        rec.update(shareWithResearchAsOfDate=reg, shareWithPublicAsOfDate=reg,
                   shareWithFriendsAsOfDate=reg)
    elif profile == "late":  # consented after some of the readings were taken
        late = person["times"][len(person["times"]) // 2]
        rec.update(lastUpdateDate=late, shareWithResearchAsOfDate=late,
                   shareWithFriendsAsOfDate=late)
    elif profile == "no_research":  # shares with friends (maybe public), never research
        if rng.random() < 0.5:
            rec["shareWithPublicAsOfDate"] = reg
        rec["shareWithFriendsAsOfDate"] = reg
    elif profile == "null_research":
        rec.update(shareWithResearchAsOfDate=None, shareWithFriendsAsOfDate=reg)
    # "no_consent_fields": no share field at all


def _updates(people: list, last: int, last_day: int) -> list:
    """Customer records re-exported on the last ingest date.

    One customer withdraws consent, one grants it (email re-typed in lower
    case), and one record is stale: an older lastUpdateDate in a later file,
    which must lose against the record already landed.
    """
    earlier = [p for p in people if p["date"] < last] or people  # one date: same file
    full = [p for p in earlier if p["profile"] == "full"]
    refusing = [p for p in earlier if p["profile"] in ("no_research", "no_consent_fields", "null_research")]
    when = last_day + 20 * HOUR_MS  # after every registration of that day
    out = []
    if full:
        withdrawn = dict(full[0]["record"], lastUpdateDate=when, shareWithResearchAsOfDate=None)
        out.append(withdrawn)
    if refusing:
        granted = dict(refusing[0]["record"], lastUpdateDate=when + 60_000,
                       shareWithResearchAsOfDate=when + 60_000)
        granted["email"] = granted["email"].lower()
        out.append(granted)
    if len(full) > 1:
        stale = dict(full[1]["record"])
        stale["lastUpdateDate"] = stale["registrationDate"]  # older than the landed one
        del stale["shareWithResearchAsOfDate"]
        out.append(stale)
    return out


def _readings(rng: random.Random, person: dict, ts_key: str) -> tuple[list, list]:
    """Accelerometer and step-trainer lines of one customer."""
    rec = person["record"]
    accel, steps = [], []
    for t in person["times"]:
        # Several accelerometer readings per timestamp (distinct values, so
        # only the duplicated file produces exact duplicates).
        k = rng.choices([3, 2, 1], weights=[80, 17, 3])[0]
        for x, y, z in rng.sample(AXES, k):
            line = {"user": rec["email"], ts_key: t, "x": x, "y": y, "z": z}
            accel.append(_maybe_extra(rng, line, 0.01, "battery", round(rng.uniform(0.2, 1), 2)))
        line = {"sensorReadingTime": t + person["clock_skew"], "serialNumber": rec["serialNumber"],
                "distanceFromObject": rng.randrange(200, 301)}
        steps.append(_maybe_extra(rng, line, 0.01, "firmware", "1.4.2"))
    return accel, steps


def _write(path: Path, lines: list, truncate: bool = False) -> int:
    """Write NDJSON lines; with truncate, cut the last line in half (no newline)."""
    if truncate:
        text = "\n".join(lines[:-1] + [lines[-1][: len(lines[-1]) // 2]])
    else:
        text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return len(lines)


def write_sample_landing(out_dir, customers: int = 60, seed: int = 7, ingest_dates: int = 3) -> dict:
    """Write synthetic landing files under out_dir and return a summary.

    Same seed -> byte-identical files. Customers register over `ingest_dates`
    consecutive days starting at BASE_DATE; each day lands one customer file,
    two accelerometer files and one step-trainer file. Quirks (each at a
    modest rate): missing/null consent fields, consent granted after some
    readings, a later consent update and a stale update, two customers'
    readings in the same millisecond, several accelerometer readings per
    timestamp, numeric phone and `timeStamp` on the oldest date, unknown extra
    fields, a truncated last line, a file delivered twice, and a few step
    trainers whose clock is off (their readings match no accelerometer reading).
    """
    if ingest_dates < 1 or customers < ingest_dates:
        raise ValueError("need ingest_dates >= 1 and customers >= ingest_dates")
    rng = random.Random(seed)
    root = Path(out_dir)
    days = [BASE_DATE + timedelta(days=d) for d in range(ingest_dates)]
    last = ingest_dates - 1
    names = [(f, l) for f in FIRST_NAMES for l in LAST_NAMES]
    rng.shuffle(names)
    profiles = [PROFILES[i % len(PROFILES)] for i in range(customers)]
    rng.shuffle(profiles)

    people = []
    for i in range(customers):
        d = i * ingest_dates // customers  # contiguous blocks of customers per day
        person = _new_customer(rng, i, names, _day_ms(days[d]))
        person.update(date=d, profile=profiles[i], clock_skew=0)
        prev = people[-1] if people else None
        if prev and prev["date"] == d and i % 7 == 1:
            # Two different customers with a reading in the same millisecond.
            shared = rng.choice(prev["times"])
            if shared not in person["times"]:
                person["times"][0] = shared
                person["times"].sort()
        if i % 25 == 12:
            person["clock_skew"] = rng.randrange(1, 1000)
        _set_consent(rng, person)
        _maybe_extra(rng, person["record"], 0.05, "preferredLanguage", "en")
        people.append(person)

    files = 0
    lines = {"customer": 0, "accelerometer": 0, "step_trainer": 0}
    dup_source = None
    for d, day in enumerate(days):
        oldest = d == 0
        folder = f"ingest_date={day.isoformat()}"
        stamps = iter(range(_day_ms(day) + 23 * HOUR_MS, _day_ms(day) + 24 * HOUR_MS, 37))

        def path(source: str) -> Path:
            return root / source / "landing" / folder / f"{source}-{next(stamps)}.json"

        todays = [p for p in people if p["date"] == d]
        cust = [dict(p["record"]) for p in todays] + (_updates(people, last, _day_ms(day)) if d == last else [])
        if oldest:  # older exports carry the phone as a JSON number
            for rec in cust:
                rec["phone"] = int(rec["phone"])
        accel, steps = [], []
        for p in todays:
            a, s = _readings(rng, p, "timeStamp" if oldest else "timestamp")
            accel += a
            steps += s

        lines["customer"] += _write(path("customer"), [json.dumps(r) for r in cust])
        compact = [json.dumps(r, separators=(",", ":")) for r in accel]
        half = len(compact) // 2
        first_accel = path("accelerometer")
        lines["accelerometer"] += _write(first_accel, compact[:half])
        lines["accelerometer"] += _write(path("accelerometer"), compact[half:], truncate=d == last)
        lines["step_trainer"] += _write(path("step_trainer"),
                                        [json.dumps(r, separators=(",", ":")) for r in steps])
        files += 4
        if d == min(1, last):
            dup_source = first_accel
        if d == last:  # the same file delivered again, under a new name
            content = dup_source.read_bytes()
            path("accelerometer").write_bytes(content)
            lines["accelerometer"] += content.count(b"\n")
            files += 1

    return {"files": files, "lines": lines, "customers": customers,
            "ingest_dates": [day.isoformat() for day in days]}
