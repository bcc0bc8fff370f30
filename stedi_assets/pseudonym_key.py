"""The key of machine_learning_curated's pseudonymous customer ids: never in the source, never in the lake.

Anyone holding the key can re-identify a pseudonym by hashing guessed emails, so it is a secret kept apart
from the curated tables. Where it comes from, the first found wins:

1. `STEDI_PSEUDONYM_KEY` (or `stedi materialize --pseudonym-key`): the key itself;
2. `STEDI_PSEUDONYM_KEY_FILE`: a file holding it;
3. `STEDI_PSEUDONYM_KEY_SECRET`: an AWS Secrets Manager secret (name or ARN). The AWS deployment requires
   it: the Glue or EMR job reads the secret itself, so the key never travels in the pipes context. The
   secret is the key as plaintext, or a key/value secret with `STEDI_PSEUDONYM_KEY_SECRET_FIELD` naming the
   field that holds it;
4. locally, a random key generated once per installation in `$STEDI_CONFIG_HOME` (default
   `~/.config/stedi`) as `pseudonym.key`, readable by its owner only. Pseudonyms are stable as long as it
   is kept; the run that creates it says where it is.
"""

import functools
import hashlib
import json
import os
import secrets
import sys
from pathlib import Path

from stedi_assets.atomic_files import write_text_atomically

KEY_ENV, FILE_ENV, SECRET_ENV, FIELD_ENV, CONFIG_ENV = (
    "STEDI_PSEUDONYM_KEY",
    "STEDI_PSEUDONYM_KEY_FILE",
    "STEDI_PSEUDONYM_KEY_SECRET",
    "STEDI_PSEUDONYM_KEY_SECRET_FIELD",
    "STEDI_CONFIG_HOME",
)


def installation_key_file() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or Path.home() / ".config" / "stedi") / "pseudonym.key"


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise ValueError(f"the pseudonym key file {path} is empty")
    return key


def _generated() -> str:
    """The installation's key, made on first use. It is written whole under a temporary name, then linked to
    its name, which fails if another first run linked one first: both runs then use that one, never a
    half-written file."""
    path = installation_key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return _read(path)
    try:
        write_text_atomically(path, secrets.token_hex(32) + "\n", exclusive=True, mode=0o600)
    except FileExistsError:
        return _read(path)
    print(
        f"stedi: generated this installation's pseudonym key in {path} (mode 0600). Keep it, and keep it away "
        "from whoever gets the curated tables: with another key the same customers get other ids.",
        file=sys.stderr,
    )
    return _read(path)


def local_pseudonym_key(explicit: str | None = None) -> str:
    """The key for a run on this machine: `explicit`, the environment's, a key file, or the installation's."""
    if explicit:
        return explicit
    if key := os.environ.get(KEY_ENV):
        return key
    if file := os.environ.get(FILE_ENV):
        return _read(Path(file))
    if os.environ.get(SECRET_ENV):
        return secret_pseudonym_key(os.environ[SECRET_ENV], os.environ.get(FIELD_ENV))
    return _generated()


def secret_pseudonym_key(secret_id: str, field: str | None = None) -> str:
    """The key stored in an AWS Secrets Manager secret (the client honours `AWS_ENDPOINT_URL`): see
    `key_in_secret`."""
    import boto3  # only where a secret is used

    return key_in_secret(
        secret_id, boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"], field
    )


def key_in_secret(secret_id: str, text: str, field: str | None) -> str:
    """The key in a secret's string: the plaintext, or the JSON field `field` of a key/value secret (the
    console's default type). A key/value secret without `field` is an error, not a key: used whole, its JSON
    would silently give every customer another pseudonym."""
    try:
        pairs = json.loads(text)
    except ValueError:
        pairs = None
    if field:
        key = pairs.get(field) if isinstance(pairs, dict) else None
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"the secret {secret_id} has no text field {field!r} ({FIELD_ENV}) holding the key")
        return key.strip()
    if isinstance(pairs, dict):
        raise ValueError(
            f"the secret {secret_id} holds key/value pairs: name the field that holds the key in {FIELD_ENV}, "
            "or store the key as plaintext"
        )
    if not text.strip():
        raise ValueError(f"the secret {secret_id} is empty")
    return text.strip()


@functools.cache
def key_id(key: str) -> str:
    """What the lake's fingerprints hold of the pseudonym key: it changes with the key, and testing a guess of
    the key against it costs scrypt's work. The key itself is never stored, and a fast hash of it would let
    whoever gets the curated tables test guesses of a weak key at billions a second."""
    return hashlib.scrypt(key.encode(), salt=b"stedi pseudonym key id", n=2**14, r=8, p=1, dklen=16).hex()
