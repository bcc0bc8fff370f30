"""Independent pure-Python reference implementation of the STEDI data contract.

Written from ``shared/docs/data-contract.md`` alone (standard library only) so
tests can check the production Spark code row for row.  Every table is a
``collections.Counter`` (multiset) of plain tuples.

Decisions where the contract is silent (keep in sync with the project docs):

* A line is split like ``bytes.splitlines()``; it is blank when
  ``bytes.strip()`` leaves nothing; line numbers count every physical line.
* A file that is one JSON array (as a whole) holds one record per element,
  numbered by its position in the array; an element with invalid UTF-8 is
  invalid.  Any other file holds one record per non-blank line.
* A ``.json.gz`` file that does not decompress is one invalid record, number 1.
* Limits: a file over 1 GiB (once decompressed) is one invalid record, number
  1; a line or array element over 1 MiB is invalid.
* A line must be strict UTF-8 (a leading UTF-8 byte-order mark of the file is skipped) and strict
  JSON (``NaN``/``Infinity`` rejected).
* A contract field given twice in one object (e.g. ``timestamp`` and
  ``timeStamp``) makes the line invalid.
* Integers must fit a signed 64-bit long; doubles must be finite.
* Text with an unpaired surrogate escape (``"\\ud800"``) cannot be typed.
* Customer key trims ASCII whitespace (``KEY_TRIM_CHARS``) then lower-cases.
* With ``ml_join="timestamp"`` and ``consent_cutoff=True`` a step-trainer
  reading is attributed only to serial owners whose consent it does not predate.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import functools
import gzip
import hashlib
import hmac
import json
import math
import os
import re
from pathlib import Path

CONTRACT_FIELDS = {
    "customer": [
        "customerName",
        "email",
        "phone",
        "birthDay",
        "serialNumber",
        "registrationDate",
        "lastUpdateDate",
        "shareWithResearchAsOfDate",
        "shareWithPublicAsOfDate",
        "shareWithFriendsAsOfDate",
    ],
    "accelerometer": ["user", "timestamp", "x", "y", "z"],
    "step_trainer": ["sensorReadingTime", "serialNumber", "distanceFromObject"],
}
_INT_FIELDS = {
    "registrationDate",
    "lastUpdateDate",
    "shareWithResearchAsOfDate",
    "shareWithPublicAsOfDate",
    "shareWithFriendsAsOfDate",
    "timestamp",
    "sensorReadingTime",
    "distanceFromObject",
}
_DOUBLE_FIELDS = {"x", "y", "z"}
KEY_FIELDS = {
    "customer": ("email",),
    "accelerometer": ("user", "timestamp"),
    "step_trainer": ("serialNumber", "sensorReadingTime"),
}
ML_FIELDS = [
    "sensorReadingTime",
    "serialNumber",
    "distanceFromObject",
    "timestamp",
    "x",
    "y",
    "z",
    "customer_id",
    "accelerometer_customer_id",
]
KEY_TRIM_CHARS = " \t\n\r\f\v"
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1

# Positions in the customer tuple.
_EMAIL, _SERIAL, _LAST_UPDATE, _RESEARCH = 1, 4, 6, 7


class InvalidLine(ValueError):
    """A landed line that is not valid under the contract."""


class _Num(str):
    """A JSON number, kept as the exact text it was written with."""

    is_float = False


class _FloatNum(_Num):
    is_float = True


class _Obj(list):
    """A JSON object as its list of (name, value) pairs."""


def _reject_constant(name):
    raise InvalidLine(f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(
    parse_int=_Num, parse_float=_FloatNum, parse_constant=_reject_constant, object_pairs_hook=_Obj
)


def _typed(value, field):
    """Type one JSON value for ``field``; raise InvalidLine if it cannot be typed."""
    if value is None:
        return None
    if isinstance(value, (bool, list)):  # booleans, arrays and objects never type
        raise InvalidLine(f"{field}: cannot type {type(value).__name__}")
    if field not in _INT_FIELDS and field not in _DOUBLE_FIELDS:
        if _has_surrogate(value):
            raise InvalidLine(f"{field}: unpaired surrogate, not text")
        return str(value)  # a string, or a number's text as written
    if not isinstance(value, _Num):
        raise InvalidLine(f"{field}: string where a number is expected")
    if field in _DOUBLE_FIELDS:
        number = float(value)
        if not math.isfinite(number):
            raise InvalidLine(f"{field}: not a finite double")
        return number
    if value.is_float:
        exact = decimal.Decimal(value)
        if exact != exact.to_integral_value() or exact.adjusted() > 19:
            raise InvalidLine(f"{field}: not an integral value")
        number = int(exact)
    else:
        number = int(value)
    if not _LONG_MIN <= number <= _LONG_MAX:
        raise InvalidLine(f"{field}: out of 64-bit range")
    return number


def parse_line(raw: bytes, source: str) -> tuple:
    """Parse and type one non-blank landed line; raise InvalidLine if invalid."""
    try:
        obj = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # includes UnicodeDecodeError
        raise InvalidLine(f"not JSON: {exc}") from None
    return parse_value(obj, source)


def parse_value(obj, source: str) -> tuple:
    """Type one decoded JSON value as a record of ``source``; raise InvalidLine if invalid."""
    if not isinstance(obj, _Obj):
        raise InvalidLine("not a JSON object")
    by_lower = {name.lower(): name for name in CONTRACT_FIELDS[source]}
    found = {}
    for name, value in obj:
        field = by_lower.get(name.lower())
        if field is None:
            continue  # unknown field
        if field in found:
            raise InvalidLine(f"{field}: given more than once")
        found[field] = value
    for key in KEY_FIELDS[source]:
        if found.get(key) is None:
            raise InvalidLine(f"{key}: key field missing or null")
    return tuple(_typed(found.get(f), f) for f in CONTRACT_FIELDS[source])


def _has_surrogate(value) -> bool:
    """True when decoded text holds a lone surrogate: invalid UTF-8 (decoded with surrogateescape) or a lone escape."""
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, (list, tuple)):  # arrays, and objects as (name, value) pairs
        return any(_has_surrogate(item) for item in value)
    return False


def parse_element(value, source: str) -> tuple:
    """Type one element of a file that is one JSON array; raise InvalidLine if invalid."""
    if _has_surrogate(value):
        raise InvalidLine("invalid UTF-8")
    return parse_value(value, source)


def _row_or_none(parse, record, source):
    try:
        return parse(record, source)
    except InvalidLine:
        return None


# Byte-order marks of UTF-16 (and so UTF-32 LE), UTF-32 BE, or two ASCII characters in UTF-16 LE or BE.
_NOT_UTF8 = re.compile(
    rb"\A(?:\xff\xfe|\xfe\xff|\x00\x00\xfe\xff|[\x01-\x7f]\x00[\x01-\x7f]\x00|\x00[\x01-\x7f]\x00[\x01-\x7f])"
)


MAX_FILE_BYTES, MAX_RECORD_BYTES = 2**30, 2**20  # the platform's default limits (its docs)


def _element_sizes(text: str) -> list[int]:
    """The size in bytes, as written, of each element of the JSON array that ``text`` holds."""
    sizes, pos = [], text.index("[") + 1
    while True:
        pos = len(text) - len(text[pos:].lstrip(" \t\n\r"))
        if text[pos] == "]":
            return sizes
        end = _DECODER.raw_decode(text, pos)[1]
        sizes.append(len(text[pos:end].encode("utf-8", "surrogateescape")))
        pos = len(text) - len(text[end:].lstrip(" \t\n\r"))
        pos += text[pos] == ","


def parse_file(content: bytes, source: str, max_record: int = MAX_RECORD_BYTES) -> list[tuple[int, tuple | None]]:
    """(record number, row or None when invalid) for every record of a decompressed file.

    A leading UTF-8 byte-order mark is skipped; a file that starts with a UTF-16 or UTF-32 byte-order mark, or
    with two ASCII characters in UTF-16, is in another encoding: every non-blank line of it is invalid. A
    record (line or array element) over ``max_record`` bytes is invalid."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    if _NOT_UTF8.match(content):
        return [(n, None) for n, raw in enumerate(content.splitlines(), start=1) if raw.strip()]
    text = content.decode("utf-8", "surrogateescape")
    try:
        whole = _DECODER.decode(text)
    except (ValueError, RecursionError):
        whole = None
    if type(whole) is list:
        fits = [size <= max_record for size in _element_sizes(text)]
        return [
            (n, _row_or_none(parse_element, element, source) if fit else None)
            for n, (element, fit) in enumerate(zip(whole, fits, strict=True), start=1)
        ]
    lines = enumerate(content.splitlines(), start=1)
    return [
        (n, _row_or_none(parse_line, raw, source) if len(raw) <= max_record else None)
        for n, raw in lines
        if raw.strip()
    ]


