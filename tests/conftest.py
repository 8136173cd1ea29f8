"""Shared fixtures: one moto server per session, reached over HTTP."""

from __future__ import annotations

import sys
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.ansible_run import collections_root  # noqa: E402
from tests.support.moto_server import moto_server  # noqa: E402
from tests.support.world import World  # noqa: E402

# Helpers and servers share two cores with the tests: judge examples, not their speed.
settings.register_profile("shared-cpu", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-cpu")

# The core is imported as Ansible imports it: from ansible_collections.redrive.eventbridge.
_COLLECTIONS = collections_root(
    Path(tempfile.gettempdir()) / f"redrive-collections-{zlib.crc32(str(REPO).encode()):08x}"
)
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def world(moto_url: str) -> World:
    return World(moto_url)
