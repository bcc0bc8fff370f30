"""Find landing files and the ingest date each belongs to (the contract's rule)."""

import dataclasses
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

SOURCES = ("customer", "accelerometer", "step_trainer")
LANDING_SUFFIXES = (".json", ".json.gz")
_DATE_FOLDER = re.compile(r"ingest_date=(.*)")
_EPOCH_MS_IN_NAME = re.compile(r"(?<!\d)(\d{13})\.json(\.gz)?$")


class LandingLayoutError(ValueError):
    """The landing root does not follow `<root>/<source>/landing/[ingest_date=YYYY-MM-DD/]<name>.json`."""


@dataclass(frozen=True)
class LandingFile:
    source: str
    path: str
    ingest_date: str
    size: int
    modified_ns: int
    etag: str = ""  # S3 only: its times have one-second resolution, so a same-size rewrite shows only here
    landed_name: str = ""  # the name it landed with, where `path` is a stand-in with a plain name (`local_copies`)

    @property
    def name(self) -> str:
        """The file's name as landed: what its rows record as `source_file`."""
        return self.landed_name or self.path.rsplit("/", 1)[-1]


def _utc_date(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).date().isoformat()


def ingest_date_of(path: str, modified_epoch_seconds: float) -> str:
    """The `ingest_date=` folder, else the epoch-ms in the file name, else the modification date."""
    parts = path.replace("\\", "/").split("/")
    folder = _DATE_FOLDER.fullmatch(parts[-2]) if len(parts) > 1 else None
    if folder:
        try:
            return date.fromisoformat(folder.group(1)).isoformat()
        except ValueError:
            raise LandingLayoutError(
                f"malformed ingest date folder '{parts[-2]}' in {path}: rename it to ingest_date=YYYY-MM-DD"
            ) from None
    epoch_ms = _EPOCH_MS_IN_NAME.search(parts[-1])
    if epoch_ms:
        return _utc_date(int(epoch_ms.group(1)) / 1000)
    return _utc_date(modified_epoch_seconds)


def bucket_and_key(url: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> ("bucket", "some/key"); the key is empty for a bare bucket."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def _is_landing_name(name: str) -> bool:
    """Only `.json` and `.json.gz` files count; names starting with `_` or `.` are in-flight uploads
    or tool files (Spark's own convention) and are left alone."""
    return name.endswith(LANDING_SUFFIXES) and not name.startswith(("_", "."))


def list_landing_files(landing_root: str, source: str) -> list[LandingFile]:
    """Every landing file of a source, sorted by absolute path (or `s3://` URL); a missing source folder has none."""
    if landing_root.startswith("s3://"):
        return _list_s3_landing_files(landing_root, source)
    root = Path(os.path.abspath(landing_root))
    if not root.is_dir():
        raise LandingLayoutError(f"landing root {landing_root} is not a readable folder")
    source_dir = root / source / "landing"
    candidates = [*source_dir.glob("*"), *source_dir.glob("ingest_date=*/*")]
    real_root = Path(os.path.realpath(root))
    files = []
    for path in sorted(candidates):
        if not Path(os.path.realpath(path)).is_relative_to(real_root):
            raise LandingLayoutError(f"{path} links outside the landing root: copy the file in instead")
        if path.is_file() and _is_landing_name(path.name):
            stat = path.stat()
            ingest_date = ingest_date_of(str(path), stat.st_mtime)
            files.append(LandingFile(source, str(path), ingest_date, stat.st_size, stat.st_mtime_ns))
    return files


def local_landing_bytes(landing_root: str) -> int | None:
    """The size of the landing files under a local root, which tunes local Spark (`spark_config`); None for an
    `s3://` root (listing it costs requests) or a folder that is not a readable landing root (the run says why)."""
    if landing_root.startswith("s3://"):
        return None
    try:
        return sum(file.size for source in SOURCES for file in list_landing_files(landing_root, source))
    except LandingLayoutError:
        return None


@dataclass(frozen=True)
class LandingRoot:
    """The folder (or `s3://` prefix) holding `<source>/landing/...`; files there are only ever read."""

    root: str

    def files(self, source: str, partition_keys: list[str] | None = None) -> list[LandingFile]:
        files = list_landing_files(self.root, source)
        return [f for f in files if partition_keys is None or f.ingest_date in partition_keys]


def _list_s3_landing_files(landing_root: str, source: str) -> list[LandingFile]:
    """The same layout under `s3://bucket/prefix`, from object listings alone (nothing is read).

    The client comes from the environment, so `AWS_ENDPOINT_URL` and the usual credentials apply."""
    import boto3  # here, not at the top: local roots, and the no-op `stedi materialize`, skip its import time
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = bucket_and_key(landing_root)
    source_prefix = "/".join(part for part in (prefix.strip("/"), source, "landing") if part) + "/"
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=source_prefix)
    files = []
    try:
        for page in pages:
            for entry in page.get("Contents", []):
                key = entry["Key"]
                *folders, name = key.removeprefix(source_prefix).split("/")
                in_layout = not folders or (len(folders) == 1 and folders[0].startswith("ingest_date="))
                if not (in_layout and _is_landing_name(name)):
                    continue
                modified = entry["LastModified"].timestamp()
                files.append(
                    LandingFile(
                        source,
                        f"s3://{bucket}/{key}",
                        ingest_date_of(key, modified),
                        entry["Size"],
                        int(modified * 1_000_000) * 1000,
                        entry["ETag"].strip('"'),
                    )
                )
    except (BotoCoreError, ClientError) as error:
        raise LandingLayoutError(f"landing root {landing_root} is not readable: {error}") from None
    return sorted(files, key=lambda file: file.path)


