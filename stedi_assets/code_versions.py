"""Each table's code version: a label that changes when what its step writes changes.

Bump a table's version with any change to what its step writes: its transform, its columns, or, for the
landing and quarantine tables, the landing parser. Every partition's fingerprint holds its table's version,
so the next run recomputes that table (the landing tables: every ingest date), and the tables downstream of
it wherever its content changed. A refactor or a comment edit leaves the versions, and the lake, alone.
`stedi_assets_tests/test_code_versions.py` fails when a table's output on a fixed input changes without a
bump. Dagster shows the versions as the assets' code versions.

Importable without Spark or Dagster: the CLI's up-to-date check uses them.
"""

LANDING_PARSER = "3"  # transforms/landing_parser.py and transforms/landing.py: every landing and quarantine table

CODE_VERSIONS = {
    "customer_landing": LANDING_PARSER,
    "accelerometer_landing": LANDING_PARSER,
    "step_trainer_landing": LANDING_PARSER,
    "customer_quarantine": LANDING_PARSER,
    "accelerometer_quarantine": LANDING_PARSER,
    "step_trainer_quarantine": LANDING_PARSER,
    "customer_trusted": "1",
    "accelerometer_trusted": "1",
    "step_trainer_trusted": "1",
    "customer_curated": "1",
    "machine_learning_curated": "2",
}
