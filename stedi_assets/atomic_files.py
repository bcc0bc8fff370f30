"""Files that readers see whole or not at all: written under a hidden temporary name beside them, then renamed
over (or linked to) their name in one step. A writer killed midway leaves the previous file intact."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(path: Path, exclusive: bool = False) -> Iterator[Path]:
    """A temporary path to write `path`'s content to (or to have another process write it to). When the block
    ends without an error, a file written there becomes `path`: renamed over it, or with `exclusive`, linked
    to it, which raises `FileExistsError` if another writer made `path` first. The temporary name is gone
    afterwards either way."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        yield temporary
        if temporary.exists():
            (os.link if exclusive else os.replace)(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str, exclusive: bool = False, mode: int = 0o666) -> None:
    """`text` as `path`'s whole content, on disk before it takes the name (`written_whole`); `mode` before
    the umask."""
    with written_whole(path, exclusive) as temporary:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