def customer_key(email: str) -> str:
    """Customer key: email trimmed and lower-cased."""
    return email.strip(KEY_TRIM_CHARS).lower()


@functools.cache
def pseudonym(key: str, pseudonym_key: str = "test-key") -> str:
    """Keyed hash of a customer key, used in machine_learning_curated."""
    return hmac.new(pseudonym_key.encode("utf-8"), key.encode("utf-8"), hashlib.sha256).hexdigest()


_FOLDER_RE = re.compile(r"ingest_date=(\d{4}-\d{2}-\d{2})")
_EPOCH_MS_RE = re.compile(r"(?<!\d)\d{13}(?!\d)")


def _utc_date(epoch_seconds: float) -> str:
    return dt.datetime.fromtimestamp(epoch_seconds, dt.timezone.utc).date().isoformat()


def ingest_date_of(path) -> str:
    """Ingest date (YYYY-MM-DD): ingest_date= folder, else epoch-ms in the name, else mtime."""
    path = Path(path)
    for part in reversed(path.parent.parts):
        match = _FOLDER_RE.fullmatch(part)
        if match:
            try:
                return dt.date.fromisoformat(match.group(1)).isoformat()
            except ValueError:
                pass
    digits = _EPOCH_MS_RE.findall(path.name)
    if digits:
        return _utc_date(int(digits[-1]) / 1000)
    return _utc_date(os.stat(path).st_mtime)


