import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from stedi_assets.jvm_classes import CLASS_CACHE_ENV
from stedi_assets.pseudonym_key import CONFIG_ENV
from stedi_assets.run_log import LOG_DIR_ENV
from stedi_assets.spark_config import spark_config

REPO_ROOT = Path(__file__).resolve().parents[1]

# The AWS job tests' shared module is their plugin and a module they import: its asserts are rewritten either way.
pytest.register_assert_rewrite("stedi_assets_tests.aws_jobs")

# Spark JVMs that the tests start keep their class archive (`stedi_assets.jvm_classes`) in a folder of the test
# session, never in the user's cache; STEDI_JVM_CLASS_CACHE=off turns it off for the tests too. One folder for
# the whole session: pytest-xdist's workers take the one that the process starting them made, so one `stedi`
# process records and saves the archive (some 20 s more than a run) and every later one, of either worker, starts
# from it.
SESSION_CLASS_CACHE = "STEDI_TESTS_CLASS_CACHE"
if os.environ.get(CLASS_CACHE_ENV) != "off":
    if "PYTEST_XDIST_WORKER" in os.environ and os.environ.get(SESSION_CLASS_CACHE):
        os.environ[CLASS_CACHE_ENV] = os.environ[SESSION_CLASS_CACHE]
    else:
        os.environ[CLASS_CACHE_ENV] = os.environ[SESSION_CLASS_CACHE] = tempfile.mkdtemp(prefix="stedi-jvm-classes-")
        atexit.register(shutil.rmtree, os.environ[CLASS_CACHE_ENV], ignore_errors=True)
# Likewise the installation's pseudonym key (`stedi_assets.pseudonym_key`), generated in the test session's own
# folder, never in the user's config, and the logs of `stedi materialize` (`stedi_assets.run_log`).
for variable, prefix in ((CONFIG_ENV, "stedi-config-"), (LOG_DIR_ENV, "stedi-logs-")):
    os.environ[variable] = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, os.environ[variable], ignore_errors=True)
STARTER_DATA = Path(os.environ.get("STEDI_STARTER_DATA", REPO_ROOT.parent / "shared" / "data" / "stedi-starter"))

# The data contract's table of expected counts on the public starter data, laid out as it is there.
# Each column's options, as keyword arguments of the resources and of the reference implementation.
COLUMN_OPTIONS = {
    "default": {},
    "ml_join=timestamp": {"ml_join": "timestamp"},
    "consent_cutoff=on": {"consent_cutoff": True},
}
OPTION_COLUMNS = tuple(COLUMN_OPTIONS)
CONTRACT_TABLE = {
    "customer_landing": (956, 956, 956),
    "accelerometer_landing": (81273, 81273, 81273),
    "step_trainer_landing": (28680, 28680, 28680),
    "customer_trusted": (482, 482, 482),
    "accelerometer_trusted": (40981, 40981, 32025),
    "step_trainer_trusted": (14460, 14460, 11297),
    "customer_curated": (482, 482, 464),
    "machine_learning_curated": (40981, 43681, 32025),
    "training_set": (40981, 43681, 32025),  # every machine_learning_curated row
}
CONTRACT_COUNTS = {
    column: {table: counts[i] for table, counts in CONTRACT_TABLE.items()} for i, column in enumerate(OPTION_COLUMNS)
}


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    """The same local session the assets use (getOrCreate): one JVM for the whole test run, set up as a run over
    small landing data is, with the jars for lakes on S3 too."""
    return SparkSession.builder.config(map=spark_config("local[*]", landing_bytes=0, s3_lake=True)).getOrCreate()


@pytest.fixture
def spark_jobs(spark):
    """How many Spark jobs the test has run so far: the jobs of a job group of its own (Spark's status store keeps
    only the latest jobs of a session), counted once Spark's listeners have heard of every job started."""
    context = spark.sparkContext
    group = f"test-{uuid.uuid4().hex}"
    context.setJobGroup(group, "the jobs a test counts")

    def count() -> int:
        context._jsc.sc().listenerBus().waitUntilEmpty()  # the status store hears of jobs from its listener
        return len(context.statusTracker().getJobIdsForGroup(group))

    yield count
    context.setLocalProperty("spark.jobGroup.id", None)


@pytest.fixture(scope="session")
def starter_data() -> Path:
    if not (STARTER_DATA / "customer" / "landing").is_dir():
        missing = f"public starter data not found at {STARTER_DATA} (set STEDI_STARTER_DATA)"
        if os.environ.get("CI") == "true":  # CI checks the contract: its data missing is a failure, not a skip
            pytest.fail(missing)
        pytest.skip(missing)
    return STARTER_DATA


@pytest.fixture(scope="session")
def materialized_sample(spark, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Sample landing data, materialized by `stedi materialize` into a fresh DAGSTER_HOME, once per test session.

    Returns the folder (`home/`, `landing/`, `lake/`) and the environment to run Dagster on it. Shared by
    the webserver and browser tests: they only read it (the webserver test expects the CLI's one run). Under
    pytest-xdist the first worker to ask builds it in the session's shared temporary folder while holding a
    file lock, and the other finds it there (pytest-xdist's recipe for session fixtures). The run goes in the
    test process, on the session's Spark.
    """
    from filelock import FileLock

    from stedi_assets.cli import main
    from stedi_assets.sample import write_sample_landing
    from stedi_assets_tests.servers import dagster_env, instance_env

    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:  # a worker's folder is in the session's
        shared = shared.parent
    tmp = shared / "materialized_sample"
    landing, lake = tmp / "landing", tmp / "lake"
    # The pseudonym key the run used stays with the lake it keyed, not in the folder of the worker that built
    # it (removed when that worker exits).
    key_config = {CONFIG_ENV: str(tmp / "config")}
    with FileLock(f"{tmp}.lock"):
        if (tmp / "built").exists():
            return tmp, {**instance_env(tmp / "home", landing, lake), **key_config}
        shutil.rmtree(tmp, ignore_errors=True)  # what a failed build left
        env = {**dagster_env(tmp / "home", landing, lake), **key_config}
        write_sample_landing(landing)
        with pytest.MonkeyPatch.context() as patch:
            for name in ("DAGSTER_HOME", CONFIG_ENV):
                patch.setenv(name, env[name])
            assert main(["materialize", "--landing", str(landing), "--lake", str(lake)]) == 0
        (tmp / "built").touch()
        return tmp, env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with slow tests first. With `--dist loadfile --no-loadscope-reorder` (pytest.ini) the workers take
    modules in this order, so the long ones start early and the many short ones fill in at the end. Measured on
    a clean clone it did not shorten the suite (36:48 without, 36:54 with): the two workers were already evenly
    loaded. It stays because the suite passed with this order (a run with xdist's order showed setup errors
    not yet explained)."""
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_modules)