def files_fingerprint(files: list[LandingFile]) -> str:
    """Changes when a file is added, removed, or rewritten (size, modification time or S3 ETag).

    Without an ETag the text hashed is as before, so lakes built from local roots keep their fingerprints."""
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda f: f.path):
        etag = f"\0{file.etag}" if file.etag else ""
        digest.update(f"{file.path}\0{file.size}\0{file.modified_ns}{etag}\n".encode())
    return digest.hexdigest()


def fingerprints_by_ingest_date(files: list[LandingFile]) -> dict[str, str]:
    """The fingerprint of each ingest date's files: what the lake records as parsed, and the sensor compares."""
    dates = sorted({file.ingest_date for file in files})
    return {date: files_fingerprint([file for file in files if file.ingest_date == date]) for date in dates}


# Hadoop reads a path as a glob and a URI: `[`, `{`, `*`, `?`, `:` and the like in a name break it. Paths of
# these characters only are read as they are.
_PLAIN_PATH = re.compile(r"[\w./=+-]+", re.ASCII)


def local_copies(files: list[LandingFile], folder: str) -> list[LandingFile]:
    """The files as a local Spark can read them: those on S3 downloaded into `folder` (local Spark has no S3
    filesystem), and local ones whose path Hadoop would misread (`_PLAIN_PATH`) linked there.

    A stand-in has a plain name and sits in an `ingest_date=` folder of its file's ingest date, so the parser
    dates it as the listing did; `landed_name` keeps the original's name, and a download its modification time.
    Glue and EMR read `s3://` themselves."""
    copies = []
    for number, file in enumerate(files):
        on_s3 = file.path.startswith("s3://")
        if not on_s3 and _PLAIN_PATH.fullmatch(file.path):
            copies.append(file)
            continue
        suffix = next(suffix for suffix in reversed(LANDING_SUFFIXES) if file.name.endswith(suffix))
        copy = Path(folder) / file.source / str(number) / f"ingest_date={file.ingest_date}" / f"landed{suffix}"
        copy.parent.mkdir(parents=True)
        if on_s3:
            import boto3  # as in `_list_s3_landing_files`: only for S3 roots

            boto3.client("s3").download_file(*bucket_and_key(file.path), str(copy))
            os.utime(copy, ns=(file.modified_ns, file.modified_ns))
        else:
            copy.symlink_to(os.path.abspath(file.path))
        copies.append(dataclasses.replace(file, path=str(copy), landed_name=file.name))
    return copies
