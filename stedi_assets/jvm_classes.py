"""A class archive for the local Spark JVM (Java's AppCDS): each run's JVM starts about 4 s sooner.

Every local run starts a JVM that loads and verifies the same thousands of classes from Spark's jars, and the first
queries load more. Java (13+) can map them, ready, from an archive instead. `stedi materialize` saves one at
the end of its first successful run (about 100 to 200 MB, in `$STEDI_JVM_CLASS_CACHE`, by default
`~/.cache/stedi`); every local Spark session started afterwards with the same Java and Spark starts from it:
the CLI's, the runs of `dagster dev`, the benchmark's baselines. `STEDI_JVM_CLASS_CACHE=off` turns it off.

An archive is only a faster start: the JVM checks it against its classpath and ignores one that does not fit.
"""

import functools
import hashlib
import os
import re
import shutil
from pathlib import Path

from stedi_assets.atomic_files import written_whole

CLASS_CACHE_ENV = "STEDI_JVM_CLASS_CACHE"
# The JVM warns about each class it cannot archive (thousands) and any archive it does not use; none of it
# changes what a run computes.
_QUIET = "-Xlog:cds*=off"


def _java() -> str | None:
    """The Java that Spark's launcher runs: `$JAVA_HOME/bin/java`, else `java` on the PATH."""
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")


def _java_version(java: str | None) -> str | None:
    """The version of `java`, from the `release` file of its installation; None if it cannot tell."""
    if not java or not os.path.exists(java):
        return None
    try:
        release = (Path(os.path.realpath(java)).parents[1] / "release").read_text()
    except OSError:
        return None
    found = re.search(r'^JAVA_VERSION="([^"]+)"', release, re.M)
    return found.group(1) if found else None


def _major(java_version: str) -> int:
    """17 for "17.0.15", 8 for "1.8.0_412"."""
    parts = re.findall(r"\d+", java_version)
    return int(parts[1]) if parts[0] == "1" and len(parts) > 1 else int(parts[0])


@functools.cache
def archive_path() -> Path | None:
    """Where the archive for this Java and this Spark is (or will be); None when there is to be none."""
    folder = os.environ.get(CLASS_CACHE_ENV) or str(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stedi"
    )
    java = _java()
    version = _java_version(java)
    if folder == "off" or version is None or _major(version) < 13 or re.search(r"[\s'\"]", folder):
        return None  # Java 13 brought dynamic archives; Spark's option parsing would split a path with spaces
    from pyspark import __version__ as pyspark_version
    from pyspark.find_spark_home import _find_spark_home

    jars = os.path.realpath(Path(_find_spark_home()) / "jars")
    identity = [java, version, jars, pyspark_version]
    key = hashlib.sha256(repr(identity).encode()).hexdigest()[:16]
    return Path(folder) / f"spark-classes-{key}.jsa"


def java_options(record: bool = False) -> str:
    """Options for the local driver JVM: start from the archive once there is one. Until then, with `record`,
    keep what is needed to save it from the running JVM (`save_archive`); that costs the run about 7 s, so
    only a run that can save it asks for it: not one whose cache folder cannot be written (`save_archive`
    then says why)."""
    archive = archive_path()
    if archive is None:
        return ""
    if archive.exists():
        return f"-XX:SharedArchiveFile={archive} {_QUIET}"
    return f"-XX:+RecordDynamicDumpInfo {_QUIET}" if record and _can_write(archive.parent) else ""


def _can_write(folder: Path) -> bool:
    """Whether `folder` can be made, if missing, and written: its nearest existing ancestor is a folder this
    user may write in (nothing is created to find out)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)


def save_archive() -> Path | None:
    """Archive the classes that this process's Spark JVM has loaded, if there is no archive yet and the JVM
    can (one started with `java_options()` before an archive existed); the archive saved, if any. A cache
    folder that cannot be made or written raises, whether the JVM recorded or not.

    The JVM writes it while it keeps running (a few seconds), to a file of its own first, so that a JVM
    starting meanwhile never maps a half-written one.
    """
    from pyspark import SparkContext

    context, archive = SparkContext._active_spark_context, archive_path()
    if context is None or archive is None or archive.exists():
        return None
    archive.parent.mkdir(parents=True, exist_ok=True)  # raises, saying why, for a folder that cannot be made
    if not _can_write(archive.parent):
        raise PermissionError(f"{archive.parent} is not writable")
    if not _records_classes(context):
        return None
    with written_whole(archive) as partial:
        _diagnostic_command(context, "vmCds", "dynamic_dump", str(partial))
    return archive if archive.exists() else None


def _records_classes(context) -> bool:
    jvm = context._jvm
    diagnostics = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    return diagnostics.getVMOption("RecordDynamicDumpInfo").getValue() == "true"


def _diagnostic_command(context, command: str, *arguments: str) -> str:
    """What `jcmd` does, from inside the JVM: a HotSpot diagnostic command through the platform MBean server.

    Called by reflection on the `MBeanServer` interface: py4j would look the method up on the server's
    class, which Java's modules do not let it call."""
    gateway = context._gateway
    jvm = gateway.jvm

    def array(of, values):
        result = gateway.new_array(of, len(values))
        for i, value in enumerate(values):
            result[i] = value
        return result

    find = jvm.java.lang.Class.forName
    parameters = ("javax.management.ObjectName", "java.lang.String", "[Ljava.lang.Object;", "[Ljava.lang.String;")
    invoke = find("javax.management.MBeanServer").getMethod(
        "invoke", array(jvm.java.lang.Class, [find(name) for name in parameters])
    )
    diagnostics = jvm.javax.management.ObjectName("com.sun.management:type=DiagnosticCommand")
    call = [
        diagnostics,
        command,
        array(jvm.java.lang.Object, [array(jvm.java.lang.String, list(arguments))]),
        array(jvm.java.lang.String, ["[Ljava.lang.String;"]),
    ]
    server = jvm.java.lang.management.ManagementFactory.getPlatformMBeanServer()
    return invoke.invoke(server, array(jvm.java.lang.Object, call))
