"""Where the lake's Iceberg tables are registered: one catalog per lake root, the same for Spark and Python.

- A local folder: Iceberg's JDBC catalog on a SQLite file in the folder (`catalog.db`), the data and
  metadata beside it. No server: the folder is the whole lake.
- An `s3://` root: the AWS Glue Data Catalog (Athena's catalog), with Iceberg's S3FileIO. Every client
  honours `AWS_ENDPOINT_URL`, so the same code runs against an S3 look-alike.

Spark and pyiceberg both name the catalog `lake`: a JDBC catalog keys its rows by that name.
"""

import gzip
import json
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

CATALOG = "lake"
DEFAULT_NAMESPACE = "stedi"
SQLITE_FILE = "catalog.db"


def _endpoint(service: str) -> str | None:
    """The endpoint AWS SDKs take from the environment: the service's own variable, else the global one."""
    return os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get("AWS_ENDPOINT_URL")


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


@dataclass(frozen=True)
class LakeCatalog:
    root: str  # a local folder (made absolute) or s3://bucket/prefix
    namespace: str = DEFAULT_NAMESPACE

    def __post_init__(self):
        root = self.root if self.on_s3 else os.path.abspath(self.root)
        object.__setattr__(self, "root", root.rstrip("/"))

    @property
    def on_s3(self) -> bool:
        return self.root.startswith("s3://")

    def identifier(self, name: str) -> str:
        return f"{CATALOG}.{self.namespace}.{name}"

    def location(self, zone: str, name: str) -> str:
        """A table's folder: `<root>/<zone>/<table>`, holding its `data/` and `metadata/`."""
        return f"{self.root}/{zone}/{name}"

    @property
    def sqlite_path(self) -> str:
        return f"{self.root}/{SQLITE_FILE}"

    def spark_catalog_config(self) -> dict[str, str]:
        """The Spark catalog `lake`. Its table cache is off: another process's commit is seen at once."""
        prefix = f"spark.sql.catalog.{CATALOG}"
        config = {prefix: "org.apache.iceberg.spark.SparkCatalog", f"{prefix}.cache-enabled": "false"}
        if not self.on_s3:
            return {
                **config,
                f"{prefix}.type": "jdbc",
                f"{prefix}.uri": f"jdbc:sqlite:{self.sqlite_path}",
                f"{prefix}.jdbc.schema-version": "V1",
                f"{prefix}.warehouse": self.root,
            }
        config.update(
            {
                f"{prefix}.catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
                f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
                f"{prefix}.warehouse": self.root,
            }
        )
        if region := _region():
            config[f"{prefix}.client.region"] = region
        if glue := _endpoint("glue"):
            config[f"{prefix}.glue.endpoint"] = glue
        if s3 := _endpoint("s3"):
            config.update({f"{prefix}.s3.endpoint": s3, f"{prefix}.s3.path-style-access": "true"})
        return config

    def pyiceberg_properties(self) -> dict[str, str]:
        if not self.on_s3:
            return {"type": "sql", "uri": f"sqlite:///{self.sqlite_path}", "warehouse": f"file://{self.root}"}
        properties = {"type": "glue", "warehouse": self.root}
        if region := _region():
            properties.update({"glue.region": region, "s3.region": region})
        if s3 := _endpoint("s3"):
            properties["s3.endpoint"] = s3
        return properties

    def exists(self) -> bool:
        """Whether a catalog may hold tables: a local lake has none before its SQLite file is made."""
        return self.on_s3 or os.path.exists(self.sqlite_path)

    def local_metadata(self, name: str) -> dict | None:
        """A local table's current metadata (the Iceberg table spec's JSON), read from the JDBC catalog's SQLite
        file and the metadata file it points at; None before the table exists. Read-only, and without pyiceberg:
        its catalog and file IO take about 0.8 s to import (SQLAlchemy, pyarrow's datasets, pandas), nearly all
        of what an up-to-date `stedi materialize` took to answer. Writes, and lakes on S3, go through pyiceberg
        or Spark."""
        if not self.exists():
            return None
        query = (
            "SELECT metadata_location FROM iceberg_tables WHERE catalog_name=? AND table_namespace=? AND table_name=?"
        )
        try:
            with closing(sqlite3.connect(f"{Path(self.sqlite_path).as_uri()}?mode=ro", uri=True)) as catalog:
                row = catalog.execute(query, (CATALOG, self.namespace, name)).fetchone()
        except sqlite3.OperationalError as error:  # a catalog file that no table has been registered in yet
            if "no such table" not in str(error):
                raise
            row = None
        if row is None:
            return None
        location = urlparse(row[0]).path
        with (gzip.open if location.endswith(".gz.metadata.json") else open)(location, "rb") as file:
            return json.load(file)

    def local_snapshots(self, name: str) -> tuple[int | None, dict[int, tuple[int | None, dict]]]:
        """A local table's snapshots (`snapshots_of`), (None, {}) before the table exists."""
        return snapshots_of(self.local_metadata(name) or {"snapshots": []})

    def pyiceberg(self):
        from pyiceberg.catalog import load_catalog  # Python readers only: the Spark builds never need it

        return load_catalog(CATALOG, **self.pyiceberg_properties())


def snapshots_of(metadata: dict) -> tuple[int | None, dict[int, tuple[int | None, dict]]]:
    """A table's current snapshot id (None: no data yet) and each snapshot's parent and summary, from its
    metadata as the Iceberg spec's JSON has it."""
    current = metadata.get("current-snapshot-id")
    snapshots = {s["snapshot-id"]: (s.get("parent-snapshot-id"), s.get("summary", {})) for s in metadata["snapshots"]}
    return (None if current in (None, -1) else current), snapshots
