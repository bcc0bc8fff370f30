"""Tests for the pure-Python contract reference (reference.py).

Expected values are written by hand from shared/docs/data-contract.md.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from stedi_assets_tests.conftest import COLUMN_OPTIONS, CONTRACT_COUNTS, OPTION_COLUMNS
from stedi_assets_tests.reference import ingest_date_of, reference_tables

# --------------------------------------------------------------------------- starter data


@pytest.mark.parametrize("column", OPTION_COLUMNS)
def test_starter_data_counts(column, starter_data):
    out = reference_tables(starter_data, **COLUMN_OPTIONS[column])
    assert {table: sum(out[table].values()) for table in CONTRACT_COUNTS[column]} == CONTRACT_COUNTS[column]
    for source in ("customer", "accelerometer", "step_trainer"):
        assert out[f"{source}_quarantine"] == Counter()


# --------------------------------------------------------------------------- helpers


def write(root: Path, source: str, name: str, lines, ingest_date=None, newline=b"\n") -> Path:
    """Write landing lines (dicts -> JSON, str/bytes verbatim) and return the path."""
    folder = root / source / "landing"
    if ingest_date:
        folder = folder / f"ingest_date={ingest_date}"
    folder.mkdir(parents=True, exist_ok=True)
    raw = [json.dumps(x).encode() if isinstance(x, dict) else x.encode() if isinstance(x, str) else x for x in lines]
    data = newline.join(raw)
    path = folder / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def pid(key: str, secret: str = "test-key") -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def customer(name, email, serial, last, research, **extra) -> dict:
    return {
        "customerName": name,
        "email": email,
        "phone": "8015551212",
        "birthDay": "1990-01-01",
        "serialNumber": serial,
        "registrationDate": 1,
        "lastUpdateDate": last,
        "shareWithResearchAsOfDate": research,
        **extra,
    }


def customer_row(name, email, serial, last, research) -> tuple:
    return (name, email, "8015551212", "1990-01-01", serial, 1, last, research, None, None)


# --------------------------------------------------------------------------- landing typing


def test_customer_landing_typing_and_quarantine(tmp_path):
    name = "customer-1691348231425.json"
    write(
        tmp_path,
        "customer",
        name,
        [
            '{"customerName": "Ann A", "email": "Ann@x.com", "phone": 8015551212, '
            '"birthDay": "993-01-01", "serialNumber": "s-a", "registrationDate": 1655564376361.0, '
            '"lastUpdateDate": 1655564376361, "shareWithResearchAsOfDate": 1655564376361, '
            '"favouriteColour": "blue", "nested": {"a": [1, 2]}}',  # 1 valid
            "",  # 2 blank
            "   \t ",  # 3 blank
            '{"email": "bob@x.com", "lastUpdateDate": 1655564376361.5}',  # 4 fractional
            '{"email": "cat@x.com", "lastUpdateDate": "1655564376361"}',  # 5 string for int
            '{"customerName": "No Email", "phone": "1"}',  # 6 missing key
            '{"email": null, "phone": "1"}',  # 7 null key
            '{"email": "dan@x.com", "phone": true}',  # 8 bool for str
            '[{"email": "arr@x.com"}]',  # 9 not an object
            '{"EMAIL": "eve@x.com", "Phone": 8015551212.50, "SHAREwithPublicAsOfDate": 5}',  # 10
            '{"email": "fay@x.com", "birthDay": {"y": 1990}}',  # 11 object for str
            '{"email": "hal@x.com", "registrationDate": NaN}',  # 12 NaN literal
            b'{"email": "\xff@x.com"}',  # 13 bad UTF-8
            '{"email": "ivy@x.com", "lastUpdateDate": true}',  # 14 bool for int
            '{"email": "gus@x.com", "phone": "80',  # 15 truncated
        ],
    )
    out = reference_tables(tmp_path)
    assert out["customer_landing"] == Counter(
        {
            (
                "Ann A",
                "Ann@x.com",
                "8015551212",
                "993-01-01",
                "s-a",
                1655564376361,
                1655564376361,
                1655564376361,
                None,
                None,
            ): 1,
            (None, "eve@x.com", "8015551212.50", None, None, None, None, None, 5, None): 1,
        }
    )
    row = next(r for r in out["customer_landing"] if r[1] == "Ann@x.com")
    assert [type(v) for v in row[:8]] == [str] * 5 + [int] * 3
    assert out["customer_quarantine"] == Counter({(name, n): 1 for n in (4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15)})


def test_accelerometer_landing_typing(tmp_path):
    name = "accelerometer-1691348231445.json"
    write(
        tmp_path,
        "accelerometer",
        name,
        [
            '{"user": "ann@x.com", "timeStamp": 1655564444103, "x": 1, "y": -1.5, "z": 0}',  # 1
            '{"user": "ann@x.com", "timestamp": 1655564444103.0, "x": 1.0, "y": true}',  # 2 bool
            '{"user": "ann@x.com", "x": 1.0}',  # 3 no ts
            '{"user": "ann@x.com", "timestamp": 1655564444104, "x": "1.0"}',  # 4 str
            '{"user": "ann@x.com", "timestamp": 1655564444105, "x": Infinity}',  # 5 inf
            '{"user": "ann@x.com", "timestamp": 1655564444106, "x": 1, "y": 2, "z": 3, "extra": [1, {"a": null}]}',  # 6
            '{"User": "ann@x.com", "TIMESTAMP": 1.655564444107e12, "x": null}',  # 7
            '{"timestamp": 1655564444108, "x": 1, "y": 2, "z": 3}',  # 8 no user
        ],
    )
    out = reference_tables(tmp_path)
    assert out["accelerometer_landing"] == Counter(
        {
            ("ann@x.com", 1655564444103, 1.0, -1.5, 0.0): 1,
            ("ann@x.com", 1655564444106, 1.0, 2.0, 3.0): 1,
            ("ann@x.com", 1655564444107, None, None, None): 1,
        }
    )
    row = next(r for r in out["accelerometer_landing"] if r[1] == 1655564444103)
    assert [type(v) for v in row] == [str, int, float, float, float]
    assert out["accelerometer_quarantine"] == Counter({(name, n): 1 for n in (2, 3, 4, 5, 8)})


def test_step_trainer_landing_typing_crlf_and_gzip(tmp_path):
    name = "step_trainer-1691348232038.json.gz"
    write(
        tmp_path,
        "step_trainer",
        name,
        [
            '{"sensorReadingTime": 1655564444103, "serialNumber": "s-a", "distanceFromObject": 218}',
            '{"sensorReadingTime": 1655564444103, "serialNumber": 12345, "distanceFromObject": 218.0}',
            '{"sensorReadingTime": 1655564444103, "serialNumber": "s-a", "distanceFromObject": 218.4}',
            '{"serialNumber": "s-a", "distanceFromObject": 1}',
            '{"sensorReadingTime": 1655564444109, "serialNumber": "s-b"}',
            "",
        ],
        newline=b"\r\n",
    )
    out = reference_tables(tmp_path)
    assert out["step_trainer_landing"] == Counter(
        {
            (1655564444103, "s-a", 218): 1,
            (1655564444103, "12345", 218): 1,
            (1655564444109, "s-b", None): 1,
        }
    )
    assert out["step_trainer_quarantine"] == Counter({(name, 3): 1, (name, 4): 1})


def test_line_splitting_follows_bytes_splitlines(tmp_path):
    # A raw U+2028 inside a string is not a line break for bytes.splitlines(); a lone \r is.
    write(
        tmp_path,
        "customer",
        "c.json",
        [
            '{"email": "k\u2028@x.com"}'.encode(),
            b'{"email": "l@x.com"}\r{"email": "m@x.com"}',
            b'{"email": "n@x.com"}\r\n',
        ],
    )
    out = reference_tables(tmp_path)
    emails = sorted(row[1] for row in out["customer_landing"])
    assert emails == ["k\u2028@x.com", "l@x.com", "m@x.com", "n@x.com"]
    assert out["customer_quarantine"] == Counter()


def test_only_json_and_json_gz_files_are_read(tmp_path):
    write(tmp_path, "customer", "notes.txt", ["not json at all"])
    write(tmp_path, "customer", "customer.json.tmp", ["{broken"])
    write(tmp_path, "customer", "customer.json", [customer("A", "a@x.com", "s", 1, 1)])
    out = reference_tables(tmp_path)
    assert sum(out["customer_landing"].values()) == 1
    assert out["customer_quarantine"] == Counter()


# --------------------------------------------------------------------------- ingest date


def test_ingest_date_of(tmp_path):
    in_folder = write(tmp_path, "customer", "customer-1691348231425.json", ["{}"], "2024-02-29")
    assert ingest_date_of(in_folder) == "2024-02-29"  # folder wins over the name
    named = write(tmp_path, "customer", "customer-1691348231425.json", ["{}"])
    assert ingest_date_of(named) == "2023-08-06"
    gz = write(tmp_path, "customer", "customer-1691366399999.json.gz", ["{}"])
    assert ingest_date_of(gz) == "2023-08-06"  # 23:59:59.999 UTC
    plain = write(tmp_path, "customer", "customers.json", ["{}"])
    os.utime(plain, (1614859200, 1614859200))  # 2021-03-04T12:00:00Z
    assert ingest_date_of(plain) == "2021-03-04"


# --------------------------------------------------------------------------- tables

A = customer_row("Ann", " Ann@X.com ", "s-a", 1000, 1000)
B_NEW = customer_row("Bob New", "bob@x.com", "s-b", 2000, 1500)
E = customer_row("Eve", "eve@x.com", "s-e", 1000, 1000)
F = customer_row("Fay", "fay@x.com", "s-f", 1000, 5000)
ACCEL = [  # (user, timestamp, x, y, z)
    ("Ann@X.com", 1200, 1.0, 0.0, 0.0),
    ("Ann@X.com", 900, 0.0, 0.0, 0.0),  # before Ann's consent
    ("bob@x.com", 1200, 0.0, 1.0, 0.0),  # same millisecond as Ann's step reading
    ("bob@x.com", 1600, 0.0, 0.0, 1.0),
    ("bob@x.com", 1400, 1.0, 1.0, 0.0),  # before Bob's (current) consent
    ("cat@x.com", 1200, 2.0, 0.0, 0.0),  # consent withdrawn
    ("dan@x.com", 1200, 3.0, 0.0, 0.0),  # never consented
    ("zed@x.com", 1200, 4.0, 0.0, 0.0),  # unknown customer
    ("fay@x.com", 1300, 5.0, 0.0, 0.0),  # before Fay's consent
]
STEPS = [  # (sensorReadingTime, serialNumber, distanceFromObject)
    (1200, "s-a", 10),
    (900, "s-a", 11),
    (1700, "s-a", 16),
    (1600, "s-b", 12),
    (1400, "s-b", 13),
    (1200, "s-c", 14),
    (1200, "s-e", 15),
    (1300, "s-f", 17),
]


@pytest.fixture
def scenario(tmp_path):
    write(
        tmp_path,
        "customer",
        "customers.json",
        [
            customer("Ann", " Ann@X.com ", "s-a", 1000, 1000),
            customer("Bob", "bob@x.com", "s-b", 1000, 1000),
            customer("Cat", "cat@x.com", "s-c", 1000, 1000),
            customer("Dan", "dan@x.com", "s-d", 1000, None),
            customer("Eve", "eve@x.com", "s-e", 1000, 1000),
            customer("Fay", "fay@x.com", "s-f", 1000, 5000),
        ],
        "2023-08-01",
    )
    write(
        tmp_path,
        "customer",
        "customers.json",
        [
            customer("Ann Stale", "ann@x.com", "s-a", 500, None),  # older update, later file
            customer("Cat", "cat@x.com", "s-c", 2000, None),  # consent withdrawn
            customer("Bob New", "bob@x.com", "s-b", 2000, 1500),
        ],
        "2023-08-02",
    )
    accel_lines = [dict(zip(["user", "timestamp", "x", "y", "z"], r)) for r in ACCEL]
    accel_lines.append('{"user": "ann@x.com", "timestamp": 12')  # truncated last line
    for day in ("2023-08-01", "2023-08-02"):  # same file delivered twice
        write(tmp_path, "accelerometer", "accel.json", accel_lines, day)
    write(
        tmp_path,
        "step_trainer",
        "steps.json",
        [dict(zip(["sensorReadingTime", "serialNumber", "distanceFromObject"], r)) for r in STEPS],
    )
    return tmp_path


def test_scenario_landing_and_quarantine(scenario):
    out = reference_tables(scenario)
    assert sum(out["customer_landing"].values()) == 9
    assert out["accelerometer_landing"] == Counter({row: 2 for row in ACCEL})
    assert out["step_trainer_landing"] == Counter(STEPS)
    assert out["accelerometer_quarantine"] == Counter({("accel.json", 10): 2})
    assert out["customer_quarantine"] == out["step_trainer_quarantine"] == Counter()


def test_scenario_default(scenario):
    out = reference_tables(scenario)
    assert out["customer_trusted"] == Counter([A, B_NEW, E, F])
    assert out["accelerometer_trusted"] == Counter([ACCEL[i] for i in (0, 1, 2, 3, 4, 8)])
    assert out["customer_curated"] == Counter([A, B_NEW, F])
    assert out["step_trainer_trusted"] == Counter(
        [
            (1200, "s-a", 10),
            (900, "s-a", 11),
            (1700, "s-a", 16),
            (1600, "s-b", 12),
            (1400, "s-b", 13),
            (1300, "s-f", 17),
        ]
    )
    a, b, f = pid("ann@x.com"), pid("bob@x.com"), pid("fay@x.com")
    assert out["machine_learning_curated"] == Counter(
        [
            (1200, "s-a", 10, 1200, 1.0, 0.0, 0.0, a, a),
            (900, "s-a", 11, 900, 0.0, 0.0, 0.0, a, a),
            (1600, "s-b", 12, 1600, 0.0, 0.0, 1.0, b, b),
            (1400, "s-b", 13, 1400, 1.0, 1.0, 0.0, b, b),
            (1300, "s-f", 17, 1300, 5.0, 0.0, 0.0, f, f),
        ]
    )


def test_scenario_ml_join_timestamp_adds_cross_customer_pair(scenario):
    default = reference_tables(scenario)
    out = reference_tables(scenario, ml_join="timestamp", pseudonym_key="other")
    for table in set(CONTRACT_COUNTS["default"]) - {"machine_learning_curated", "training_set"}:
        assert out[table] == default[table]
    a, b, f = pid("ann@x.com", "other"), pid("bob@x.com", "other"), pid("fay@x.com", "other")
    assert out["machine_learning_curated"] == Counter(
        [
            (1200, "s-a", 10, 1200, 1.0, 0.0, 0.0, a, a),
            (1200, "s-a", 10, 1200, 0.0, 1.0, 0.0, a, b),  # Ann's trainer, Bob's accelerometer
            (900, "s-a", 11, 900, 0.0, 0.0, 0.0, a, a),
            (1600, "s-b", 12, 1600, 0.0, 0.0, 1.0, b, b),
            (1400, "s-b", 13, 1400, 1.0, 1.0, 0.0, b, b),
            (1300, "s-f", 17, 1300, 5.0, 0.0, 0.0, f, f),
        ]
    )


def test_scenario_consent_cutoff(scenario):
    out = reference_tables(scenario, consent_cutoff=True)
    assert out["customer_trusted"] == Counter([A, B_NEW, E, F])
    assert out["accelerometer_trusted"] == Counter([ACCEL[0], ACCEL[3]])
    assert out["customer_curated"] == Counter([A, B_NEW])
    assert out["step_trainer_trusted"] == Counter([(1200, "s-a", 10), (1700, "s-a", 16), (1600, "s-b", 12)])
    a, b = pid("ann@x.com"), pid("bob@x.com")
    expected_ml = Counter([(1200, "s-a", 10, 1200, 1.0, 0.0, 0.0, a, a), (1600, "s-b", 12, 1600, 0.0, 0.0, 1.0, b, b)])
    assert out["machine_learning_curated"] == expected_ml
    both = reference_tables(scenario, consent_cutoff=True, ml_join="timestamp")
    assert both["machine_learning_curated"] == expected_ml


def test_current_state_tie_breaks(tmp_path):
    write(tmp_path, "customer", "b.json", [customer("G1", "g@x.com", "s", 3000, 1)], "2023-08-01")
    write(tmp_path, "customer", "a.json", [customer("G2", "g@x.com", "s", 3000, 1)], "2023-08-02")
    write(
        tmp_path,
        "customer",
        "a.json",
        [
            customer("H1", "h@x.com", "s", 3000, 1),
            customer("I1", "i@x.com", "s", 3000, 1),
            customer("I2", "I@X.COM", "s", 3000, 1),
            customer("J1", "j@x.com", "s", 0, 1),
            customer("K1", "k@x.com", "s", None, 1),
        ],
        "2023-07-01",
    )
    write(
        tmp_path,
        "customer",
        "b.json",
        [
            customer("H2", "h@x.com", "s", 3000, 1),
            customer("J2", "j@x.com", "s", None, 1),  # null sorts below 0, later file or not
            customer("K2", "k@x.com", "s", None, 1),  # all null: later file wins
        ],
        "2023-07-01",
    )
    out = reference_tables(tmp_path)
    assert out["customer_trusted"] == Counter(
        [
            customer_row("G2", "g@x.com", "s", 3000, 1),
            customer_row("H2", "h@x.com", "s", 3000, 1),
            customer_row("I2", "I@X.COM", "s", 3000, 1),
            customer_row("J1", "j@x.com", "s", 0, 1),
            customer_row("K2", "k@x.com", "s", None, 1),
        ]
    )
    assert out["customer_curated"] == Counter()
    assert out["machine_learning_curated"] == Counter()


def test_shared_serial_and_missing_root(tmp_path):
    # Two curated customers share a serial: each owner gets its own ML row in timestamp mode.
    write(
        tmp_path,
        "customer",
        "c.json",
        [customer("P", "p@x.com", "s-1", 1, 100), customer("Q", "q@x.com", "s-1", 1, 300)],
    )
    write(
        tmp_path,
        "accelerometer",
        "a.json",
        [{"user": "p@x.com", "timestamp": 200}, {"user": "q@x.com", "timestamp": 400}],
    )
    write(tmp_path, "step_trainer", "s.json", [{"sensorReadingTime": 200, "serialNumber": "s-1"}])
    p, q = pid("p@x.com"), pid("q@x.com")
    out = reference_tables(tmp_path, ml_join="timestamp")
    assert out["machine_learning_curated"] == Counter(
        [(200, "s-1", None, 200, None, None, None, p, p), (200, "s-1", None, 200, None, None, None, q, p)]
    )
    cut = reference_tables(tmp_path, ml_join="timestamp", consent_cutoff=True)
    assert cut["step_trainer_trusted"] == Counter([(200, "s-1", None)])  # passes for P
    assert cut["machine_learning_curated"] == Counter([(200, "s-1", None, 200, None, None, None, p, p)])
    empty = reference_tables(tmp_path / "nowhere")
    assert all(sum(v.values()) == 0 for v in empty.values())
