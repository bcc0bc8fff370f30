"""Files that readers see whole or not at all: written to a hidden temporary file, then renamed over.

A writer killed before the rename leaves the previous file intact, and its temporary file behind:
`leftover_temporaries` finds those for whoever knows no writer is running (e.g. under a lock).
"""

import os
import uuid
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(temporary, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def leftover_temporaries(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*"))
