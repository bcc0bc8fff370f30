from setuptools import find_packages, setup

# The Dagster libraries are released as a train: dagster 1.13.N goes with the integrations 0.29.N.
DAGSTER = "1.13.27"
DAGSTER_INTEGRATIONS = "0.29.27"

setup(
    name="stedi_assets",
    version="0.1.0",
    description="The STEDI Step Trainer lakehouse: landing, trusted and curated zones as Dagster assets.",
    packages=find_packages(exclude=["stedi_assets_tests"]),
    package_data={"stedi_assets": ["dagster.yaml"], "stedi_assets.profiles": ["*.json"]},
    python_requires=">=3.10,<3.13",
    install_requires=[
        f"dagster=={DAGSTER}",
        f"dagster-webserver=={DAGSTER}",
        f"dagster-aws=={DAGSTER_INTEGRATIONS}",
        f"dagster-pyspark=={DAGSTER_INTEGRATIONS}",
        # Glue 5 runs Spark 3.5: the code uses only APIs both have, and CI runs the tests on both.
        "pyspark>=3.5.4,<4.1",
        "pandera[pyspark]==0.35.0",
        # pyspark.pandas, which pandera.pyspark imports, breaks under pandas 3.
        "pandas>=2.2,<3",
        "pyarrow>=15",
        # `stedi query` and the lake's Python readers: pyiceberg scans the tables, DuckDB runs the SQL.
        "pyiceberg[sql-sqlite,pyarrow,glue]==0.12.0",
        "duckdb==2.0.1",
    ],
    extras_require={
        "test": [
            "pytest==9.2.0",
            "pytest-xdist==3.8.0",
            "hypothesis==6.170.17",
            "requests>=2.31",
            "playwright==1.65.2",
            "moto[server]==5.2.5",
            "ruff==0.17.5",
            "filelock==4.3.1",  # the test session shares a built fixture between its workers
        ],
    },
    entry_points={"console_scripts": ["stedi=stedi_assets.cli:run"]},
)
