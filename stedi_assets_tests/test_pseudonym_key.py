"""The pseudonym key: where it comes from, that it is nobody else's, and the HMAC the ids are made with."""

import hashlib
import hmac
import stat
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pyspark.sql import functions as F

from stedi_assets import pseudonym_key
from stedi_assets.cli import main
from stedi_assets.sample import write_sample_landing
from stedi_assets.transforms.curated import pseudonym, split_of
from stedi_assets_tests.lake_contents import current_snapshots, table_rows
from stedi_assets_tests.reference import customer_key
from stedi_assets_tests.reference import pseudonym as reference_pseudonym

pytest_plugins = ["stedi_assets_tests.aws"]


@pytest.fixture
def no_key_configured(monkeypatch):
    for name in (pseudonym_key.KEY_ENV, pseudonym_key.FILE_ENV, pseudonym_key.SECRET_ENV, pseudonym_key.FIELD_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def installation(monkeypatch, folder) -> None:
    monkeypatch.setenv(pseudonym_key.CONFIG_ENV, str(folder))


@pytest.mark.parametrize(
    "key, customer",
    [
        ("k", "ann@x.com"),
        ("a key longer than one SHA-256 block of sixty-four bytes, so it is hashed first", "b@y.z"),
        ("clé", "zoë@exämple.com"),
    ],
)
def test_the_pseudonym_is_hmac_sha256_of_the_customer_key(spark, key, customer):
    (row,) = spark.range(1).select(pseudonym(F.lit(customer), key).alias("id")).collect()
    assert row["id"] == hmac.new(key.encode(), customer.encode(), hashlib.sha256).hexdigest()


def plan_text(frame) -> str:
    """Every plan Spark keeps of a frame (parsed, analyzed, optimized, physical), as its UI and event logs
    show them, after the frame ran."""
    frame.collect()
    return frame._jdf.queryExecution().toString()


def secrets_in(text: str, key: str) -> list[str]:
    """The key, or one of its HMAC pads (the key XOR 0x36 / 0x5C over a 64-byte block), as `text` may hold it:
    as text, as hex, or as the byte list Spark prints for a binary literal."""
    block = key.encode().ljust(64, b"\0")
    pads = [bytes(b ^ pad for b in block) for pad in (0x36, 0x5C)]
    forms = [key] + [
        form for pad in pads for form in (pad.hex(), pad.hex().upper(), ",".join(f"{b:X}" for b in pad[:8]))
    ]
    return [form for form in forms if form in text]


def test_the_key_is_in_no_query_plan(spark):
    key = "a-key-only-this-test-knows-7f3a"
    frame = spark.createDataFrame([("ann@x.com",)], "email string")
    ids = frame.select(pseudonym(F.col("email"), key).alias("customer_id"))
    splits = ids.select(split_of(F.col("customer_id"), key, (0.7, 0.15, 0.15)))
    assert not secrets_in(plan_text(ids), key) and not secrets_in(plan_text(splits), key)
    # The search finds a pad where a plan holds one as a literal, as the ids made with Spark's SHA-256 did.
    inner_pad = bytes(b ^ 0x36 for b in key.encode().ljust(64, b"\0"))
    assert secrets_in(plan_text(frame.select(F.sha2(F.concat(F.lit(inner_pad), F.encode("email", "UTF-8")), 256))), key)


def test_an_installation_generates_its_key_once_readable_by_its_owner_only(no_key_configured, tmp_path, capsys):
    installation(no_key_configured, tmp_path / "one")
    first = pseudonym_key.local_pseudonym_key()
    assert str(tmp_path / "one" / "pseudonym.key") in capsys.readouterr().err  # it says where, once
    assert pseudonym_key.local_pseudonym_key() == first and capsys.readouterr().err == ""
    assert stat.S_IMODE((tmp_path / "one" / "pseudonym.key").stat().st_mode) == 0o600
    installation(no_key_configured, tmp_path / "two")
    assert pseudonym_key.local_pseudonym_key() != first
    assert len(bytes.fromhex(first)) == 32


def test_first_runs_at_once_agree_on_one_whole_key(no_key_configured, tmp_path):
    """Runs starting together on a fresh installation (the two-writers test's CLI runs do) never read a key
    file another one is still writing."""
    for attempt in range(20):
        installation(no_key_configured, tmp_path / str(attempt))
        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(lambda _: pseudonym_key.local_pseudonym_key(), range(8)))
        (key,) = keys
        assert len(bytes.fromhex(key)) == 32
        assert [path.name for path in (tmp_path / str(attempt)).iterdir()] == ["pseudonym.key"]


