"""Stand-ins for AWS Glue's and EMR Serverless's job runs, as dagster-aws's own Pipes tests build them.

moto's server keeps the job definitions, the run records and the Data Catalog; it runs nothing. These
clients take over the job-run calls: a run downloads its script from S3 and runs it in a subprocess,
handing over the run's parameters the way the service does (Glue: `--key value` arguments; EMR
Serverless: driver environment variables), and reports the run's state from the process. Every other
call goes to moto unchanged.
"""

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from stedi_assets.lake import jars
from stedi_assets.spark_config import SMALL_INPUT_JAVA_OPTIONS

DRIVER_ENV = "spark.emr-serverless.driverEnv."


def script_environment(endpoint: str) -> dict[str, str]:
    """What the service's runtime gives a script: credentials, a region, and Spark (here local, with the JVM
    options of a local run over small inputs) with Iceberg on its classpath, as Glue's `--datalake-formats
    iceberg` and EMR's bundled jar give it (here from the test session's jar cache)."""
    iceberg = " ".join(f"--conf {key}={value}" for key, value in jars.iceberg_config(aws=True).items())
    small_input_jvm = shlex.quote(f"spark.driver.extraJavaOptions={SMALL_INPUT_JAVA_OPTIONS}")
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "JAVA_HOME": os.environ.get("JAVA_HOME", ""),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_SUBMIT_ARGS": f"--master local[2] --driver-memory 2g {iceberg} --conf {small_input_jvm} "
        "--conf spark.sql.shuffle.partitions=4 --conf spark.ui.enabled=false pyspark-shell",
    }


class ScriptRuns:
    """Job runs as subprocesses of a script stored on S3, keyed by the service's run id."""

    def __init__(self, client, s3, endpoint: str, environment: dict[str, str] | None = None):
        """`environment`: more of the job's environment (a test's own)."""
        self._client, self._s3 = client, s3
        self._environment = {**script_environment(endpoint), **(environment or {})}
        self._runs: dict[str, tuple[subprocess.Popen, Path]] = {}
        self._scripts = tempfile.TemporaryDirectory(prefix="job-scripts-")

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _start(self, run_id: str, script_uri: str, arguments: list[str], environment: dict[str, str]) -> None:
        bucket, key = script_uri.removeprefix("s3://").split("/", 1)
        script = Path(self._scripts.name) / f"{run_id}.py"
        self._s3.download_file(bucket, key, str(script))
        log = script.with_suffix(".log")  # a file, not a pipe: Spark's log would fill a pipe and block the run
        with open(log, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, str(script), *arguments], env={**self._environment, **environment}, stderr=stderr
            )
        self._runs[run_id] = (process, log)

    def _state(self, run_id: str) -> tuple[str, str]:
        """("running" | "succeeded" | "failed", the end of the run's log)."""
        process, log = self._runs[run_id]
        if process.poll() is None:
            return "running", ""
        return ("succeeded", "") if process.returncode == 0 else ("failed", log.read_text()[-4000:])

    def _stop(self, run_id: str) -> None:
        self._runs[run_id][0].terminate()


class LocalGlue(ScriptRuns):
    STATES = {"running": "RUNNING", "succeeded": "SUCCEEDED", "failed": "FAILED"}

    def start_job_run(self, JobName: str, Arguments: dict[str, str] | None = None, **params):
        response = self._client.start_job_run(JobName=JobName, Arguments=Arguments or {}, **params)
        location = self._client.get_job(JobName=JobName)["Job"]["Command"]["ScriptLocation"]
        arguments = [part for name, value in (Arguments or {}).items() for part in (name, value)]
        self._start(response["JobRunId"], location, arguments, {})
        return response

    def get_job_run(self, JobName: str, RunId: str, **params):
        response = self._client.get_job_run(JobName=JobName, RunId=RunId, **params)
        state, log = self._state(RunId)
        response["JobRun"]["JobRunState"] = self.STATES[state]
        if log:
            response["JobRun"]["ErrorMessage"] = log
        return response

    def batch_stop_job_run(self, JobName: str, JobRunIds: list[str]):
        for run_id in JobRunIds:
            self._stop(run_id)
        return {"SuccessfulSubmissions": [{"JobName": JobName, "JobRunId": r} for r in JobRunIds], "Errors": []}


class LocalEmrServerless(ScriptRuns):
    STATES = {"running": "RUNNING", "succeeded": "SUCCESS", "failed": "FAILED"}

    def start_job_run(self, **params):
        response = self._client.start_job_run(**params)
        submit = params["jobDriver"]["sparkSubmit"]
        environment = {
            name.removeprefix(DRIVER_ENV): value
            for name, value in (
                setting.split("=", 1)
                for setting in submit.get("sparkSubmitParameters", "").split()
                if setting.startswith(DRIVER_ENV)
            )
        }
        self._start(response["jobRunId"], submit["entryPoint"], submit.get("entryPointArguments", []), environment)
        return response

    def get_job_run(self, applicationId: str, jobRunId: str, **params):
        response = self._client.get_job_run(applicationId=applicationId, jobRunId=jobRunId, **params)
        state, log = self._state(jobRunId)
        response["jobRun"]["state"] = self.STATES[state]
        response["jobRun"]["stateDetails"] = log
        return response

    def get_application(self, applicationId: str):
        """moto spells the type `SPARK`; the service answers `Spark`, which dagster-aws expects."""
        response = self._client.get_application(applicationId=applicationId)
        response["application"]["type"] = response["application"]["type"].capitalize()
        return response

    def get_dashboard_for_job_run(self, applicationId: str, jobRunId: str, **params):
        return {"url": f"http://localhost/emr-serverless/{applicationId}/{jobRunId}"}

    def cancel_job_run(self, applicationId: str, jobRunId: str):
        self._stop(jobRunId)
        return {"applicationId": applicationId, "jobRunId": jobRunId}
