"""Any Spark: a standalone master and worker, and a Spark Connect server, started from the pyspark
installation on loopback. `stedi materialize --spark-master spark://...` or `sc://...` runs the same
assets on them and must give the contract's counts, or the same tables as a local run.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark
import pytest

from stedi_assets.cli import main
from stedi_assets.lake import jars
from stedi_assets.sample import write_sample_landing
from stedi_assets.spark_config import SMALL_INPUT_JAVA_OPTIONS, spark_config
from stedi_assets_tests.conftest import CONTRACT_COUNTS
from stedi_assets_tests.lake_contents import table_states
from stedi_assets_tests.test_materialize import printed_counts

pytestmark = pytest.mark.slow

SPARK_HOME = Path(pyspark.__file__).parent
# Every JVM of these test clusters (daemons, executors, drivers) works on small inputs, with the JVM options a
# local run over small inputs gets: JAVA_TOOL_OPTIONS reaches each of them, whoever launches it.
SMALL_INPUT_JVMS = {"JAVA_TOOL_OPTIONS": SMALL_INPUT_JAVA_OPTIONS}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_log(log: Path, text: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"'{text}' not in {log} after {timeout}s"
        time.sleep(1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone master and a 2-core worker; yields the master URL and their environment."""
    work = tmp_path_factory.mktemp("cluster")
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_WORKER_DIR": str(work / "worker"),
        "SPARK_LOG_DIR": str(work),
        "SPARK_NO_DAEMONIZE": "1",
        **SMALL_INPUT_JVMS,
    }
    master_url = f"spark://127.0.0.1:{free_port()}"
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    commands = {
        "master": [
            spark_class,
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            master_url.rsplit(":", 1)[1],
            "--webui-port",
            str(free_port()),
        ],
        "worker": [
            spark_class,
            "org.apache.spark.deploy.worker.Worker",
            master_url,
            "--host",
            "127.0.0.1",
            "--cores",
            "2",
            "--memory",
            "4g",
            "--webui-port",
            str(free_port()),
        ],
    }
    processes = []
    try:
        for name, command in commands.items():
            log = work / f"{name}.log"
            with open(log, "wb") as output:
                processes.append(
                    subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
                )
            wait_for_log(
                log, "I have been elected leader" if name == "master" else "Successfully registered", processes[-1]
            )
        yield master_url, env
    finally:
        for process in processes:
            os.killpg(process.pid, 9)
            process.wait(timeout=30)


def materialize_on(spark_url: str, landing: Path, lake: Path, env: dict, *flags: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stedi_assets.cli",
            "materialize",
            "--landing",
            str(landing),
            "--lake",
            str(lake),
            "--spark-master",
            spark_url,
            *flags,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """A Spark Connect server (the spark-connect jar ships with pyspark); yields its sc:// URL. Its SQL settings
    are those of a local run over small landing data, as a `warm` server's are; the standalone cluster keeps
    Spark's defaults. With Spark's 200 shuffle partitions and adaptive execution on 2 local cores, the remote run
    of this module's sample took 63 s instead of 24 s (measured)."""
    work = tmp_path_factory.mktemp("connect")
    port = free_port()
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        **SMALL_INPUT_JVMS,
    }
    confs = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": port,
        "spark.ui.enabled": "false",
        **{k: v for k, v in spark_config("local[*]", landing_bytes=0).items() if k.startswith("spark.sql.")},
        **jars.iceberg_config(aws=False),  # a server brings its own jars
    }
    command = [
        str(SPARK_HOME / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        *(arg for key, value in confs.items() for arg in ("--conf", f"{key}={value}")),
        "spark-internal",
    ]
    log = work / "connect.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, cwd=work
        )
    try:
        wait_for_log(log, "Spark Connect server started", server)
        yield f"sc://127.0.0.1:{port}", env
    finally:
        os.killpg(server.pid, 9)
        server.wait(timeout=30)


def test_starter_data_on_a_standalone_cluster(cluster, starter_data, tmp_path):
    master_url, env = cluster
    result = materialize_on(master_url, starter_data, tmp_path / "lake", env, "--expect", "stedi-starter")
    assert printed_counts(result.stdout) == CONTRACT_COUNTS["default"]
    assert "app-" in " ".join(os.listdir(Path(env["SPARK_WORKER_DIR"]))), "the worker ran no application"


def test_spark_connect_gives_the_same_tables_as_local_spark(connect_server, tmp_path, capsys):
    remote_url, env = connect_server
    landing = tmp_path / "landing"
    write_sample_landing(landing, customers=30, seed=4)
    assert main(["materialize", "--landing", str(landing), "--lake", str(tmp_path / "local")]) == 0
    capsys.readouterr()
    materialize_on(remote_url, landing, tmp_path / "remote", env)
    states = {lake: table_states(tmp_path / lake) for lake in ("local", "remote")}
    assert all(states["local"].values()) and states["local"] == states["remote"]  # rows and content digests
