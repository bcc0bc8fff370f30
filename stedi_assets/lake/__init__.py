"""The lake: Iceberg tables (`iceberg_tables`), their catalog (`catalog`), what is remembered per partition
(`partition_state`), a write that lost a race (`conflicts`) and the jars Spark needs for them (`jars`).
Importing the package loads no Spark."""
