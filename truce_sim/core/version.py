"""What a result was computed with: the package's version and a fingerprint of the model's code
and constants. A sweep resumed under a different fingerprint would mix two models' points."""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent


def package_version() -> str:
    try:
        return metadata.version("truce-sim")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def model_fingerprint() -> str:
    """A hash of the version, the model's code and constants (core/) and the code that runs
    worlds and computes their metrics (runs/)."""
    digest = hashlib.sha256(package_version().encode())
    for path in sorted([*PACKAGE.glob("core/*.py"), PACKAGE / "core" / "defaults.yaml", *PACKAGE.glob("runs/*.py")]):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
