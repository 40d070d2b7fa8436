"""File handling shared by every writer: atomic output, clear input errors, FITS header checks.

Outputs are written to a temporary file in the destination folder and renamed
into place, so a crash never leaves a half-written product and an existing
product is replaced in one step. Inputs are opened read-only.

Temporary files are named ``.<product name>.<pid>.<random>.tmp<suffix>`` (the
product name shortened with a hash when the whole would exceed the file
system's name limit), created with mode ``0666 & ~umask`` like any file the
user creates. A run killed while writing leaves such a file; the next write of
the same product removes it (only when the process that made it is gone).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["EtalonInputError", "EtalonOutputError", "atomic_output", "check_fits_header",
           "describe_os_error", "require_file", "stale_temporaries", "temporary_name"]

log = logging.getLogger(__name__)


class EtalonInputError(ValueError):
    """An input file is missing, unreadable or not what it should be.

    The message always starts with the file name.
    """

    def __init__(self, path: str | os.PathLike[str] | None, problem: str):
        self.path = None if path is None else os.fsdecode(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class EtalonOutputError(EtalonInputError):
    """An output cannot be written where asked (folder missing and not creatable, not
    writable, a folder in the way, name too long...). The message starts with the output name."""


def describe_os_error(exc: OSError) -> str:
    """The problem an :class:`OSError` names, in words (``"permission denied"``...)."""
    text = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc)) or type(exc).__name__
    return text[:1].lower() + text[1:]


def require_file(path: str | os.PathLike[str], what: str = "input file") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` after checking it is a readable file.

    Raises
    ------
    EtalonInputError
        Naming the file, when it does not exist, is a folder or cannot be read.
    """
    p = Path(path)
    try:
        if not p.exists():
            raise EtalonInputError(p, f"{what} does not exist")
        if p.is_dir():
            raise EtalonInputError(p, f"{what} is a folder, expected a file")
    except OSError as exc:  # name too long, loop of links...
        raise EtalonInputError(p, f"{what} cannot be opened ({describe_os_error(exc)})") from exc
    if not os.access(p, os.R_OK):
        raise EtalonInputError(p, f"{what} is not readable (permission denied)")
    return p


# ---------------------------------------------------------------- temporaries

