"""Synthetic STEDI landing data for demos and tests.

The public starter data is one clean export, but real exports drift (see
docs/data-contract.md). This module writes a small, deterministic landing tree
that contains each of those quirks on purpose, so the pipeline can be exercised
end to end without the real data and without network access.

Layout: <out_dir>/<source>/landing/ingest_date=YYYY-MM-DD/<source>-<epoch-ms>.json

With `scale`, the volume follows the public starter export instead (scale 1 is
about its 956 customers, 81k accelerometer and 29k step-trainer lines; scale
100 about 8 million accelerometer lines), streamed into files of at most
SCALED_LINES_PER_FILE lines so that large scales write fast in little memory.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

# Fixed, so the output never depends on the clock.
BASE_DATE = date(2024, 1, 1)
HOUR_MS = 3_600_000
READINGS_PER_CUSTOMER = 15  # distinct timestamps per customer (the real data has 30)

# Scaled volumes follow the public starter export: 956 customers with 30 distinct
# timestamps each, split in files of at most 10,000 lines as that export is.
STARTER_CUSTOMERS = 956
STARTER_READINGS_PER_CUSTOMER = 30
SCALED_LINES_PER_FILE = 10_000
MEAN_ACCEL_PER_TIMESTAMP = 2.77  # the mean of rng.choices([3, 2, 1], weights=[80, 17, 3])

FIRST_NAMES = [
    "Santosh",
    "Ben",
    "Frank",
    "David",
    "Edward",
    "Sarah",
    "Jerry",
    "Liz",
    "Chris",
    "Lyn",
    "Senthil",
    "Jackie",
    "Danny",
    "Anna",
    "Sean",
    "Trevor",
]
LAST_NAMES = [
    "Clayton",
    "Khatib",
    "Hansen",
    "Jones",
    "Lincoln",
    "Mitra",
    "Staples",
    "Hayes",
    "Wu",
    "Anderson",
    "Gonzalez",
    "Ahmed",
    "Davis",
    "Habschied",
]

# Consent profile of every 20 customers (shuffled per seed), so that every
# profile exists for any seed once there are 20 customers.
PROFILES = ["full"] * 11 + ["late"] * 2 + ["no_research"] * 3 + ["no_consent_fields"] * 2 + ["null_research"] * 2

# Accelerometer axes take the values -1, 0 and 1 in the real data.
AXES = [(float(x), float(y), float(z)) for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (-1, 0, 1)]


def _day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def _maybe_extra(rng: random.Random, rec: dict, rate: float, name: str, value) -> dict:
    """Now and then add a field the contract does not know (it must be ignored)."""
    if rng.random() < rate:
        rec[name] = value
    return rec


def _new_customer(
    rng: random.Random, i: int, names: list, day: int, readings: int = READINGS_PER_CUSTOMER, email_tag: str = ""
) -> dict:
    """One registered customer with its reading timestamps (consent is set later)."""
    first, last = names[i % len(names)]
    if i >= len(names):  # more customers than name pairs: keep emails unique
        last += str(i // len(names))
    reg = day + 6 * HOUR_MS + rng.randrange(6 * HOUR_MS)
    times = sorted(reg + t for t in rng.sample(range(1, 2 * HOUR_MS), readings))
    record = {
        "customerName": f"{first} {last}",
        "email": f"{first}.{last}{email_tag}@test.com",
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
        rec.update(shareWithResearchAsOfDate=reg, shareWithPublicAsOfDate=reg, shareWithFriendsAsOfDate=reg)
    elif profile == "late":  # consented after some of the readings were taken
        late = person["times"][len(person["times"]) // 2]
        rec.update(lastUpdateDate=late, shareWithResearchAsOfDate=late, shareWithFriendsAsOfDate=late)
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
        granted = dict(refusing[0]["record"], lastUpdateDate=when + 60_000, shareWithResearchAsOfDate=when + 60_000)
        granted["email"] = granted["email"].lower()
        out.append(granted)
    if len(full) > 1:
        stale = dict(full[1]["record"])
        stale["lastUpdateDate"] = stale["registrationDate"]  # older than the landed one
        del stale["shareWithResearchAsOfDate"]
        out.append(stale)
    return out


_AXES_JSON = {(x, y, z): f',"x":{x!r},"y":{y!r},"z":{z!r}' for x, y, z in AXES}


def _readings(rng: random.Random, person: dict, ts_key: str) -> tuple[list, list]:
    """Accelerometer and step-trainer lines of one customer, as compact JSON text.

    Formatted directly (the same bytes json.dumps(..., separators=(",", ":")) gives
    for these plain values), because large scales write millions of lines.
    """
    rec = person["record"]
    accel, step_lines = [], []
    accel_prefix = f'{{"user":{json.dumps(rec["email"])},"{ts_key}":'
    step_middle = f',"serialNumber":{json.dumps(rec["serialNumber"])},"distanceFromObject":'
    skew = person["clock_skew"]
    for t in person["times"]:
        # Several accelerometer readings per timestamp (distinct values, so
        # only the duplicated file produces exact duplicates).
        k = rng.choices([3, 2, 1], weights=[80, 17, 3])[0]
        head = f"{accel_prefix}{t}"
        for axes in rng.sample(AXES, k):
            battery = round(rng.uniform(0.2, 1), 2)
            if rng.random() < 0.01:  # a field the contract does not know
                accel.append(f'{head}{_AXES_JSON[axes]},"battery":{battery!r}}}')
            else:
                accel.append(f"{head}{_AXES_JSON[axes]}}}")
        distance = rng.randrange(200, 301)
        extra = ',"firmware":"1.4.2"' if rng.random() < 0.01 else ""
        step_lines.append(f'{{"sensorReadingTime":{t + skew}{step_middle}{distance}{extra}}}')
    return accel, step_lines


def _write(path: Path, lines: list, truncate: bool = False) -> int:
    """Write NDJSON lines; with truncate, cut the last line in half (no newline)."""
    if truncate:
        text = "\n".join(lines[:-1] + [lines[-1][: len(lines[-1]) // 2]])
    else:
        text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return len(lines)


def _people(
    rng: random.Random,
    customers: int,
    days: list,
    names: list,
    readings: int = READINGS_PER_CUSTOMER,
    email_tag: str = "",
) -> list:
    """Every customer with its registration day, consent profile and reading timestamps."""
    profiles = [PROFILES[i % len(PROFILES)] for i in range(customers)]
    rng.shuffle(profiles)
    people = []
    for i in range(customers):
        d = i * len(days) // customers  # contiguous blocks of customers per day
        person = _new_customer(rng, i, names, _day_ms(days[d]), readings, email_tag)
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
    return people


def _land_day(
    rng: random.Random,
    root: Path,
    day: date,
    todays: list,
    customer_records: list,
    *,
    oldest: bool,
    truncate: bool,
    lines_per_file: int | None,
):
    """Write one ingest date's files: ([(source, path)] in writing order, lines per source, new_path).

    Without lines_per_file: one customer file, two accelerometer files (halves) and one
    step-trainer file. With it: files of at most lines_per_file lines (accelerometer
    files about that many), the readings generated and written a block of customers at
    a time. new_path(source) names one more file of this date.
    """
    folder = f"ingest_date={day.isoformat()}"
    stamps = iter(range(_day_ms(day) + 23 * HOUR_MS, _day_ms(day) + 24 * HOUR_MS, 37))
    written, counts = [], {"customer": 0, "accelerometer": 0, "step_trainer": 0}

    def new_path(source: str) -> Path:
        return root / source / "landing" / folder / f"{source}-{next(stamps)}.json"

    def land(source: str, lines: list, cut: bool = False) -> None:
        path = new_path(source)
        counts[source] += _write(path, lines, truncate=cut)
        written.append((source, path))

    ts_key = "timeStamp" if oldest else "timestamp"  # older exports spell it so
    customer_lines = [json.dumps(r) for r in customer_records]
    if lines_per_file is None:
        accel, step_lines = [], []
        for p in todays:
            a, s = _readings(rng, p, ts_key)
            accel += a
            step_lines += s
        land("customer", customer_lines)
        half = len(accel) // 2
        land("accelerometer", accel[:half])
        land("accelerometer", accel[half:], cut=truncate)
        land("step_trainer", step_lines)
    else:
        for start in range(0, len(customer_lines), lines_per_file):
            land("customer", customer_lines[start : start + lines_per_file])
        expected = sum(len(p["times"]) for p in todays) * MEAN_ACCEL_PER_TIMESTAMP
        blocks = max(1, min(len(todays), max(2, math.ceil(expected / lines_per_file))))
        step_lines = []
        for b in range(blocks):
            accel = []
            for p in todays[b * len(todays) // blocks : (b + 1) * len(todays) // blocks]:
                a, s = _readings(rng, p, ts_key)
                accel += a
                step_lines += s
            while len(step_lines) >= lines_per_file:
                land("step_trainer", step_lines[:lines_per_file])
                step_lines = step_lines[lines_per_file:]
            land("accelerometer", accel, cut=truncate and b == blocks - 1)
        if step_lines:
            land("step_trainer", step_lines)
    return written, counts, new_path


def scaled_customers(scale: float) -> int:
    """Customers at a scale factor of the public starter export (956 customers at scale 1)."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    return max(1, round(STARTER_CUSTOMERS * scale))


