"""A real AWS API on loopback for the tests: moto's server, and boto3 clients pointed at it.

Use from a test module with `pytest_plugins = ["stedi_assets_tests.aws"]`, so every module shares
the one session-scoped server. Keep tests apart by naming their own buckets and databases.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The session's moto endpoint URL; sets no environment variable."""
    with moto_server() as endpoint:
        yield endpoint


def aws_client(service: str, endpoint: str):
    """A boto3 client for `service` on the moto server at `endpoint`, with fake credentials."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **FAKE_CREDENTIALS)


@pytest.fixture
def moto_client(moto_endpoint: str) -> Callable[[str], object]:
    """`moto_client("glue")`: a client on the session's server. A fixture, so test modules need not import
    this module: imported before pytest loads it as a plugin, it would warn that it cannot be rewritten."""
    return lambda service: aws_client(service, moto_endpoint)


@pytest.fixture
def moto_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """For one test, clients built from the environment (`boto3.client("s3")`) reach moto, and only moto:
    every other `AWS_` variable (profiles, per-service endpoints, real keys) is removed."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return moto_endpoint