def landing_files(landing_root, source: str) -> list[Path]:
    """All ``.json`` / ``.json.gz`` files under ``<root>/<source>/landing``."""
    folder = Path(landing_root) / source / "landing"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz")))


def read_source(landing_root, source: str, max_file: int = MAX_FILE_BYTES, max_record: int = MAX_RECORD_BYTES):
    """Return ([(row, order)], quarantine Counter of (file name, record number)).

    A file over ``max_file`` bytes (once decompressed) is one invalid record, number 1, as is a gzip file that
    does not decompress."""
    records, quarantine = [], collections.Counter()
    for path in landing_files(landing_root, source):
        ingest_date = ingest_date_of(path)
        if path.stat().st_size > max_file:
            quarantine[(path.name, 1)] += 1
            continue
        content = path.read_bytes()
        if path.name.endswith(".gz"):
            try:
                with gzip.open(path) as stream:
                    content = stream.read(max_file + 1)
            except (OSError, EOFError):
                quarantine[(path.name, 1)] += 1
                continue
            if len(content) > max_file:
                quarantine[(path.name, 1)] += 1
                continue
        for number, row in parse_file(content, source, max_record):
            if row is None:
                quarantine[(path.name, number)] += 1
            else:
                records.append((row, (ingest_date, path.name, number, str(path))))
    return records, quarantine