def cache_directory(*parts: str) -> Path:
    """etalon's cache folder (``$ETALON_CACHE``, else ``$XDG_CACHE_HOME/etalon`` or
    ``~/.cache/etalon``), joined with ``parts``; not created here."""
    base = os.environ.get("ETALON_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "etalon")
    return Path(base).joinpath(*parts)

def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


#: bytes a temporary name adds to its product's name at most: "." ".<pid>" ".<8 random>" ".tmp"
_TMP_EXTRA = 1 + 11 + 9 + 4


def _tmp_prefix(final: Path, name_max: int) -> str:
    """The product part of a temporary name: the name, or a shortened name plus a hash."""
    name = final.name
    limit = name_max - _TMP_EXTRA - len(os.fsencode(final.suffix))
    if len(os.fsencode(name)) <= limit:
        return name
    digest = hashlib.sha1(os.fsencode(name)).hexdigest()[:10]
    keep = name
    while len(os.fsencode(keep)) > max(1, limit - 11):
        keep = keep[:-1]
    return f"{keep}~{digest}"


def temporary_name(final: str | os.PathLike[str], pid: int | None = None) -> str:
    """A temporary name for ``final`` (file name only, in ``final``'s folder).

    ``.<name>.<pid>.<random>.tmp<suffix>``: the suffix stays last so that writers
    choosing a format by the extension (``.fits.gz``) behave the same.
    """
    final = Path(final)
    prefix = _tmp_prefix(final, _name_max(final.parent if str(final.parent) else Path(".")))
    return f".{prefix}.{os.getpid() if pid is None else pid}.{secrets.token_hex(4)}.tmp{final.suffix}"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True
    return True


def stale_temporaries(final: str | os.PathLike[str]) -> list[Path]:
    """Temporaries of ``final`` left by processes that are gone (a killed run).

    A temporary whose process is still running (a concurrent writer of the same
    product) is not stale.
    """
    final = Path(final)
    folder = final.parent if str(final.parent) else Path(".")
    prefix = _tmp_prefix(final, _name_max(folder))
    pattern = re.compile(rf"^\.{re.escape(prefix)}\.(\d+)\.[0-9a-f]{{8}}\.tmp{re.escape(final.suffix)}$")
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        m = pattern.match(entry.name)
        if m and not _alive(int(m.group(1))):
            found.append(folder / entry.name)
    return found


def _output_error(final: Path, exc: OSError, doing: str) -> EtalonOutputError:
    if exc.errno == errno.ENAMETOOLONG:
        return EtalonOutputError(final, f"cannot {doing}: file name too long")
    return EtalonOutputError(final, f"cannot {doing} ({describe_os_error(exc)})")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    The temporary file (mode ``0666 & ~umask``) is removed if the block raises, and
    ``path`` is left as it was. Parent folders are created. Stale temporaries of
    the same product left by killed runs are removed first; replacing an existing
    ``path`` is logged (info).

    Raises
    ------
    EtalonOutputError
        Naming ``path`` and the problem, when the folder cannot be created, is
        not writable, ``path`` is a folder, or the name is too long.

    Examples
    --------
    >>> with atomic_output("out.fits") as tmp:          # doctest: +SKIP
    ...     hdulist.writeto(tmp)
    """
    final = Path(path)
    if final.name in ("", ".", ".."):
        raise EtalonOutputError(final, "output must be a file name, not a folder")
    try:
        if final.is_dir():
            raise EtalonOutputError(final, "output is an existing folder, expected a file name")
        parent = final.parent if str(final.parent) else Path(".")
        if parent.exists() and not parent.is_dir():
            raise EtalonOutputError(final, f"cannot create the output: {parent} is a file, not a folder")
        parent.mkdir(parents=True, exist_ok=True)
    except EtalonOutputError:
        raise
    except OSError as exc:
        raise _output_error(final, exc, "create the output folder") from exc
    for stale in stale_temporaries(final):
        with contextlib.suppress(OSError):
            stale.unlink()
            log.info("removed %s, a temporary file left by an interrupted run", stale)
    fd = None
    for _ in range(100):
        tmp = parent / temporary_name(final)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise _output_error(final, exc, "write the output") from exc
    if fd is None:  # pragma: no cover - 100 random collisions
        raise EtalonOutputError(final, "cannot create a temporary file")
    os.close(fd)
    existed = final.exists()
    try:
        yield tmp
        try:
            os.replace(tmp, final)
        except OSError as exc:
            raise _output_error(final, exc, "rename the temporary file onto the output") from exc
        if existed:
            log.info("replaced the existing %s", final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# ---------------------------------------------------------------- FITS header check
#: the most axes the FITS standard allows
MAX_NAXIS = 999
_CARD = 80
_BLOCK = 2880
_MAX_HEADER_BLOCKS = 1000  # a primary header of more than 36,000 cards is not a real product


def _card_int(card: bytes) -> int | None:
    """The integer value of a fixed-format card (``KEY     =                  123``)."""
    if card[8:10] != b"= ":
        return None
    value = card[10:].split(b"/", 1)[0].strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        try:
            f = float(value)
        except ValueError:
            return None
        if f != f or f in (float("inf"), float("-inf")) or f != int(f):
            return None
        return int(f)


_MAX_HDUS = 1000  # more extensions than any product of ours


def _read_header_cards(fh, p: Path, offset: int,
                       first: bool) -> tuple[dict[bytes, int | None], int] | None:
    """Structural cards (SIMPLE/XTENSION, BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT) of one header.

    Returns the cards and the header's length in bytes, or None where the file ends (after the
    primary HDU: trailing bytes shorter than a block, or a blank/zero padding block). A repeated
    structural card is refused: readers disagree on which one counts (astropy takes the last).
    """
    cards: dict[bytes, int | None] = {}
    header_bytes = 0
    fh.seek(offset)
    while True:
        block = fh.read(_BLOCK)
        if not first and header_bytes == 0 and (len(block) < _BLOCK or not block.strip(b"\0 ")):
            return None  # trailing bytes or padding after the last HDU
        if len(block) < _BLOCK:
            raise EtalonInputError(p, "truncated FITS header (no END card)")
        if header_bytes == 0:
            lead = b"SIMPLE  =" if first else b"XTENSION="
            if not block.startswith(lead):
                raise EtalonInputError(p, "not a FITS file (does not start with SIMPLE =)" if first
                                       else f"damaged FITS file: no XTENSION card at byte {offset}")
        header_bytes += _BLOCK
        for i in range(0, _BLOCK, _CARD):
            card = block[i:i + _CARD]
            key = card[:8].rstrip()
            if key == b"END":
                return cards, header_bytes
            if key in (b"BITPIX", b"NAXIS", b"PCOUNT", b"GCOUNT") or re.fullmatch(rb"NAXIS\d{1,3}", key):
                if key in cards:
                    raise EtalonInputError(p, f"the {key.decode()} card appears twice in the header "
                                              f"at byte {offset}")
                cards[key] = _card_int(card)
        if header_bytes >= _MAX_HEADER_BLOCKS * _BLOCK:
            raise EtalonInputError(p, f"FITS header has no END card in its first "
                                      f"{_MAX_HEADER_BLOCKS * _BLOCK} bytes")


def _data_bytes(p: Path, cards: dict[bytes, int | None], first: bool) -> int:
    """Bytes of data announced by one header (checked cards), before padding."""
    where = "" if first else " (extension)"
    bitpix = cards.get(b"BITPIX")
    if bitpix not in (8, 16, 32, 64, -32, -64):
        raise EtalonInputError(p, f"invalid BITPIX card{where} ({bitpix}); expected 8, 16, 32, 64, "
                                  "-32 or -64")
    naxis = cards.get(b"NAXIS")
    if naxis is None or not 0 <= naxis <= MAX_NAXIS:
        raise EtalonInputError(p, f"invalid NAXIS card{where} ({naxis}); expected 0 to {MAX_NAXIS}")
    if naxis == 0:
        return 0
    n = 1
    for k in range(1, naxis + 1):
        v = cards.get(f"NAXIS{k}".encode())
        if v is None or v < 0:
            raise EtalonInputError(p, f"invalid or missing NAXIS{k} card{where} ({v})")
        n *= v
    pcount = cards.get(b"PCOUNT", 0) if not first else 0
    gcount = cards.get(b"GCOUNT", 1) if not first else 1
    if pcount is None or pcount < 0 or gcount is None or gcount < 0:
        raise EtalonInputError(p, f"invalid PCOUNT/GCOUNT cards{where} ({pcount}, {gcount})")
    return abs(bitpix) // 8 * gcount * (pcount + n)


def check_fits_header(path: str | os.PathLike[str]) -> None:
    """Check every header of a FITS file before a library parses it.

    Reads only header blocks and checks, for the primary header and each extension: the
    file starts with ``SIMPLE`` (extensions with ``XTENSION``); an ``END`` card ends each
    header; no structural card is repeated; ``BITPIX`` is one of 8, 16, 32, 64, -32, -64;
    ``0 <= NAXIS <= 999``; every ``NAXISn`` (and ``PCOUNT``, ``GCOUNT``) is present and
    non-negative; and each HDU's data (``|BITPIX|/8 * GCOUNT * (PCOUNT + prod(NAXISn))``
    bytes) fits in the file. Absurd values (``NAXIS = 99999999999999999999``) otherwise make
    astropy loop or allocate without end.

    Raises
    ------
    EtalonInputError
        Naming the file and the faulty card.
    """
    p = require_file(path, "FITS file")
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            offset = 0
            for index in range(_MAX_HDUS):
                first = index == 0
                found = _read_header_cards(fh, p, offset, first)
                if found is None:
                    return
                cards, header_bytes = found
                n_bytes = _data_bytes(p, cards, first)
                available = size - offset - header_bytes
                if n_bytes > available:
                    raise EtalonInputError(
                        p, f"truncated FITS file: the header at byte {offset} announces {n_bytes} "
                           f"bytes of image data (NAXISn, BITPIX), the file holds {max(available, 0)}")
                offset += header_bytes + -(-n_bytes // _BLOCK) * _BLOCK
                if offset >= size:
                    return
            raise EtalonInputError(p, f"more than {_MAX_HDUS} HDUs")
    except OSError as exc:
        raise EtalonInputError(p, f"cannot read the FITS file ({describe_os_error(exc)})") from exc