def test_a_configured_key_wins(no_key_configured, tmp_path, moto_env, moto_client):
    installation(no_key_configured, tmp_path / "config")
    key_file = tmp_path / "key"
    key_file.write_text("from-a-file\n")
    secret = f"stedi/pseudonym-key-{uuid.uuid4().hex}"  # the moto server is the test session's: a name of its own
    moto_client("secretsmanager").create_secret(Name=secret, SecretString="from-a-secret")
    no_key_configured.setenv(pseudonym_key.SECRET_ENV, secret)
    assert pseudonym_key.local_pseudonym_key() == "from-a-secret"
    no_key_configured.setenv(pseudonym_key.FILE_ENV, str(key_file))
    assert pseudonym_key.local_pseudonym_key() == "from-a-file"
    no_key_configured.setenv(pseudonym_key.KEY_ENV, "from-the-environment")
    assert pseudonym_key.local_pseudonym_key() == "from-the-environment"
    assert pseudonym_key.local_pseudonym_key("given") == "given"
    assert not (tmp_path / "config").exists()  # nothing generated


def test_a_key_value_secret_needs_the_field_named(no_key_configured, tmp_path, moto_env, moto_client):
    """The console's default secret type is key/value: its JSON used whole would give other pseudonyms."""
    installation(no_key_configured, tmp_path / "config")
    secret = f"stedi/pseudonym-key-{uuid.uuid4().hex}"
    moto_client("secretsmanager").create_secret(Name=secret, SecretString='{"key": "from-a-field", "note": "x"}')
    no_key_configured.setenv(pseudonym_key.SECRET_ENV, secret)
    with pytest.raises(ValueError, match=f"the secret {secret} holds key/value pairs: name the field"):
        pseudonym_key.local_pseudonym_key()
    no_key_configured.setenv(pseudonym_key.FIELD_ENV, "key")
    assert pseudonym_key.local_pseudonym_key() == "from-a-field"
    no_key_configured.setenv(pseudonym_key.FIELD_ENV, "missing")
    with pytest.raises(ValueError, match="has no text field 'missing'"):
        pseudonym_key.local_pseudonym_key()
    assert not (tmp_path / "config").exists()  # no key generated in its place


def ids_and_expected(lake, key: str) -> tuple[set[str], set[str]]:
    """machine_learning_curated's customer ids, and the HMACs with `key` of the curated customers' keys."""
    ids = {row["customer_id"] for row in table_rows(lake, "machine_learning_curated")}
    curated = {customer_key(row["email"]) for row in table_rows(lake, "customer_curated")}
    return ids, {reference_pseudonym(customer, key) for customer in curated}


@pytest.mark.slow
def test_two_installations_give_other_ids_and_one_lake_keeps_its_own(no_key_configured, tmp_path, spark, capsys):
    landing = tmp_path / "landing"
    write_sample_landing(landing, customers=20, seed=6, ingest_dates=2)
    ids = {}
    for name in ("one", "two"):
        installation(no_key_configured, tmp_path / name)
        assert main(["materialize", "--landing", str(landing), "--lake", str(tmp_path / f"lake-{name}")]) == 0
        key = (tmp_path / name / "pseudonym.key").read_text().strip()
        ids[name], expected = ids_and_expected(tmp_path / f"lake-{name}", key)
        assert ids[name] and ids[name] <= expected
    assert not ids["one"] & ids["two"]

    # A later delivery recomputes lake one's machine_learning_curated, with the same installation's key.
    before = current_snapshots(tmp_path / "lake-one")["machine_learning_curated"]
    write_sample_landing(tmp_path / "more", customers=20, seed=6, ingest_dates=3)
    latest = max(folder.name for folder in (tmp_path / "more").glob("*/landing/ingest_date=*"))
    for folder in (tmp_path / "more").glob(f"*/landing/{latest}"):
        folder.rename(landing / folder.relative_to(tmp_path / "more"))
    installation(no_key_configured, tmp_path / "one")
    assert main(["materialize", "--landing", str(landing), "--lake", str(tmp_path / "lake-one")]) == 0
    assert current_snapshots(tmp_path / "lake-one")["machine_learning_curated"] != before
    key = (tmp_path / "one" / "pseudonym.key").read_text().strip()
    after, expected = ids_and_expected(tmp_path / "lake-one", key)
    assert after and after <= expected
