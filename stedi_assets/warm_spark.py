"""Local Spark kept warm between runs (`--spark-master warm`): a Spark Connect server that the first run starts,
later runs share, and that stops itself once no run has used it for a while (`STEDI_SPARK_IDLE_SECONDS`,
default 600).

Every run on local Spark starts a JVM and warms it up, which a small delivery's run spends a quarter of its
time on (`benchmarks/dates-axis.md` against `benchmarks/dates-axis-warm.md`). Build tools keep a daemon for the
same reason. The server is the local Spark a run would start (`spark_config`, the class
archive and small-input JVM included) with Spark's own Connect plugin, owned by a small Python process
(`python -m stedi_assets.warm_spark FOLDER`): Spark's JVM exits with it, so nothing outlives it.

Servers are kept apart by what they run: this interpreter, Spark's config, the platform's code (Spark's Python
workers import it once and keep it) and the AWS settings in the environment (the server's JVM reads S3 with
them). Each has a folder in the cache named after those, holding `server.json` (its port, process and token,
readable by this user only), `server.log`, and two locks:
- `start.lock`: held by a run while it finds or starts the server, and by the server while it decides to stop;
- `users.lock`: every process that connected holds it shared until it exits; an idle server is one that can
  take it whole.
The server listens on loopback only and takes only clients that present its token.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from stedi_assets.atomic_files import write_text_atomically
from stedi_assets.failures import one_line

SERVERS_ENV = "STEDI_SPARK_SERVERS"  # where the servers' folders are; default ~/.cache/stedi/spark-servers
IDLE_ENV = "STEDI_SPARK_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 600
TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"  # what Spark's Connect server and client both read
START_TIMEOUT = 600  # a first start may fetch the lake's jars
POLL_SECONDS = 2

_users: dict[Path, object] = {}  # the users lock of each server this process connected to, held until it exits


def _code_fingerprint() -> str:
    """Changes with any edit of the platform's code, which a running server's Python workers would not see."""
    package = Path(__file__).parent
    stats = [(f, f.stat()) for f in sorted(package.rglob("*.py"))]
    return hashlib.sha256("".join(f"{f}:{s.st_mtime_ns}:{s.st_size}\n" for f, s in stats).encode()).hexdigest()


def server_folder(config: dict[str, str]) -> Path:
    """The folder of the server for `config` (a local Spark config, `spark_config("local[*]", ...)`)."""
    from pyspark import __version__ as spark_version

    aws = {name: value for name, value in sorted(os.environ.items()) if name.startswith("AWS_")}
    key = json.dumps([sys.executable, spark_version, config, aws, _code_fingerprint()], sort_keys=True)
    servers = os.environ.get(SERVERS_ENV) or Path.home() / ".cache" / "stedi" / "spark-servers"
    return Path(servers) / hashlib.sha256(key.encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _running(folder: Path) -> dict | None:
    """The folder's server, if it runs and listens."""
    try:
        server = json.loads((folder / "server.json").read_text())
        os.kill(server["pid"], 0)
        with socket.create_connection(("127.0.0.1", server["port"]), timeout=5):
            return server
    except (OSError, ValueError, KeyError):
        return None


def connect(config: dict[str, str]) -> str:
    """The URL of the warm server for `config`, started if none runs; this process uses it until it exits.
    Sets the token Spark's Connect client presents."""
    folder = server_folder(config)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(folder / "start.lock"):
        if folder not in _users:  # taken before the server is found: it cannot stop under this run
            _users[folder] = open(folder / "users.lock", "a")
            fcntl.flock(_users[folder], fcntl.LOCK_SH)
        server = _running(folder) or _start(folder, config)
    os.environ[TOKEN_ENV] = server["token"]
    return f"sc://localhost:{server['port']}"  # the client sends its token over loopback only to "localhost"


def _start(folder: Path, config: dict[str, str]) -> dict:
    (folder / "server.json").unlink(missing_ok=True)
    write_text_atomically(folder / "config.json", json.dumps(config))
    env = {**os.environ, TOKEN_ENV: secrets.token_urlsafe(32)}
    with open(folder / "server.log", "wb") as log:
        owner = subprocess.Popen(
            [sys.executable, "-m", __name__, str(folder)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of the run that started it does not stop it
        )
    deadline = time.monotonic() + START_TIMEOUT
    while (server := _running(folder)) is None:
        if owner.poll() is not None or time.monotonic() > deadline:
            owner.kill()
            log = (folder / "server.log").read_text(errors="replace").strip()
            cause = one_line(log, log.splitlines()[-1] if log else "it stopped")
            raise RuntimeError(f"the warm Spark server did not start: {cause} ({folder / 'server.log'})")
        time.sleep(0.2)
    return server


def serve(folder: Path) -> None:
    """Run the folder's server until it has been idle for the idle time."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    config = {
        **json.loads((folder / "config.json").read_text()),
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": "0",  # any free port, told in server.json
    }
    spark = SparkSession(SparkContext(conf=SparkConf(loadDefaults=False).setAll(list(config.items()))))
    service = getattr(spark._jvm.org.apache.spark.sql.connect.service, "SparkConnectService$")  # a Scala object
    port = getattr(service, "MODULE$").localPort()
    server = {"port": port, "pid": os.getpid(), "token": os.environ[TOKEN_ENV]}
    write_text_atomically(folder / "server.json", json.dumps(server), mode=0o600)
    print(f"Spark Connect server on 127.0.0.1:{port}, process {os.getpid()}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops it as idleness does
    try:
        _wait_until_idle(folder, float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_SECONDS)))
    finally:
        if _running(folder) == server:  # killed: runs find out that it stopped, and start another
            (folder / "server.json").unlink()
        spark.stop()


def _wait_until_idle(folder: Path, idle_seconds: float) -> None:
    """Returns once no run has been connected for `idle_seconds`, its server no longer told to runs."""
    with open(folder / "users.lock", "a") as users:
        idle_since = time.monotonic()
        while True:
            time.sleep(POLL_SECONDS)
            if not _unused(users):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= idle_seconds:
                with _locked(folder / "start.lock"):
                    if _unused(users):  # no run connected meanwhile: from now on, runs start another
                        (folder / "server.json").unlink()
                        print(f"Stopping after {idle_seconds:g} s unused", flush=True)
                        return


def _unused(users) -> bool:
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(users, fcntl.LOCK_UN)
    return True


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
