"""Landing files under an `s3://` root, on moto's server: the local listing rules, and the landing sensor."""

import dataclasses
import gzip
import hashlib
import json
import uuid

import dagster as dg
import pytest

from stedi_assets.landing_files import LandingFile, LandingLayoutError, files_fingerprint, list_landing_files
from stedi_assets_tests.test_sensors import process, tick

pytest_plugins = ["stedi_assets_tests.aws"]

READING = '{"user": "a@x.com", "timestamp": 1, "x": 0.0, "y": 0.0, "z": 0.0}\n'
CHANGED = '{"user": "a@x.com", "timestamp": 1, "x": 9.0, "y": 0.0, "z": 0.0}\n'  # same size, other content


@pytest.fixture
def s3(moto_client):
    return moto_client("s3")


@pytest.fixture
def bucket(s3, moto_env):
    """A fresh bucket per test; the code under test finds moto through the environment (`moto_env`)."""
    name = f"landing-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_an_s3_root_is_listed_by_the_same_rules_as_a_folder(s3, bucket, tmp_path):
    gzipped = gzip.compress(READING.encode(), mtime=0)
    tree = {
        "accelerometer/landing/ingest_date=2024-01-01/a.json": READING.encode(),
        "accelerometer/landing/ingest_date=2024-01-01/b.json.gz": gzipped,
        "accelerometer/landing/ingest_date=2024-01-01/_uploading.json": b"",
        "accelerometer/landing/ingest_date=2024-01-01/.hidden.json": b"",
        "accelerometer/landing/ingest_date=2024-01-01/notes.txt": b"",
        "accelerometer/landing/ingest_date=2024-01-01/nested/c.json": b"",
        "accelerometer/landing/elsewhere/d.json": b"",
        "accelerometer/landing/export-1700000000000.json": READING.encode(),
        "customer/landing/ingest_date=2024-01-01/c.json": b"",
    }
    for key, body in tree.items():
        s3.put_object(Bucket=bucket, Key=f"root/{key}", Body=body)
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(body)

    def listed(root: str) -> list[tuple[str, str, int]]:
        prefix = root.rstrip("/") + "/"
        return [(f.path.removeprefix(prefix), f.ingest_date, f.size) for f in list_landing_files(root, "accelerometer")]

    assert listed(f"s3://{bucket}/root") == listed(f"s3://{bucket}/root/") == listed(str(tmp_path))
    assert listed(f"s3://{bucket}/root") == [
        ("accelerometer/landing/export-1700000000000.json", "2023-11-14", len(READING)),
        ("accelerometer/landing/ingest_date=2024-01-01/a.json", "2024-01-01", len(READING)),
        ("accelerometer/landing/ingest_date=2024-01-01/b.json.gz", "2024-01-01", len(gzipped)),
    ]


def test_an_s3_file_carries_its_url_size_time_and_etag(s3, bucket):
    s3.put_object(Bucket=bucket, Key="step_trainer/landing/ingest_date=2024-01-03/s.json", Body=READING.encode())
    (file,) = list_landing_files(f"s3://{bucket}", "step_trainer")  # a root without a prefix
    head = s3.head_object(Bucket=bucket, Key="step_trainer/landing/ingest_date=2024-01-03/s.json")
    assert file == LandingFile(
        "step_trainer",
        f"s3://{bucket}/step_trainer/landing/ingest_date=2024-01-03/s.json",
        "2024-01-03",
        len(READING),
        int(head["LastModified"].timestamp()) * 1_000_000_000,
        hashlib.md5(READING.encode()).hexdigest(),
    )
    assert list_landing_files(f"s3://{bucket}/nothing-here", "step_trainer") == []


def test_a_missing_bucket_or_a_malformed_date_folder_is_a_one_line_layout_error(s3, bucket):
    with pytest.raises(
        LandingLayoutError, match="no-such-bucket-stedi/landing is not readable.*NoSuchBucket"
    ) as missing:
        list_landing_files("s3://no-such-bucket-stedi/landing", "customer")
    s3.put_object(Bucket=bucket, Key="landing/customer/landing/ingest_date=2024-13-01/c.json", Body=b"")
    with pytest.raises(LandingLayoutError, match="malformed ingest date folder 'ingest_date=2024-13-01'") as malformed:
        list_landing_files(f"s3://{bucket}/landing", "customer")
    assert "\n" not in str(missing.value) + str(malformed.value)


def test_the_etag_tells_same_size_rewrites_apart_and_local_fingerprints_are_unchanged():
    local = LandingFile("customer", "/landing/c.json", "2024-01-01", 3, 5)
    assert files_fingerprint([local]) == hashlib.sha256(b"/landing/c.json\x003\x005\n").hexdigest()
    first, second = (dataclasses.replace(local, path="s3://b/c.json", etag=etag) for etag in ("e1", "e2"))
    assert files_fingerprint([first]) != files_fingerprint([second])


def test_the_landing_sensor_hands_on_new_and_rewritten_s3_files_once(s3, bucket, instance, tmp_path, spark):
    root, lake = f"s3://{bucket}/landing", tmp_path / "lake"

    def land(date: str, name: str, body: str = READING):
        key = f"landing/accelerometer/landing/ingest_date={date}/{name}"
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode())

    land("2024-01-01", "a.json")
    first = tick(instance, root, lake)
    assert len(first.run_requests) == 1 and json.loads(first.cursor).keys() == {"accelerometer/2024-01-01"}
    assert instance.get_dynamic_partitions("ingest_date") == ["2024-01-01"]
    assert tick(instance, root, lake, first.cursor).skip_message == "no new or changed landing files"

    # Re-uploaded before the run read it: same key and size, new content, and most likely the same
    # LastModified second (S3's resolution), so only the ETag tells the two apart.
    land("2024-01-01", "a.json", CHANGED)
    second = tick(instance, root, lake, first.cursor)
    assert len(second.run_requests) == 1 and not second.dynamic_partitions_requests
    assert json.loads(second.cursor)["accelerometer/2024-01-01"] != json.loads(first.cursor)["accelerometer/2024-01-01"]
    process(spark, root, lake, "accelerometer", "2024-01-01")
    done = tick(instance, root, lake, second.cursor)
    assert done.skip_message == "no new or changed landing files" and json.loads(done.cursor) == {}

    land("2024-01-02", "b.json")
    land("2024-01-03", "_c.json")  # an upload still in flight
    third = tick(instance, root, lake, done.cursor)
    assert len(third.run_requests) == 1 and json.loads(third.cursor).keys() == {"accelerometer/2024-01-02"}
    assert instance.get_dynamic_partitions("ingest_date") == ["2024-01-01", "2024-01-02"]
    assert not tick(instance, root, lake, third.cursor).run_requests