def write_sample_landing(
    out_dir, customers: int | None = None, seed: int = 7, ingest_dates: int = 3, scale: float | None = None
) -> dict:
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

    `customers` defaults to 60 (a few thousand lines). `scale` instead sizes the
    data as a multiple of the public starter export: round(956 * scale) customers
    with 30 reading timestamps each (scale 1: about 81k accelerometer and 29k
    step-trainer lines; scale 100: about 8 million accelerometer lines), the same
    quirks, and files of at most SCALED_LINES_PER_FILE lines (several per ingest
    date). Give `customers` or `scale`, not both.
    """
    if scale is not None and customers is not None:
        raise ValueError("give customers or scale, not both")
    if scale is not None:
        customers = max(ingest_dates, scaled_customers(scale))
        readings, lines_per_file = STARTER_READINGS_PER_CUSTOMER, SCALED_LINES_PER_FILE
    else:
        customers = 60 if customers is None else customers
        readings, lines_per_file = READINGS_PER_CUSTOMER, None
    if ingest_dates < 1 or customers < ingest_dates:
        raise ValueError("need ingest_dates >= 1 and customers >= ingest_dates")
    rng = random.Random(seed)
    root = Path(out_dir)
    days = [BASE_DATE + timedelta(days=d) for d in range(ingest_dates)]
    last = ingest_dates - 1
    names = [(first_name, last_name) for first_name in FIRST_NAMES for last_name in LAST_NAMES]
    rng.shuffle(names)
    people = _people(rng, customers, days, names, readings)

    files = 0
    lines = {"customer": 0, "accelerometer": 0, "step_trainer": 0}
    dup_source = None
    for d, day in enumerate(days):
        oldest = d == 0
        todays = [p for p in people if p["date"] == d]
        cust = [dict(p["record"]) for p in todays] + (_updates(people, last, _day_ms(day)) if d == last else [])
        if oldest:  # older exports carry the phone as a JSON number
            for rec in cust:
                rec["phone"] = int(rec["phone"])
        written, counts, new_path = _land_day(
            rng, root, day, todays, cust, oldest=oldest, truncate=d == last, lines_per_file=lines_per_file
        )
        for source in lines:
            lines[source] += counts[source]
        files += len(written)
        if d == min(1, last):
            dup_source = next(path for source, path in written if source == "accelerometer")
        if d == last:  # the same file delivered again, under a new name
            content = dup_source.read_bytes()
            new_path("accelerometer").write_bytes(content)
            lines["accelerometer"] += content.count(b"\n")
            files += 1

    return {"files": files, "lines": lines, "customers": customers, "ingest_dates": [day.isoformat() for day in days]}


def add_sample_ingest_date(out_dir, day: date | str, customers: int, seed: int = 7) -> dict:
    """Land one more ingest date under out_dir: `customers` new customers and their readings.

    Written as write_sample_landing(scale=...) writes a date (30 reading timestamps per
    customer, files of at most SCALED_LINES_PER_FILE lines, current field spellings),
    with emails tagged `+YYYYMMDD` so that every customer is new to any landing root,
    including the public starter data. For benchmarks of incremental runs.
    """
    day = date.fromisoformat(day) if isinstance(day, str) else day
    if customers < 1:
        raise ValueError("need customers >= 1")
    root = Path(out_dir)
    for source in ("customer", "accelerometer", "step_trainer"):
        if (root / source / "landing" / f"ingest_date={day.isoformat()}").exists():
            raise FileExistsError(f"ingest date {day} already landed under {root / source / 'landing'}")
    rng = random.Random(f"{seed}:{day.isoformat()}")
    names = [(first_name, last_name) for first_name in FIRST_NAMES for last_name in LAST_NAMES]
    rng.shuffle(names)
    people = _people(rng, customers, [day], names, STARTER_READINGS_PER_CUSTOMER, email_tag=f"+{day:%Y%m%d}")
    written, lines, _ = _land_day(
        rng,
        root,
        day,
        people,
        [dict(p["record"]) for p in people],
        oldest=False,
        truncate=False,
        lines_per_file=SCALED_LINES_PER_FILE,
    )
    return {"files": len(written), "lines": lines, "customers": customers, "ingest_dates": [day.isoformat()]}
