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


# The Iceberg release Glue 5.0's `--datalake-formats iceberg` puts on the classpath (Spark 3.5): the Glue stand-in
# runs that one, the EMR stand-in the platform's own (`jars.ICEBERG`).
GLUE_5_ICEBERG = "1.7.1"


def script_environment(endpoint: str, spark_conf: dict[str, str]) -> dict[str, str]:
    """What the service's runtime gives a script: credentials, a region, and Spark (here local, with the JVM
    options of a local run over small inputs) with `spark_conf`: the jars the service puts on the classpath (here
    from the test session's jar cache) and the job's own settings."""
    conf = {
        "spark.driver.extraJavaOptions": SMALL_INPUT_JAVA_OPTIONS,
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        **spark_conf,
    }
    settings = " ".join(f"--conf {shlex.quote(f'{key}={value}')}" for key, value in conf.items())
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "JAVA_HOME": os.environ.get("JAVA_HOME", ""),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_SUBMIT_ARGS": f"--master local[2] --driver-memory 2g {settings} pyspark-shell",
    }


def iceberg_jars(iceberg: str) -> dict[str, str]:
    """Iceberg's jars of release `iceberg` on the classpath, and nothing else (a service sets no SQL extension)."""
    return {key: value for key, value in jars.iceberg_config(aws=True, iceberg=iceberg).items() if "jars" in key}


def glue_spark_conf(arguments: dict[str, str]) -> dict[str, str]:
    """What Glue 5.0 makes of a job run's arguments for its Spark: `--datalake-formats iceberg` puts its Iceberg
    on the classpath (without it there is none), and `--conf` sets Spark settings (`k=v --conf k2=v2`: Glue
    takes several in the one argument)."""
    conf = iceberg_jars(GLUE_5_ICEBERG) if "iceberg" in arguments.get("--datalake-formats", "").split(",") else {}
    for setting in filter(None, arguments.get("--conf", "").split(" --conf ")):
        key, value = setting.strip().split("=", 1)
        conf[key] = value
    return conf


class ScriptRuns:
    """Job runs as subprocesses of a script stored on S3, keyed by the service's run id."""

    def __init__(self, client, s3, endpoint: str, environment: dict[str, str] | None = None):
        """`environment`: more of the job's environment (a test's own)."""
        self._client, self._s3, self._endpoint, self._extra = client, s3, endpoint, environment or {}
        self._runs: dict[str, tuple[subprocess.Popen, Path]] = {}
        self._scripts = tempfile.TemporaryDirectory(prefix="job-scripts-")

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _start(
        self, run_id: str, script_uri: str, arguments: list[str], environment: dict[str, str], spark_conf: dict
    ) -> None:
        bucket, key = script_uri.removeprefix("s3://").split("/", 1)
        script = Path(self._scripts.name) / f"{run_id}.py"
        self._s3.download_file(bucket, key, str(script))
        log = script.with_suffix(".log")  # a file, not a pipe: Spark's log would fill a pipe and block the run
        with open(log, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, str(script), *arguments],
                env={**script_environment(self._endpoint, spark_conf), **self._extra, **environment},
                stderr=stderr,
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
        job = self._client.get_job(JobName=JobName)["Job"]
        # As Glue does: the job's default arguments, those of the run replacing any of the same name, all handed
        # to the script too. `--additional-python-modules` is not installed: the test's Python has them.
        given = {**job.get("DefaultArguments", {}), **(Arguments or {})}
        arguments = [part for name, value in given.items() for part in (name, value)]
        self._start(response["JobRunId"], job["Command"]["ScriptLocation"], arguments, {}, glue_spark_conf(given))
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
        arguments = submit.get("entryPointArguments", [])
        self._start(response["jobRunId"], submit["entryPoint"], arguments, environment, iceberg_jars(jars.ICEBERG))
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