def current_states(customer_records) -> dict[str, tuple]:
    """Customer key -> current state (greatest lastUpdateDate, then ingest order)."""
    best = {}
    for row, order in customer_records:
        last = row[_LAST_UPDATE]
        rank = (last is not None, last if last is not None else 0, order)
        key = customer_key(row[_EMAIL])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, row)
    return {key: row for key, (_, row) in best.items()}


def reference_tables(
    landing_root,
    ml_join="customer",
    consent_cutoff=False,
    pseudonym_key="test-key",
    held=frozenset(),
    max_file=MAX_FILE_BYTES,
    max_record=MAX_RECORD_BYTES,
    split_shares=(0.70, 0.15, 0.15),
) -> dict[str, collections.Counter]:
    """Compute every contract table (and quarantine counts) as Counters of tuples.

    ``held``: the deliveries, as (source, ingest date), that the caller knows are held (invariant 7): their
    records are landed, but none reaches a trusted or curated table, nor a customer's current state."""
    if ml_join not in ("customer", "timestamp"):
        raise ValueError(f"ml_join must be 'customer' or 'timestamp', not {ml_join!r}")
    out, landed = {}, {}
    for source in CONTRACT_FIELDS:
        records, out[f"{source}_quarantine"] = read_source(landing_root, source, max_file, max_record)
        out[f"{source}_landing"] = collections.Counter(row for row, _ in records)
        landed[source] = [(row, order) for row, order in records if (source, order[0]) not in held]

    consenting = {key: row for key, row in current_states(landed["customer"]).items() if row[_RESEARCH] is not None}
    out["customer_trusted"] = collections.Counter(consenting.values())

    def allowed(customer, reading_time):
        return not consent_cutoff or reading_time >= customer[_RESEARCH]

    accel_trusted = set()
    for row, _ in landed["accelerometer"]:
        customer = consenting.get(customer_key(row[0]))
        if customer is not None and allowed(customer, row[1]):
            accel_trusted.add(row)
    out["accelerometer_trusted"] = collections.Counter(accel_trusted)

    accel_keys = {customer_key(row[0]) for row in accel_trusted}
    curated = {key: row for key, row in consenting.items() if key in accel_keys}
    out["customer_curated"] = collections.Counter(curated.values())

    owners = collections.defaultdict(list)  # serialNumber -> [(key, customer row)]
    for key, row in curated.items():
        if row[_SERIAL] is not None:
            owners[row[_SERIAL]].append((key, row))
    step_trusted = {
        row for row, _ in landed["step_trainer"] if any(allowed(c, row[0]) for _, c in owners.get(row[1], ()))
    }
    out["step_trainer_trusted"] = collections.Counter(step_trusted)

    accel_index = collections.defaultdict(list)
    for row in accel_trusted:
        user_key = customer_key(row[0])
        index_key = (user_key, row[1]) if ml_join == "customer" else row[1]
        accel_index[index_key].append((user_key, row))
    ml = collections.Counter()
    for step in step_trusted:
        for owner_key, owner in owners[step[1]]:
            if not allowed(owner, step[0]):
                continue
            index_key = (owner_key, step[0]) if ml_join == "customer" else step[0]
            for user_key, accel in accel_index.get(index_key, ()):
                ml[step + accel[1:] + (pseudonym(owner_key, pseudonym_key), pseudonym(user_key, pseudonym_key))] += 1
    out["machine_learning_curated"] = ml
    out["training_set"] = collections.Counter(
        {row + (split_of(row[-2], pseudonym_key, split_shares),): n for row, n in ml.items()}
    )
    return out


def split_of(customer_id: str, pseudonym_key: str, shares) -> str:
    """A customer's training split: HMAC-SHA256 of "split:" + customer_id with the key, its first 52 bits read
    as a fraction of 1, against the shares' running sums (train, validation, test)."""
    digest = hmac.new(pseudonym_key.encode(), f"split:{customer_id}".encode(), hashlib.sha256).hexdigest()
    fraction = int(digest[:13], 16) / 16**13
    train, validation, _ = shares
    return "train" if fraction < train else "validation" if fraction < train + validation else "test"
