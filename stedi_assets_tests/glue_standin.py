"""A stand-in for AWS Glue's job runs, as dagster-aws's own Pipes tests build one.

moto's server keeps the job definitions, the run records and the Data Catalog; it runs nothing. This
client takes over the job-run calls: a run downloads the job's script from its S3 ScriptLocation and
runs it in a subprocess with the run's arguments, the way Glue hands them over (`--key value`), and
reports the run's state from the process. Every other call (the catalog) goes to moto unchanged.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def script_environment(endpoint: str) -> dict[str, str]:
    """What the Glue runtime gives a script: credentials, a region, and Spark (here local, small shuffles)."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "JAVA_HOME": os.environ.get("JAVA_HOME", ""),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_SUBMIT_ARGS": "--master local[2] --driver-memory 2g --conf spark.sql.shuffle.partitions=4 "
        "--conf spark.ui.enabled=false --conf spark.sql.session.timeZone=UTC pyspark-shell",
    }


class LocalGlue:
    def __init__(self, glue, s3, endpoint: str):
        self._glue, self._s3, self._env = glue, s3, script_environment(endpoint)
        self._runs: dict[str, tuple[subprocess.Popen, Path]] = {}
        self._scripts = tempfile.TemporaryDirectory(prefix="glue-scripts-")

    def __getattr__(self, name):
        return getattr(self._glue, name)

    def start_job_run(self, JobName: str, Arguments: dict[str, str] | None = None, **params):
        response = self._glue.start_job_run(JobName=JobName, Arguments=Arguments or {}, **params)
        location = self._glue.get_job(JobName=JobName)["Job"]["Command"]["ScriptLocation"]
        bucket, key = location.removeprefix("s3://").split("/", 1)
        script = Path(self._scripts.name) / f"{response['JobRunId']}.py"
        self._s3.download_file(bucket, key, str(script))
        arguments = [part for name, value in (Arguments or {}).items() for part in (name, value)]
        log = script.with_suffix(".log")  # a file, not a pipe: Spark's log would fill a pipe and block the run
        with open(log, "w") as stderr:
            process = subprocess.Popen([sys.executable, str(script), *arguments], env=self._env, stderr=stderr)
        self._runs[response["JobRunId"]] = (process, log)
        return response

    def get_job_run(self, JobName: str, RunId: str, **params):
        response = self._glue.get_job_run(JobName=JobName, RunId=RunId, **params)
        process, log = self._runs[RunId]
        if process.poll() is None:
            response["JobRun"]["JobRunState"] = "RUNNING"
        elif process.returncode == 0:
            response["JobRun"]["JobRunState"] = "SUCCEEDED"
        else:
            response["JobRun"]["JobRunState"] = "FAILED"
            response["JobRun"]["ErrorMessage"] = log.read_text()[-4000:]
        return response

    def batch_stop_job_run(self, JobName: str, JobRunIds: list[str]):
        for run_id in JobRunIds:
            self._runs[run_id][0].terminate()
        return {"SuccessfulSubmissions": [{"JobName": JobName, "JobRunId": r} for r in JobRunIds], "Errors": []}
