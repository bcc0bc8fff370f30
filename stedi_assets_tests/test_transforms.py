"""Zone transforms on small hand-built tables; expected rows are worked out from the contract by hand."""

import hashlib
import hmac

import pytest
from pyspark.sql import functions as F

from stedi_assets.schemas.tables import LANDING_TABLES
from stedi_assets.transforms import curated, trusted

CUSTOMER = LANDING_TABLES["customer"].spark_schema
ACCELEROMETER = LANDING_TABLES["accelerometer"].spark_schema
STEP_TRAINER = LANDING_TABLES["step_trainer"].spark_schema


def customer(email, serial, updated, research, ingest_date="2024-01-01", file="c-1.json", line=1):
    return (
        f"Name {email}",
        email,
        "801",
        "1990-01-01",
        serial,
        1,
        updated,
        research,
        None,
        None,
        file,
        line,
        ingest_date,
    )


def reading(user, timestamp, x=0.0, ingest_date="2024-01-01", file="a-1.json", line=1):
    return (user, timestamp, x, 0.0, 0.0, file, line, ingest_date)


def step(serial, time, distance=200, ingest_date="2024-01-01", file="s-1.json", line=1):
    return (time, serial, distance, file, line, ingest_date)


def emails(frame):
    return sorted((row["email"], row["ingest_date"]) for row in frame.collect())


@pytest.fixture
def customers(spark):
    return spark.createDataFrame(
        [
            customer("ann@x.com", "S1", 10, 5),
            customer(" ANN@x.com ", "S1", 20, None, "2024-01-02"),  # withdraws later
            customer("bob@x.com", "S2", 10, None),
            customer("bob@x.com", "S2", 30, 25, "2024-01-02"),  # grants later
            customer("cid@x.com", "S3", 50, 40),
            customer("cid@x.com", "S3", 45, None, "2024-01-03"),  # stale update: must not win
            customer("dan@x.com", "S4", 7, 1, file="c-1.json", line=1),
            customer("dan@x.com", "S4", 7, None, file="c-1.json", line=2),  # tie: the later line wins
        ],
        CUSTOMER,
    )


def test_customer_trusted_is_the_consenting_current_state(customers):
    assert emails(trusted.customer_trusted(customers)) == [("bob@x.com", "2024-01-02"), ("cid@x.com", "2024-01-01")]


def test_the_customer_key_is_lower_cased_by_the_jvms_rules_on_every_spark(spark):
    """Glue 5 and EMR 7 run Spark 3.5, which lower-cases by the JVM's rules (`String.toLowerCase`, Java 17 there);
    on Spark 4 an email must give the same key where the same Java runs, or it is two customers across a laptop
    and AWS. Spark 4's default, ICU 76's Unicode 16 tables, lower-cases letters the JDK does not know as cased:
    `Ⱟ` (Unicode 14) for Java 17, `Ɤ` (Unicode 16) for Java 17 to 23."""
    addresses = ["Ⱟ@x.com", "\ua7cb@x.com", "ÀNNA@X.COM", " İris@x.com\t", "ΟΔΟΣ@x.gr", "plain@x.com"]
    frame = spark.createDataFrame([(address,) for address in addresses], "email string")
    keys = [row["key"] for row in frame.select(trusted.customer_key(F.col("email")).alias("key")).collect()]
    jdk = spark._jvm.org.apache.commons.lang3.StringUtils  # lowerCase(s): s.toLowerCase(), in the JDK
    assert keys == [jdk.lowerCase(address.strip()) for address in addresses]


def test_readings_are_distinct_consenting_and_in_their_first_ingest_date(spark, customers):
    landing = spark.createDataFrame(
        [
            reading("BOB@x.com", 30, ingest_date="2024-01-03"),
            reading("BOB@x.com", 30, ingest_date="2024-01-02", line=7),  # same reading delivered twice
            reading("bob@x.com", 20),  # before bob's consent date (25)
            reading("ann@x.com", 30),  # ann withdrew
            reading("eve@x.com", 30),  # unknown customer
        ],
        ACCELEROMETER,
    )
    customer_trusted = trusted.customer_trusted(customers)
    rows = trusted.accelerometer_trusted(landing, customer_trusted, consent_cutoff=False).collect()
    assert sorted((r["user"], r["timestamp"], r["ingest_date"]) for r in rows) == [
        ("BOB@x.com", 30, "2024-01-02"),
        ("bob@x.com", 20, "2024-01-01"),
    ]
    cut = trusted.accelerometer_trusted(landing, customer_trusted, consent_cutoff=True).collect()
    assert [(r["user"], r["timestamp"]) for r in cut] == [("BOB@x.com", 30)]


