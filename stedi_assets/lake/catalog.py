"""Where the lake's Iceberg tables are registered: one catalog per lake root, the same for Spark and Python.

- A local folder: Iceberg's JDBC catalog on a SQLite file in the folder (`catalog.db`), the data and
  metadata beside it. No server: the folder is the whole lake.
- An `s3://` root: the AWS Glue Data Catalog (Athena's catalog), with Iceberg's S3FileIO. Every client
  honours `AWS_ENDPOINT_URL`, so the same code runs against an S3 look-alike.

Spark and pyiceberg both name the catalog `lake`: a JDBC catalog keys its rows by that name.
"""

import os
from dataclasses import dataclass

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

    def pyiceberg(self):
        from pyiceberg.catalog import load_catalog  # Python readers only: the Spark steps never need it

        return load_catalog(CATALOG, **self.pyiceberg_properties())
