"""What this installation of etalon is made of: package and key library versions."""

from __future__ import annotations

import platform
from importlib import metadata

__all__ = ["KEY_LIBRARIES", "library_versions"]

#: the libraries etalon's results depend on, in the order they are shown
KEY_LIBRARIES = (
    "etalon", "numpy", "scipy", "astropy", "matplotlib", "netCDF4", "spiceypy",
    "dask", "distributed", "papermill", "nbconvert", "ipywidgets", "jplephem", "tqdm",
)


def library_versions(names: tuple[str, ...] = KEY_LIBRARIES) -> dict[str, str]:
    """``{name: version}`` for Python and each installed library (``"not installed"`` otherwise)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
