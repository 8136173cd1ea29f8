"""botocore sessions whose service models look like an older botocore's.

An older botocore differs from today's, for what the core uses, only in its service models
(which operations and request members they have), so a session that loads a trimmed copy
of today's model builds real clients that behave like the old ones, without installing
an old botocore.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import botocore
import botocore.session

DATA = Path(botocore.__file__).parent / "data"


def _model(service: str) -> tuple[str, dict[str, Any]]:
    (folder,) = sorted((DATA / service).iterdir())[-1:]
    with gzip.open(folder / "service-2.json.gz", "rt", encoding="utf-8") as stream:
        return folder.name, json.load(stream)


def without(
    base: Path,
    service: str,
    operations: Iterable[str] = (),
    members: Iterable[tuple[str, str]] = (),
) -> Path:
    """A data path whose `service` model lacks these operations and (shape, member)s."""
    version, model = _model(service)
    for operation in operations:
        del model["operations"][operation]
    for shape, member in members:
        del model["shapes"][shape]["members"][member]
    folder = base / service / version
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "service-2.json").write_text(json.dumps(model), encoding="utf-8")
    return base


def session_with(data_path: Path) -> Any:
    """A botocore session that finds the trimmed models first and everything else as usual."""
    session = botocore.session.Session()
    session.get_component("data_loader").search_paths.insert(0, str(data_path))
    session.set_credentials("testing", "testing")
    return session
