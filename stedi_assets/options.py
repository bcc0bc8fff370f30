"""The contract's options and the platform's defaults, as plain values (no Spark, no Dagster)."""

import math
import re
from dataclasses import dataclass

ML_JOIN_MODES = ("customer", "timestamp")
DEFAULT_RETAIN_DAYS = 7  # how long old snapshots (and a withdrawn customer's rows in them) are kept


@dataclass(frozen=True)
class StediOptions:
    """The contract's options, the key of the pseudonymous customer ids, and size limits."""

    ml_join: str = "customer"  # or "timestamp"
    consent_cutoff: bool = False
    split_shares: tuple[float, ...] = (0.70, 0.15, 0.15)  # of customers in training_set: train, validation, test
    max_file_size: int = 2**30  # bytes of a landing file, once decompressed, past which it is one quarantine row
    max_record_size: int = 2**20  # bytes of a line or array element, past which it is quarantined
    pseudonym_key: str | None = None  # the key (runs on this machine, see `pseudonym_key.py`)...
    pseudonym_key_secret: str | None = None  # ... or the AWS secret a Glue or EMR job reads it from,
    pseudonym_key_secret_field: str | None = None  # ... and the field holding it in a key/value secret


_SIZE = re.compile(r"\s*([0-9]+)\s*(KiB|MiB|GiB)?\s*")
_UNITS = {"GiB": 2**30, "MiB": 2**20, "KiB": 2**10, None: 1}


def parse_size(text: str) -> int:
    """ "1GiB", "512 KiB" or a number of bytes -> bytes; ValueError saying what is expected otherwise."""
    match = _SIZE.fullmatch(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"not a size: {text!r} (write it as bytes, or with KiB, MiB or GiB, for example 1GiB)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def size_text(size: int) -> str:
    """1073741824 -> "1 GiB": a size as people write it (and `parse_size` reads it back)."""
    for unit, factor in _UNITS.items():
        if unit and size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size:,} bytes"


def parse_split(text: str) -> tuple[float, float, float]:
    """ "70/15/15" (train/validation/test, any positive scale) -> shares of 1; ValueError saying what is
    expected otherwise."""
    try:
        parts = [float(part) for part in text.split("/")]
    except ValueError:
        parts = []
    if len(parts) != 3 or not all(part >= 0 for part in parts) or not 0 < sum(parts) < math.inf:
        raise ValueError(f"a split is three shares train/validation/test, such as 70/15/15, not {text!r}")
    return tuple(part / sum(parts) for part in parts)


def split_text(shares: tuple[float, ...]) -> str:
    return "/".join(f"{share * 100:g}" for share in shares)
