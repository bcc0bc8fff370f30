"""A write that lost a race with another writer, and how Dagster runs its step again.

Importable without Spark or Dagster: a local step raises `ConcurrentWrite` in the Dagster process; a Glue or
EMR job run reports it as a Pipes message (`race_report`), which the Dagster side turns back into the same
error (`race_in`). The job's error text is never read: EMR Serverless says only that the job failed."""


class ConcurrentWrite(Exception):
    """Another writer changed partitions this write replaces after the step read the table. The step's rows
    may come from older inputs, so committing them could undo the other writer's newer ones: the step is
    computed again from the tables as they are now (`assets.py` asks Dagster to retry it)."""


RETRIES = 4  # a step that lost this many races in a row fails: something else writes the lake in a loop
RETRY_AFTER_SECONDS = 1
LOST_A_RACE = "stedi_lost_a_race"  # the Pipes custom message a remote step sends when its write lost a race


def race_report(error: ConcurrentWrite) -> dict:
    """What a remote step reports through Pipes when its write lost a race."""
    return {LOST_A_RACE: str(error)}


def race_in(messages) -> ConcurrentWrite | None:
    """The lost race a remote step reported among its Pipes custom messages, if any."""
    for message in messages:
        if isinstance(message, dict) and LOST_A_RACE in message:
            return ConcurrentWrite(message[LOST_A_RACE])
    return None
