"""The contract's tables, defined once.

Spark read/write schemas, the landing parser's typing rules, the pandera
checks and the column metadata shown in the Dagster UI all derive from these
specs, so a column is never described twice.
"""

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

STRING = T.StringType()
LONG = T.LongType()
DOUBLE = T.DoubleType()

PARTITION_COLUMN = "ingest_date"
PARTITION_DESCRIPTION = (
    "Ingest date (YYYY-MM-DD) of the landing file the row came from: its ingest_date= folder, else the date of the "
    "epoch in its name, else its modification date (UTC). The table's partition."
)


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    spark_type: T.DataType
    description: str
    nullable: bool = True
    min_value: float | None = None
    pattern: str | None = None

    def value_rules(self) -> list[tuple[str, str]]:
        """Each rule a value of the column must meet: its name (as pandera names its checks, and the partition
        state counts its breaks) and its kind (`checks/schema.py` computes it)."""
        rules = [(f"{self.name}: not_nullable", "not_nullable")] if not self.nullable else []
        if self.min_value is not None:
            rules.append((f"{self.name}: greater_than_or_equal_to({self.min_value})", "min_value"))
        if self.pattern is not None:
            rules.append((f"{self.name}: str_matches('{self.pattern}')", "pattern"))
        return rules


@dataclass(frozen=True)
class TableSpec:
    name: str
    zone: str
    description: str
    columns: tuple[ColumnSpec, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def column_docs(self) -> dict[str, str]:
        """Each stored column's description, the partition column's included."""
        return {**{c.name: c.description for c in self.columns}, PARTITION_COLUMN: PARTITION_DESCRIPTION}

    @property
    def checked_columns(self) -> tuple[ColumnSpec, ...]:
        """The columns the schema check checks: the table's and the partition column."""
        return (*self.columns, PARTITION)

    @property
    def rule_names(self) -> list[str]:
        return [name for column in self.checked_columns for name, _ in column.value_rules()]

    @property
    def spark_schema(self) -> T.StructType:
        """The stored schema: the table's columns plus the ingest-date partition column."""
        fields = [T.StructField(c.name, c.spark_type, c.nullable) for c in self.columns]
        return T.StructType([*fields, T.StructField(PARTITION_COLUMN, STRING, False)])


def empty_frame(spark: SparkSession, schema: T.StructType) -> DataFrame:
    """No rows, planned in the JVM: `createDataFrame([])` would start Spark's Python workers (about a
    second) to turn an empty Python list into rows. Every column is nullable, as in any Parquet read."""
    return spark.range(0).select(*(F.lit(None).cast(field.dataType).alias(field.name) for field in schema))


PARTITION = ColumnSpec(PARTITION_COLUMN, STRING, PARTITION_DESCRIPTION, nullable=False, pattern=r"^\d{4}-\d{2}-\d{2}$")


def _epoch(name: str, what: str, nullable: bool = True) -> ColumnSpec:
    return ColumnSpec(name, LONG, f"{what}, epoch milliseconds UTC.", nullable)


CUSTOMER_FIELDS = (
    ColumnSpec("customerName", STRING, "Customer's full name (personal)."),
    ColumnSpec("email", STRING, "Customer's email (personal); trimmed and lower-cased it is the customer key.", False),
    ColumnSpec("phone", STRING, "Phone number as text (personal); numbers in old exports are converted."),
    ColumnSpec("birthDay", STRING, "Birth day as exported, YYYY-MM-DD (personal)."),
    ColumnSpec("serialNumber", STRING, "Serial number of the customer's step trainer."),
    _epoch("registrationDate", "When the customer registered"),
    _epoch("lastUpdateDate", "When this customer record was last updated; the latest wins"),
    _epoch("shareWithResearchAsOfDate", "Consent to share data for research since; null means no consent"),
    _epoch("shareWithPublicAsOfDate", "Consent to share publicly since"),
    _epoch("shareWithFriendsAsOfDate", "Consent to share with friends since"),
)
ACCELEROMETER_FIELDS = (
    ColumnSpec("user", STRING, "Email of the customer wearing the phone (personal).", False),
    _epoch("timestamp", "When the reading was taken", nullable=False),
    ColumnSpec("x", DOUBLE, "Acceleration along x."),
    ColumnSpec("y", DOUBLE, "Acceleration along y."),
    ColumnSpec("z", DOUBLE, "Acceleration along z."),
)
STEP_TRAINER_FIELDS = (
    _epoch("sensorReadingTime", "When the step trainer took the reading", nullable=False),
    ColumnSpec("serialNumber", STRING, "Serial number of the step trainer.", False),
    ColumnSpec("distanceFromObject", LONG, "Distance the sensor measured."),
)
SOURCE_FIELDS = {
    "customer": CUSTOMER_FIELDS,
    "accelerometer": ACCELEROMETER_FIELDS,
    "step_trainer": STEP_TRAINER_FIELDS,
}
# Per readings source, when a reading was taken: copies of a reading share it.
READING_TIME = {"accelerometer": "timestamp", "step_trainer": "sensorReadingTime"}

LINEAGE_COLUMNS = (
    ColumnSpec("source_file", STRING, "Name of the landing file the line came from.", False),
    ColumnSpec("line_number", LONG, "1-based line number in that file.", False, min_value=1),
)
QUARANTINE_COLUMNS = (
    *LINEAGE_COLUMNS,
    ColumnSpec("raw_text", STRING, "The line as landed, cut to 4096 characters.", False),
    ColumnSpec("reason", STRING, "Why the line is not a valid record.", False),
)
PSEUDONYM_PATTERN = r"^[0-9a-f]{64}$"

LANDING_TABLES = {
    source: TableSpec(
        f"{source}_landing",
        "landing",
        f"Every valid {source} record as it landed, typed, with the file and line it came from. "
        f"Invalid lines are in {source}_quarantine.",
        (*fields, *LINEAGE_COLUMNS),
    )
    for source, fields in SOURCE_FIELDS.items()
}
QUARANTINE_TABLES = {
    source: TableSpec(
        f"{source}_quarantine",
        "quarantine",
        f"Every non-blank {source} landing line that is not a valid record, with the reason.",
        QUARANTINE_COLUMNS,
    )
    for source in SOURCE_FIELDS
}
CUSTOMER_TRUSTED = TableSpec(
    "customer_trusted",
    "trusted",
    "The current state (latest lastUpdateDate) of every customer who consents to research; "
    "one row per customer key, in the partition of the record that holds that state.",
    CUSTOMER_FIELDS,
)
ACCELEROMETER_TRUSTED = TableSpec(
    "accelerometer_trusted",
    "trusted",
    "Distinct accelerometer readings of consenting customers, each in the earliest ingest date it landed.",
    ACCELEROMETER_FIELDS,
)
STEP_TRAINER_TRUSTED = TableSpec(
    "step_trainer_trusted",
    "trusted",
    "Distinct step trainer readings of devices that belong to a customer in customer_curated.",
    STEP_TRAINER_FIELDS,
)
CUSTOMER_CURATED = TableSpec(
    "customer_curated",
    "curated",
    "Trusted customers with at least one trusted accelerometer reading; one row per customer key.",
    CUSTOMER_FIELDS,
)
MACHINE_LEARNING_CURATED = TableSpec(
    "machine_learning_curated",
    "curated",
    "Each trusted step trainer reading beside the accelerometer readings of the same customer at the "
    "same millisecond. No direct personal data: customers appear as keyed pseudonyms.",
    (
        *STEP_TRAINER_FIELDS,
        _epoch("timestamp", "When the paired accelerometer reading was taken", nullable=False),
        *ACCELEROMETER_FIELDS[2:],
        ColumnSpec(
            "customer_id",
            STRING,
            "Pseudonym of the step trainer's owner (keyed SHA-256).",
            False,
            pattern=PSEUDONYM_PATTERN,
        ),
        ColumnSpec(
            "accelerometer_customer_id",
            STRING,
            "Pseudonym of the accelerometer's user; differs from customer_id only in ml_join=timestamp mode.",
            False,
            pattern=PSEUDONYM_PATTERN,
        ),
    ),
)
SPLITS = ("train", "validation", "test")
TRAINING_SET = TableSpec(
    "training_set",
    "curated",
    "Every machine_learning_curated row with the split it is for. The split is chosen per customer_id by a "
    "keyed hash: all of a customer's rows are in one split, and a customer never changes split as data grows.",
    (
        *MACHINE_LEARNING_CURATED.columns,
        ColumnSpec(
            "split",
            STRING,
            "train, validation or test: the customer's split, from a keyed hash of customer_id (default 70/15/15 "
            "of customers).",
            False,
            pattern=f"^({'|'.join(SPLITS)})$",
        ),
    ),
)
PERSONAL_COLUMNS = frozenset({"customerName", "email", "phone", "birthDay", "user"})
# Values never shown outside the table (no min/max in Iceberg's manifests, masked in previews): personal data,
# and a quarantined line, which may hold anything.
MASKED_COLUMNS = PERSONAL_COLUMNS | {"raw_text"}
ZONE_TABLES = (
    *LANDING_TABLES.values(),
    CUSTOMER_TRUSTED,
    ACCELEROMETER_TRUSTED,
    STEP_TRAINER_TRUSTED,
    CUSTOMER_CURATED,
    MACHINE_LEARNING_CURATED,
    TRAINING_SET,
)
ALL_TABLES = (*ZONE_TABLES, *QUARANTINE_TABLES.values())
