"""Stand-ins for AWS Glue's and EMR Serverless's job runs, as dagster-aws's own Pipes tests build them.

moto's server keeps the job definitions, the run records and the Data Catalog; it runs nothing. These
clients take over the job-run calls: a run downloads its script from S3 and runs it in a subprocess,
handing over the run's parameters the way the service does (Glue: `--key value` arguments; EMR
Serverless: driver environment variables), and reports the run's state from the process. Every other
call goes to moto unchanged.

The script and its Python workers run on the engine's Python, never the test's: Glue's (a Python with what Glue
5.0 provides, plus what the job's `--additional-python-modules` install) or EMR Serverless's (the one in the
job's `spark.archives`, else a bare one). Both see Spark's own `pyspark` and `py4j` only, as the engines put
them on the path.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import py4j
import pyspark

from stedi_assets.lake import jars
from stedi_assets.spark_config import SMALL_INPUT_JAVA_OPTIONS

DRIVER_ENV = "spark.emr-serverless.driverEnv."
LONG_POLL_S = 120


# The Iceberg releases the engines put on the classpath (Spark 3.5), which the stand-ins run: Glue 5.0's
# (`--datalake-formats iceberg`), and EMR's bundled jar of the release the tests' application names (AWS's "Iceberg
# release history": 1.10.0-amzn-0, here Apache's 1.10.0).
GLUE_5_ICEBERG = "1.7.1"
EMR_RELEASE, EMR_ICEBERG = "emr-7.12.0", "1.10.0"


# What Glue 5.0 provides a job's Python that the job imports (AWS's "Python modules already provided in AWS Glue"
# for 5.0), besides Spark's pyspark.
GLUE_5_PROVIDED = ("boto3==1.34.131", "numpy==1.26.4", "pandas==2.2.2", "pyarrow==17.0.0")

# A Python that has nothing of the job's, as EMR 7's own (3.9 there): the interpreter the tests' virtualenv is made of.
BARE_PYTHON = Path(sys._base_executable)


def spark_python_path(folder: Path) -> Path:
    """A folder with Spark's Python packages only (the test session's pyspark and py4j), as Glue and EMR put
    theirs on a job's Python path."""
    folder.mkdir(parents=True)
    for package in (pyspark, py4j):
        (folder / package.__name__).symlink_to(Path(package.__file__).parent)
    return folder


