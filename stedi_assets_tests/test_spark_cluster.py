"""Any Spark cluster: a standalone master and worker started from the pyspark installation, on loopback.

`stedi materialize --spark-master spark://...` runs the same assets on it and must give the contract's counts.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark
import pytest

from stedi_assets_tests.conftest import CONTRACT_COUNTS

SPARK_HOME = Path(pyspark.__file__).parent


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
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "SPARK_WORKER_DIR": str(work / "worker"),
           "SPARK_LOG_DIR": str(work), "SPARK_NO_DAEMONIZE": "1"}
    master_url = f"spark://127.0.0.1:{free_port()}"
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    commands = {
        "master": [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                   "--port", master_url.rsplit(":", 1)[1], "--webui-port", str(free_port())],
        "worker": [spark_class, "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1",
                   "--cores", "2", "--memory", "4g", "--webui-port", str(free_port())],
    }
    processes = []
    try:
        for name, command in commands.items():
            log = work / f"{name}.log"
            with open(log, "wb") as output:
                processes.append(subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                                  start_new_session=True))
            wait_for_log(log, "I have been elected leader" if name == "master" else "Successfully registered",
                         processes[-1])
        yield master_url, env
    finally:
        for process in processes:
            os.killpg(process.pid, 9)
            process.wait(timeout=30)


def test_starter_data_on_a_standalone_cluster(cluster, starter_data, tmp_path):
    master_url, env = cluster
    result = subprocess.run(
        [sys.executable, "-m", "stedi_assets.cli", "materialize", "--landing", str(starter_data),
         "--lake", str(tmp_path / "lake"), "--spark-master", master_url, "--expect", "stedi-starter"],
        env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = dict(line.split() for line in result.stdout.splitlines()[-8:])
    assert {table: int(rows) for table, rows in printed.items()} == CONTRACT_COUNTS["default"]
    assert "app-" in " ".join(os.listdir(Path(env["SPARK_WORKER_DIR"]))), "the worker ran no application"
