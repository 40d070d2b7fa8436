"""File handling shared by every writer: atomic output, clear input errors.

Outputs are written to a temporary file in the destination folder and renamed
into place, so a crash never leaves a half-written product and an existing
product is replaced in one step. Inputs are opened read-only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["EtalonInputError", "atomic_output", "require_file"]


class EtalonInputError(ValueError):
    """An input file is missing, unreadable or not what it should be.

    The message always starts with the file name.
    """

    def __init__(self, path: str | os.PathLike[str] | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


def require_file(path: str | os.PathLike[str], what: str = "input file") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` after checking it is a readable file.

    Raises
    ------
    EtalonInputError
        Naming the file, when it does not exist, is a folder or cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise EtalonInputError(p, f"{what} does not exist")
    if p.is_dir():
        raise EtalonInputError(p, f"{what} is a folder, expected a file")
    if not os.access(p, os.R_OK):
        raise EtalonInputError(p, f"{what} is not readable")
    return p


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    The temporary file is removed if the block raises, and ``path`` is left as it
    was. Parent folders are created.

    Examples
    --------
    >>> with atomic_output("out.fits") as tmp:          # doctest: +SKIP
    ...     hdulist.writeto(tmp)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
