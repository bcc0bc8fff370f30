"""Where `stedi materialize` and `stedi maintain` write: their own lines to the terminal, everything else to a
log file they name.

Spark's JVM, Ivy, the JVM that saves the class archive and Python warnings write straight to the process's file
descriptors 1 and 2 (the JVMs inherit them when they start), so the noise is moved there, at the descriptors; the
command's own lines keep going to the terminal through copies of the descriptors taken before the move.
"""

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, TextIO

LOG_DIR_ENV = "STEDI_LOG_DIR"
KEEP_LOGS = 20  # the newest logs stay; a run that needs an older one is long forgotten


class Terminal(NamedTuple):
    out: TextIO
    err: TextIO


def log_dir() -> Path:
    return Path(os.environ.get(LOG_DIR_ENV) or Path.home() / ".cache" / "stedi" / "logs")


def new_log_file(command: str) -> Path:
    """A fresh log file for one run, in `log_dir()`, the oldest beyond KEEP_LOGS deleted."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob(f"{command}-*.log"))[: -KEEP_LOGS + 1]:
        old.unlink(missing_ok=True)
    return folder / f"{command}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}.log"


def _still_to_terminal(stream: TextIO, fd: int, copy: int) -> TextIO:
    """`stream` if it does not write to `fd` (e.g. a stream a test captures); else a stream on `copy` of it."""
    try:
        if stream.fileno() != fd:
            return stream
    except (AttributeError, OSError, ValueError):  # no file descriptor behind it
        return stream
    return open(copy, "w", buffering=1, encoding=stream.encoding, errors="replace", closefd=False)


@contextmanager
def noise_to(log: Path | None) -> Iterator[Terminal]:
    """Descriptors 1 and 2 appended to `log` meanwhile; yields the streams that still reach the terminal.
    With no log (`--verbose`), everything stays on the terminal."""
    if log is None:
        yield Terminal(sys.stdout, sys.stderr)
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    copies = {fd: os.dup(fd) for fd in (1, 2)}
    with open(log, "ab") as file:
        for fd in copies:
            os.dup2(file.fileno(), fd)
    terminal = Terminal(_still_to_terminal(sys.stdout, 1, copies[1]), _still_to_terminal(sys.stderr, 2, copies[2]))
    try:
        yield terminal
    finally:
        for stream in (*terminal, sys.stdout, sys.stderr):
            stream.flush()
        for fd, copy in copies.items():
            os.dup2(copy, fd)
            os.close(copy)
