"""What a Glue or EMR Serverless job loads, built from this source tree (docs/aws.md): the package's wheel, the
entry script, and for EMR Serverless a virtualenv archive that brings its own Python.

The engines give a job Spark's `pyspark`; Glue 5.0 also gives boto3, pandas, numpy and pyarrow 17. The code needs
Python 3.10 or newer, which EMR 7's own Python (3.9) is not.
"""

import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

import stedi_assets

# What the job imports beyond what Glue 5.0 gives it: Dagster's Pipes of the Dagster release setup.py pins,
# pandera without its pyspark extra (the engine brings Spark), and pyiceberg as setup.py pins it, with the pyarrow
# its pyarrow support declares (Glue 5.0's 17.0.0 is older).
GLUE_MODULES = ("dagster-pipes==1.13.27", "pandera==0.35.0", "pyiceberg==0.12.0", "pyarrow==18.1.0")
# A Python of the job's own has nothing: the rest too, at versions the code is tested with.
EMR_MODULES = (*GLUE_MODULES, "boto3==1.34.131", "pandas==2.2.3", "numpy==1.26.4")

SOURCE = Path(stedi_assets.__file__).resolve().parent.parent
ENTRY_SCRIPT = Path(__file__).resolve().with_name("entry.py")
EMR_ARCHIVE = "stedi-venv.tar.gz"


class PackageError(Exception):
    """What stops a build of the artifacts, said for the person running it."""


def pip(python: Path | str, *arguments: str) -> None:
    """pip of `python`, its own messages kept for the error it raises."""
    done = subprocess.run([str(python), "-m", "pip", *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise PackageError(f"pip {' '.join(arguments[:2])} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def build_wheel(out: Path) -> Path:
    """The package's wheel without its dependencies (the job's modules come apart), from the source checkout."""
    if not (SOURCE / "setup.py").exists():
        raise PackageError(f"no setup.py in {SOURCE}: build the artifacts from a checkout of the project's source")
    pip(sys.executable, "wheel", "--use-pep517", "--no-deps", "--quiet", "--wheel-dir", str(out), str(SOURCE))
    return next(out.glob("stedi_assets-*.whl"))


def copy_entry_script(out: Path) -> Path:
    return Path(shutil.copy(ENTRY_SCRIPT, out / "entry.py"))


# The archive's `bin/python`: its interpreter, finding first the Python library the archive holds (if it was built
# with one), wherever the archive is unpacked; the library's folder in the binary is the build machine's.
LAUNCHER = """#!/bin/sh
here="$(dirname "$0")"
LD_LIBRARY_PATH="$here/../lib${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}" exec "$here/{interpreter}" "$@"
"""


def build_emr_archive(wheel: Path, out: Path) -> Path:
    """This Python's interpreter, its library and standard library with the job's packages on its own site path, as
    an archive that runs wherever it is unpacked (EMR Serverless unpacks `spark.archives` in the job's working
    folder): with no `pyvenv.cfg`, the interpreter finds its prefix next to itself. venv-pack is not used: it
    packs a virtualenv for a machine with the same Python at the same path, and EMR 7 has no Python 3.10 or
    newer."""
    interpreter = Path(sys._base_executable).resolve()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    with tempfile.TemporaryDirectory(prefix="stedi-emr-") as work:
        environment = Path(work) / "environment"
        (environment / "bin").mkdir(parents=True)
        shutil.copy2(interpreter, environment / "bin" / version)
        ignored = shutil.ignore_patterns("site-packages", "dist-packages", "test", "config-*")  # config: to compile
        shutil.copytree(sysconfig.get_path("stdlib"), environment / "lib" / version, ignore=ignored)
        library = sysconfig.get_config_var("INSTSONAME")  # named in the binary when it loads Python from it
        if library and library.encode() in interpreter.read_bytes():
            shutil.copy2(Path(sysconfig.get_config_var("LIBDIR")) / library, environment / "lib" / library)
        launcher = environment / "bin" / "python"
        launcher.write_text(LAUNCHER.format(interpreter=version))
        launcher.chmod(0o755)
        (environment / "bin" / "python3").symlink_to("python")
        # The copied interpreter's own site folder (Debian's Python names it otherwise than python.org's).
        ask = [str(launcher), "-c", "import site; print(site.getsitepackages()[0])"]
        site_packages = subprocess.run(ask, capture_output=True, text=True, check=True).stdout.strip()
        if not Path(site_packages).is_relative_to(environment):
            raise PackageError(f"{interpreter} copied still looks for its packages in {site_packages}")
        pip(sys.executable, "install", "--quiet", "--target", site_packages, "--no-deps", str(wheel))
        pip(sys.executable, "install", "--quiet", "--target", site_packages, *EMR_MODULES)
        archive = out / EMR_ARCHIVE
        with tarfile.open(archive, "w:gz", compresslevel=1) as packed:
            for part in sorted(environment.iterdir()):
                packed.add(part, arcname=part.name)
    return archive


def package(out: Path, emr: bool) -> list[Path]:
    """The artifacts into `out`: the wheel and the entry script, and with `emr` the EMR virtualenv archive."""
    out.mkdir(parents=True, exist_ok=True)
    wheel = build_wheel(out)
    return [wheel, copy_entry_script(out), *([build_emr_archive(wheel, out)] if emr else [])]
