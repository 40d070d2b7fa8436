"""Real reference data bundled with etalon (see ``PROVENANCE.md`` beside this file).

Every file here was copied unchanged from the project's ``shared/data`` folder;
``PROVENANCE.md`` says what each file is and where it comes from.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent

__all__ = ["DATA_DIR", "data_path", "deep_impact_archive_files", "gsics_lunar_files", "inventory"]


def data_path(*parts: str) -> Path:
    """Return the path of a bundled data file, e.g. ``data_path("venus", "venus_spectral_response.tsv")``.

    Raises
    ------
    FileNotFoundError
        If the file is not part of the bundled data.
    """
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: not part of etalon's bundled data (see {DATA_DIR / 'PROVENANCE.md'})")
    return path


def deep_impact_archive_files() -> list[Path]:
    """The six real Deep Impact MRI-VIS archive FITS files (``mv*_dn.fit``), sorted by name."""
    return sorted((DATA_DIR / "deep_impact").glob("mv*_dn.fit"))


def gsics_lunar_files() -> list[Path]:
    """The three real GSICS lunar observation files of Meteosat-10 SEVIRI, sorted by time."""
    return sorted((DATA_DIR / "gsics_lunar").glob("*MOON*.nc"))


def _provenance_rows() -> list[tuple[str, str, str]]:
    """(name pattern, what it is, where it comes from) rows of PROVENANCE.md's table."""
    rows = []
    for line in (DATA_DIR / "PROVENANCE.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def inventory():
    """A table of every bundled data file: folder, file, size, what it is, where it comes from.

    Returns
    -------
    astropy.table.Table
        Columns ``folder``, ``file``, ``kbytes``, ``what``, ``source``.
    """
    import fnmatch
    import re

    from astropy.table import Table

    rows = _provenance_rows()
    out = []
    for path in sorted(p for p in DATA_DIR.rglob("*") if p.is_file()):
        if path.suffix in (".py", ".pyc", ".md"):
            continue
        rel = path.relative_to(DATA_DIR).as_posix()
        what, source = "", ""
        for names, w, s in rows:
            # the table names files as `folder/name-with-*` or `name` (several per row at times)
            patterns = [n.replace("...", "*").replace("2013*/2014*", "*")
                        for n in re.findall(r"`([^`]+)`", names)]
            if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(path.name, p) for p in patterns):
                what, source = w, s
                break
        if not what and path.parent.name == "nav":
            what, source = "etalon default table for NAV processing", "etalon (this project)"
        elif not what and path.parent.name == "ccd":
            what, source = "etalon default calibration configuration", "etalon (this project)"
        out.append((path.parent.name, path.name, round(path.stat().st_size / 1024, 1), what, source))
    return Table(rows=out, names=("folder", "file", "kbytes", "what", "source"))
