"""A write that lost a race with another writer, and how Dagster runs its step again.

Importable without Spark: the Dagster side recognises the error from a local step and, by its name in the
job's error message, from a Glue or EMR job run."""


class ConcurrentWrite(Exception):
    """Another writer changed partitions this write replaces after the step read the table. The step's rows
    may come from older inputs, so committing them could undo the other writer's newer ones: the step is
    computed again from the tables as they are now (`assets.py` asks Dagster to retry it)."""


RETRIES = 4  # a step that lost this many races in a row fails: something else writes the lake in a loop
RETRY_AFTER_SECONDS = 1


def lost_a_race(error: BaseException) -> bool:
    """A local step raises `ConcurrentWrite`; a remote job run's failure names it in its error message."""
    return isinstance(error, ConcurrentWrite) or ConcurrentWrite.__name__ in str(error)