@pytest.mark.parametrize(
    "dates, expected",
    [
        (["2024-01-01"], [("bob@x.com", 30, None, "2024-01-01")]),
        (["2024-01-03"], [("bob@x.com", 40, 1.0, "2024-01-03"), ("bob@x.com", 40, 2.0, "2024-01-03")]),
        (
            ["2024-01-02", "2024-01-03"],
            [
                ("bob@x.com", 40, 1.0, "2024-01-03"),
                ("bob@x.com", 40, 2.0, "2024-01-03"),
                ("bob@x.com", 50, 0.0, "2024-01-02"),
            ],
        ),
    ],
)
@pytest.mark.parametrize("span_known", [False, True], ids=["span found by a job", "span from the landing state"])
def test_readings_of_some_ingest_dates_are_those_first_landed_there(
    spark, spark_jobs, customers, dates, expected, span_known
):
    """How an incremental run computes only the partitions it must: earlier copies still count, whether the time
    span of the dates' readings is found by a job or given (as the landing partitions' state keeps it)."""
    landed = [
        reading("bob@x.com", 30, x=None),  # no x: a copy must still be recognised as one
        reading("bob@x.com", 30, x=None, ingest_date="2024-01-03"),
        reading("bob@x.com", 40, x=1.0, ingest_date="2024-01-03"),
        reading("bob@x.com", 40, x=2.0, ingest_date="2024-01-03"),  # same time, another reading
        reading("bob@x.com", 50, ingest_date="2024-01-02"),
        reading("bob@x.com", 50, ingest_date="2024-01-03"),
        reading("ann@x.com", 40, ingest_date="2024-01-03"),  # ann withdrew
    ]
    landing = spark.createDataFrame(landed, ACCELEROMETER)
    times = [row[1] for row in landed if row[-1] in dates]
    span = (min(times), max(times)) if span_known else None
    customer_trusted = trusted.customer_trusted(customers)
    jobs = spark_jobs()
    planned = trusted.accelerometer_trusted(landing, customer_trusted, consent_cutoff=False, dates=dates, span=span)
    assert spark_jobs() - jobs == (0 if span_known else 1)  # the span's job, unless given
    rows = planned.collect()
    assert sorted((r["user"], r["timestamp"], r["x"], r["ingest_date"]) for r in rows) == expected


def test_curated_customers_need_a_trusted_reading_and_their_devices_select_step_readings(spark, customers):
    customer_trusted = trusted.customer_trusted(customers)
    readings = spark.createDataFrame([reading("bob@x.com", 30)], ACCELEROMETER).drop("source_file", "line_number")
    customer_curated = curated.customer_curated(customer_trusted, readings)
    assert emails(customer_curated) == [("bob@x.com", "2024-01-02")]

    steps = spark.createDataFrame(
        [step("S2", 30), step("S2", 30, ingest_date="2024-01-02"), step("S2", 10), step("S3", 30)], STEP_TRAINER
    )
    rows = trusted.step_trainer_trusted(steps, customer_curated, consent_cutoff=False).collect()
    assert sorted((r["serialNumber"], r["sensorReadingTime"], r["ingest_date"]) for r in rows) == [
        ("S2", 10, "2024-01-01"),
        ("S2", 30, "2024-01-01"),
    ]
    cut = trusted.step_trainer_trusted(steps, customer_curated, consent_cutoff=True).collect()
    assert [(r["serialNumber"], r["sensorReadingTime"]) for r in cut] == [("S2", 30)]


def test_machine_learning_pairs_only_the_same_customer_unless_asked_for_timestamp_mode(spark):
    owners = spark.createDataFrame(
        [customer("ann@x.com", "S1", 1, 1), customer("bob@x.com", "S2", 1, 1)], CUSTOMER
    ).drop("source_file", "line_number")
    readings = spark.createDataFrame(
        [reading("Ann@x.com", 100, x=1.0), reading("bob@x.com", 100, x=2.0), reading("bob@x.com", 200, x=3.0)],
        ACCELEROMETER,
    ).drop("source_file", "line_number")
    steps = spark.createDataFrame([step("S1", 100), step("S2", 200)], STEP_TRAINER).drop("source_file", "line_number")

    def pseudonym(key):
        return hmac.new(b"k", key.encode(), hashlib.sha256).hexdigest()

    same_customer = curated.machine_learning_curated(steps, readings, owners, "customer", "k", False).collect()
    assert sorted((r["serialNumber"], r["timestamp"], r["x"], r["customer_id"]) for r in same_customer) == [
        ("S1", 100, 1.0, pseudonym("ann@x.com")),
        ("S2", 200, 3.0, pseudonym("bob@x.com")),
    ]
    by_time = curated.machine_learning_curated(steps, readings, owners, "timestamp", "k", False).collect()
    cross = [r for r in by_time if r["customer_id"] != r["accelerometer_customer_id"]]
    assert len(by_time) == 3
    assert [(r["serialNumber"], r["x"], r["accelerometer_customer_id"]) for r in cross] == [
        ("S1", 2.0, pseudonym("bob@x.com"))
    ]
    assert not {"email", "user", "customerName", "phone", "birthDay"} & set(same_customer[0].asDict())


@pytest.mark.parametrize("consent_cutoff", [False, True])
def test_a_shared_device_pairs_under_each_owner_from_their_own_consent_with_the_cutoff(spark, consent_cutoff):
    """Ann (consent at 100) and Bob (at 300) share device S1; step_trainer_trusted keeps its reading at 200,
    which Ann's consent covers. By time alone it pairs with Ann's phone reading at 200 under each owner, but
    the cutoff excludes readings taken before the customer's consent: Bob's row goes."""
    owners = spark.createDataFrame(
        [customer("ann@x.com", "S1", 1, 100), customer("bob@x.com", "S1", 1, 300)], CUSTOMER
    ).drop("source_file", "line_number")
    readings = spark.createDataFrame([reading("ann@x.com", 200)], ACCELEROMETER).drop("source_file", "line_number")
    steps = spark.createDataFrame([step("S1", 200)], STEP_TRAINER).drop("source_file", "line_number")

    rows = curated.machine_learning_curated(steps, readings, owners, "timestamp", "k", consent_cutoff).collect()
    owner_ids = sorted(r["customer_id"] for r in rows)
    ann, bob = (hmac.new(b"k", email.encode(), hashlib.sha256).hexdigest() for email in ("ann@x.com", "bob@x.com"))
    assert owner_ids == ([ann] if consent_cutoff else sorted([ann, bob]))


def test_unknown_ml_join_is_a_clear_error(spark):
    empty = spark.createDataFrame([], STEP_TRAINER)
    with pytest.raises(ValueError, match="ml_join must be one of"):
        curated.machine_learning_curated(empty, empty, empty, "nearest", "k", False)