def glue_5_python(folder: Path) -> Path:
    """A virtualenv of the bare interpreter with what Glue 5.0 provides (`GLUE_5_PROVIDED`); returns its python."""
    subprocess.run([str(BARE_PYTHON), "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *GLUE_5_PROVIDED], check=True)
    return python


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


# Runs a script (argv[2]) as __main__ with the files of argv[1] (comma-separated) first on its path.
DRIVER_PATH_LAUNCHER = (
    "import runpy, sys; path, sys.argv = sys.argv[1], sys.argv[2:]; sys.path[:0] = filter(None, path.split(',')); "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


class ScriptRuns:
    """Job runs as subprocesses of a script stored on S3, keyed by the service's run id."""

    def __init__(self, client, s3, endpoint: str, environment: dict[str, str] | None = None):
        """`environment`: more of the job's environment (a test's own; its PYTHONPATH goes before Spark's)."""
        self._client, self._s3, self._endpoint, self._extra = client, s3, endpoint, environment or {}
        self._runs: dict[str, tuple[subprocess.Popen, Path]] = {}
        self._polled: set[str] = set()  # runs whose state was asked once
        self._work = tempfile.TemporaryDirectory(prefix="job-runs-")
        self.folder = Path(self._work.name)
        self._spark_path = spark_python_path(self.folder / "spark-python")

    def __getattr__(self, name):
        return getattr(self._client, name)

    def download(self, uri: str, folder: Path) -> Path:
        """A local copy of the S3 object `uri`, under its own name."""
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        folder.mkdir(parents=True, exist_ok=True)
        local = folder / Path(key).name
        self._s3.download_file(bucket, key, str(local))
        return local

    def _start(self, run_id: str, script_uri: str, arguments: list[str], python: Path, spark_conf: dict, **job):
        """`job`: the run's `environment`, its `worker_python` (default `python`), files on the `driver_path` only.
        The run works in a folder of its own, as on the service (not in the test's, where the source tree is)."""
        script = self.download(script_uri, self.folder / "scripts" / run_id)
        path = os.pathsep.join(filter(None, [self._extra.get("PYTHONPATH"), str(self._spark_path)]))
        environment = {
            **script_environment(self._endpoint, spark_conf),
            **self._extra,
            **job.get("environment", {}),
            "PYTHONPATH": path,
            "PYSPARK_PYTHON": str(job.get("worker_python", python)),  # the Python workers'
        }
        # As Glue's launcher: files on the driver's path only (not in PYTHONPATH, which local Spark's workers inherit).
        launch = ["-c", DRIVER_PATH_LAUNCHER, ",".join(map(str, job["driver_path"]))] if "driver_path" in job else []
        self._launch(run_id, [str(python), *launch, str(script), *arguments], environment, self.run_folder(run_id))

    def _fail(self, run_id: str, message: str) -> None:
        """A run that fails at once with `message`, as the service fails a run it cannot set up."""
        self._launch(run_id, [sys.executable, "-c", "import sys; sys.exit(sys.argv[1])", message], {}, self.folder)

    def run_folder(self, run_id: str) -> Path:
        folder = self.folder / "runs" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _launch(self, run_id: str, command: list[str], environment: dict[str, str], cwd: Path) -> None:
        log = self.folder / f"{run_id}.log"  # a file, not a pipe: Spark's log would fill a pipe and block the run
        with open(log, "w") as stderr:
            process = subprocess.Popen(command, env=environment, stderr=stderr, cwd=cwd)
        self._runs[run_id] = (process, log)

    def logs(self) -> list[str]:
        """Each run's whole log (the service's log group), in the order the runs started."""
        return [log.read_text() for _, log in self._runs.values()]

    def _state(self, run_id: str) -> tuple[str, str]:
        """("running" | "succeeded" | "failed", the end of the run's log). After the first answer (at once:
        dagster-aws's Glue client asks it before it can stop a run), a long poll: the answer waits up to
        `LONG_POLL_S` for the run to end, so the client's own wait between polls (the Glue client sleeps 5 s)
        does not add to every job run."""
        process, log = self._runs[run_id]
        try:
            process.wait(timeout=LONG_POLL_S if run_id in self._polled else 0)
        except subprocess.TimeoutExpired:
            self._polled.add(run_id)
            return "running", ""
        return ("succeeded", "") if process.returncode == 0 else ("failed", log.read_text()[-4000:])

    def _stop(self, run_id: str) -> None:
        self._runs[run_id][0].terminate()


class LocalGlue(ScriptRuns):
    """Glue 5.0: the job's default arguments, those of the run replacing any of the same name, all handed to the
    script; `--additional-python-modules` installed with pip (and `--python-modules-installer-option`) into a
    copy of the Glue Python `python`; `--extra-py-files` given to Spark as its `--py-files`, which puts
    every file on the driver's path and only `.py`, `.zip` and `.egg` files on the executors'."""

    STATES = {"running": "RUNNING", "succeeded": "SUCCEEDED", "failed": "FAILED"}

    def __init__(self, client, s3, endpoint: str, python: Path, environment: dict[str, str] | None = None):
        super().__init__(client, s3, endpoint, environment)
        self._glue_python = python
        self._pythons: dict[tuple[str, str], Path] = {}  # installed once per set of modules, as a warm pool

    def _job_python(self, modules: str, options: str) -> Path:
        """The Glue Python with `modules` installed (raises CalledProcessError with pip's output)."""
        if (modules, options) not in self._pythons:
            venv = self._glue_python.parent.parent
            copy = self.folder / f"glue-python-{len(self._pythons)}"
            shutil.copytree(venv, copy, symlinks=True)
            wanted = [
                str(self.download(m, copy / "modules")) if m.startswith("s3://") else m for m in modules.split(",")
            ]
            install = [str(copy / "bin" / "python"), "-m", "pip", "install", "--quiet", *shlex.split(options)]
            subprocess.run([*install, *filter(None, wanted)], check=True, capture_output=True, text=True)
            self._pythons[modules, options] = copy / "bin" / "python"
        return self._pythons[modules, options]

    def start_job_run(self, JobName: str, Arguments: dict[str, str] | None = None, **params):
        response = self._client.start_job_run(JobName=JobName, Arguments=Arguments or {}, **params)
        run_id, job = response["JobRunId"], self._client.get_job(JobName=JobName)["Job"]
        given = {**job.get("DefaultArguments", {}), **(Arguments or {})}
        arguments = [part for name, value in given.items() for part in (name, value)]
        try:
            modules = given.get("--additional-python-modules", "")
            python = self._job_python(modules, given.get("--python-modules-installer-option", ""))
        except subprocess.CalledProcessError as error:
            self._fail(run_id, f"ModuleInstallError: pip could not install {modules}:\n{error.stderr}")
            return response
        conf = glue_spark_conf(given)
        uris = filter(None, given.get("--extra-py-files", "").split(","))
        files = [self.download(uri, self.folder / "py-files" / run_id) for uri in uris]
        if files:  # on the driver's path before the script runs, and to Spark as its py-files
            conf["spark.submit.pyFiles"] = ",".join(map(str, files))
        self._start(run_id, job["Command"]["ScriptLocation"], arguments, python, conf, driver_path=files)
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


EXECUTOR_ENV = "spark.executorEnv."


def spark_settings(parameters: str) -> dict[str, str]:
    """The `--conf key=value` settings of EMR Serverless's `sparkSubmitParameters`."""
    words = shlex.split(parameters)
    return dict(value.split("=", 1) for flag, value in zip(words, words[1:]) if flag == "--conf")


class LocalEmrServerless(ScriptRuns):
    """EMR Serverless (emr-7.x): the application's `spark-defaults` (`runtime_configuration`, which moto does not
    keep) under the run's `sparkSubmitParameters`; `spark.archives` unpacked in the run's working folder under
    their `#alias`; the driver on `driverEnv.PYSPARK_DRIVER_PYTHON` and the Python workers on
    `executorEnv.PYSPARK_PYTHON`, each else EMR's own Python, which has none of the job's modules. The Iceberg
    jar is the release's (`EMR_ICEBERG`, for `spark.jars`' bundled jar)."""

    STATES = {"running": "RUNNING", "succeeded": "SUCCESS", "failed": "FAILED"}

    def __init__(self, client, s3, endpoint: str, runtime_configuration=(), environment: dict | None = None):
        super().__init__(client, s3, endpoint, environment)
        self._defaults = next(
            (c["properties"] for c in runtime_configuration if c["classification"] == "spark-defaults"), {}
        )
        self._archives: dict[str, Path] = {}

    def _unpacked(self, uri: str) -> Path:
        """The archive at `uri` unpacked once (each worker of the service unpacks its own copy)."""
        if uri not in self._archives:
            archive = self.download(uri, self.folder / "archives" / str(len(self._archives)))
            with tarfile.open(archive) as packed:
                packed.extractall(archive.parent / "unpacked")
            self._archives[uri] = archive.parent / "unpacked"
        return self._archives[uri]

    def start_job_run(self, **params):
        response = self._client.start_job_run(**params)
        run_id, submit = response["jobRunId"], params["jobDriver"]["sparkSubmit"]
        conf = {**self._defaults, **spark_settings(submit.get("sparkSubmitParameters", ""))}
        folder = self.run_folder(run_id)
        for archive in filter(None, conf.pop("spark.archives", "").split(",")):
            uri, alias = archive.split("#", 1)
            (folder / alias).symlink_to(self._unpacked(uri))
        driver = {k.removeprefix(DRIVER_ENV): conf.pop(k) for k in list(conf) if k.startswith(DRIVER_ENV)}
        executor = {k.removeprefix(EXECUTOR_ENV): conf.pop(k) for k in list(conf) if k.startswith(EXECUTOR_ENV)}
        python = driver.pop("PYSPARK_DRIVER_PYTHON", None) or driver.get("PYSPARK_PYTHON") or BARE_PYTHON
        worker_python = executor.get("PYSPARK_PYTHON") or driver.get("PYSPARK_PYTHON") or BARE_PYTHON
        conf.pop("spark.jars", None)  # EMR's bundled Iceberg jar: the same release's from the jar cache (below)
        spark_conf = {**conf, **iceberg_jars(EMR_ICEBERG)}
        arguments = submit.get("entryPointArguments", [])
        self._start(
            run_id, submit["entryPoint"], arguments, python, spark_conf, environment=driver, worker_python=worker_python
        )
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
