"""A failure told in one line a person can act on: its cause, found in the error's whole text (Spark's and the
JVM's included), and what to do. No Python or Java class names: the full trace stays in the log."""

import re

# A landing file or one of the lake's own: the path in the line says which.
_VANISHED = (
    "a file vanished while the run read it: landing files, and the lake's own files, must not be moved or deleted"
)

# Causes seen under a failed step or maintenance run, the commonest first found, with what to do.
KNOWN_CAUSES = (
    ("No space left on device", "the disk is full: free space on it, or choose another --lake"),
    ("database or disk is full", "the disk is full: free space on it, or choose another --lake"),  # SQLite's words
    ("Disk quota exceeded", "the disk quota is used up: free space, or choose another --lake"),
    ("Read-only file system", "the lake's file system is read-only: choose another --lake"),
    ("Operation not permitted", "the lake may not be written there: check the folder's permissions and flags"),
    ("Permission denied", "the lake may not be written there: check the folder's permissions"),
    ("Mkdirs failed", "the lake may not be written there: check the folder's permissions and flags, and free space"),
    ("OutOfMemoryError", "Spark ran out of memory: give it more (SPARK_DRIVER_MEMORY) or land smaller files"),
    (
        "value appeared in non-nullable field",  # Spark 3.5 writes "Null value", 4.x "NULL value"
        "a row has no value in a column the contract requires: a bug, report it",
    ),
    ("NoSuchFileException", _VANISHED),
    ("FileNotFoundException", _VANISHED),
)
# Java's dotted class names and Python's plain ones (pyiceberg's file errors are `PermissionError: ...`).
_CLASS_PREFIX = re.compile(r"^(?:Caused by: )?(?:[\w$]+\.)*[\w$]*(?:Exception|Error)[\w$]*: ")


def _plain(line: str) -> str:
    """A line of a trace without its leading exception class names."""
    line = line.strip().lstrip(": ").strip()
    while _CLASS_PREFIX.match(line):
        line = _CLASS_PREFIX.sub("", line, count=1)
    return line


def explain(text: str) -> str | None:
    """The line of `text` that holds a known cause, without class names, and what to do; None if none does."""
    lines = text.splitlines()
    for needle, advice in KNOWN_CAUSES:
        found = [line for line in lines if needle in line]
        if found:
            return f"{_plain(found[-1])[:300]}: {advice}"
    return None


def one_line(error_text: str, message: str) -> str:
    """The known cause in `error_text`, else the first line of `message` (the innermost error's), plainly."""
    return explain(error_text) or _plain(message.strip().splitlines()[0] if message.strip() else "unknown error")
