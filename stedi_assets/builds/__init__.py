"""How a table is built, as plain functions of Spark and the lake: no Dagster.

A table's module (`zones/`) declares it (`Table`) and computes it (`Build`); this package holds what every
build shares: writing and describing a table (`build`), which partitions to recompute (`stale`), the checks
many tables share (`checks`) and what a build leaves (`outcome`). A local run builds in the Dagster process;
a Glue or EMR job runs the same build from `stedi_assets/remote/entry.py`. Either way the build returns
`TableOutcome`s, which reach Dagster as materializations and check results.
"""
