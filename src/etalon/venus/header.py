"""Reader of the VENuS Level-1 Earth Explorer XML header (``*.HDR.xml``).

What it reads (element paths relative to ``Earth_Explorer_Header``, namespace
``http://eop-cfi.esa.int/CFI``):

- ``Fixed_Header/File_Name`` -> ``product``; ``Fixed_Header/File_Class`` (``VM01``) -> ``phase``;
- ``.../Instance_Id/Nick_Name`` -> ``site``;
- ``.../Product_Information/Acquisition_Date_Time`` (``UTC=2019-02-04T08:34:37``) -> ``acquisition_time``;
- ``.../List_of_GIPP_Files/GIPP_File`` -> ``gipp`` (one :class:`GippFile` each, parsed from the
  logical name ``VE_OPER_GIP_<NATURE>_L_<SITES>_<version>_<start>_<stop>[_Bxx[_code]]``);
- ``List_of_Aks/Ak[@sk=Bxx]`` -> ``ak``; ``List_of_Polarization_Coefficients`` -> ``polarization``;
- ``List_of_Band_Central_Wavelength`` -> ``central_wavelength_nm``;
- ``Processing_Flags_And_Modes/*`` (``true``/``false``) -> ``flags``.

Parsing is safe: documents with a DTD (``<!DOCTYPE``) or entity declarations are refused before
they reach the parser (no entity expansion, no external fetch), and so are files over 16 MB.
Every problem raises :class:`etalon.fileio.EtalonInputError` naming the file.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from etalon.fileio import EtalonInputError, require_file
from etalon.venus.bands import band_name

__all__ = ["GippFile", "L1Header", "parse_gipp_name", "parse_l1_header", "read_l1_header"]

_NS = "{http://eop-cfi.esa.int/CFI}"
_MAX_BYTES = 16 * 1024 * 1024
_GIPP_RE = re.compile(
    r"^(?P<mission>[A-Z0-9]+)_(?P<file_class>[A-Z0-9]+)_GIP_(?P<nature>[A-Z0-9]{6})_"
    r"(?P<level>[A-Z0-9])_(?P<sites>[A-Z0-9]+)_(?P<version>\d{5})_(?P<start>\d{8})_(?P<stop>\d{8})"
    r"(?:_(?P<band>B\d{2}))?(?:_(?P<code>[A-Za-z0-9]+))?$")


@dataclass(frozen=True)
class GippFile:
    """One calibration parameter file (GIPP) a product was processed with.

    Attributes
    ----------
    nature : str
        Six-letter nature without the ``GIP_`` prefix (``PHGAIN``, ``DARKCU``, ``RELSEN``...).
    version : int
        File version (``00008`` -> 8).
    validity_start, validity_stop : str
        ISO dates (``2017-10-21``; ``9999-12-31`` means open-ended).
    band : str or None
        ``B1``..``B12`` when the name carries a band.
    logical_name : str
        The full logical name from the header.
    sn : int
        Serial number in the header's list.
    code : str or None
        The trailing configuration code of band files (``111101``), if any.
    """

    nature: str
    version: int
    validity_start: str
    validity_stop: str
    band: str | None
    logical_name: str
    sn: int = 0
    code: str | None = None


@dataclass
class L1Header:
    """The calibration-relevant content of a VENuS L1 header.

    Attributes
    ----------
    path : pathlib.Path or None
    product : str
        File name of the product (``VE_VM01_VSC_L1VALD_ISRAEL03_20190204``).
    site : str
        Site nick name (``ISRAEL03``).
    acquisition_time : str
        ISO UTC, ``YYYY-MM-DDThh:mm:ssZ``.
    phase : str
        File class as written (``VM01``); :attr:`phase_name` gives ``VM1``.
    gipp : list of GippFile
    ak : dict
        Band (``B1``..) -> absolute gain A_k, DN / (W m-2 sr-1 um-1).
    polarization : dict
        Band -> polarisation coefficient (dimensionless).
    central_wavelength_nm : dict
        Band -> central wavelength, nm.
    flags : dict
        Processing flag name -> bool.
    orbit : int or None
        Absolute orbit number.
    creation_time : str or None
        Processing date, ISO UTC.
    """

    path: Path | None
    product: str
    site: str
    acquisition_time: str
    phase: str
    gipp: list[GippFile] = field(default_factory=list)
    ak: dict[str, float] = field(default_factory=dict)
    polarization: dict[str, float] = field(default_factory=dict)
    central_wavelength_nm: dict[str, float] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    orbit: int | None = None
    creation_time: str | None = None

    @property
    def phase_name(self) -> str:
        """``VM01`` -> ``VM1`` (the names of :mod:`etalon.venus.phases`)."""
        m = re.fullmatch(r"VM0*(\d+)", self.phase.strip().upper())
        return f"VM{int(m.group(1))}" if m else self.phase

    def gipp_of(self, nature: str, band: str | None = None) -> list[GippFile]:
        """The GIPP entries of a nature (``"DARKCU"``), optionally of one band."""
        nat = nature.upper().removeprefix("GIP_")
        b = band_name(band) if band is not None else None
        return [g for g in self.gipp if g.nature == nat and (b is None or g.band == b)]

    def as_dict(self) -> dict[str, object]:
        """The JSON object of ``etalon venus header --json`` (plain types)."""
        return {
            "file": str(self.path) if self.path else None,
            "product": self.product, "site": self.site,
            "acquisition_time": self.acquisition_time, "phase": self.phase,
            "phase_name": self.phase_name, "orbit": self.orbit, "creation_time": self.creation_time,
            "gipp": [{k: v for k, v in asdict(g).items()} for g in self.gipp],
            "ak": dict(self.ak), "polarization": dict(self.polarization),
            "central_wavelength_nm": dict(self.central_wavelength_nm), "flags": dict(self.flags),
        }


def _iso_date(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:8]}"


def parse_gipp_name(name: str, sn: int = 0) -> GippFile:
    """Parse a GIPP logical name into a :class:`GippFile`.

    Raises
    ------
    ValueError
        If the name does not follow ``VE_OPER_GIP_<NATURE>_L_<SITES>_<v>_<start>_<stop>[_Bxx]``.
    """
    m = _GIPP_RE.match(name.strip())
    if not m:
        raise ValueError(f"GIPP logical name not understood: {name!r}")
    for key in ("start", "stop"):
        s = m.group(key)
        if not (1 <= int(s[4:6]) <= 12 and 1 <= int(s[6:8]) <= 31):
            raise ValueError(f"GIPP {name!r}: bad validity date {s}")
    b = m.group("band")
    return GippFile(m.group("nature"), int(m.group("version")), _iso_date(m.group("start")),
                    _iso_date(m.group("stop")), band_name(b) if b else None, name.strip(), sn,
                    m.group("code"))


def _utc(text: str | None, what: str) -> str:
    if not text:
        raise ValueError(f"{what} missing")
    s = text.strip().removeprefix("UTC=")
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", s):
        raise ValueError(f"{what} is not an ISO UTC time: {text!r}")
    return s + "Z"


def _find(root: ET.Element, path: str) -> ET.Element | None:
    """``root.find`` with every tag of ``path`` (``./A/B`` or ``.//A/B``) in the CFI namespace."""
    parts = path.split("/")
    return root.find("/".join(p if p in (".", "") else _NS + p for p in parts))


def _text(root: ET.Element, path: str, what: str) -> str:
    el = _find(root, path)
    if el is None or not (el.text or "").strip():
        raise ValueError(f"{what} missing ({path.removeprefix('.//')})")
    return el.text.strip()


def _per_band(root: ET.Element, list_tag: str, item_tag: str, what: str) -> dict[str, float]:
    lst = _find(root, f".//{list_tag}")
    if lst is None:
        raise ValueError(f"{what} missing ({list_tag})")
    out: dict[str, float] = {}
    for el in lst.findall(f"{_NS}{item_tag}"):
        b = band_name(el.get("sk", ""))
        out[b] = float((el.text or "").strip())
    declared = lst.get("count")
    if declared is not None and int(declared) != len(out):
        raise ValueError(f"{list_tag} declares {declared} entries, has {len(out)}")
    return dict(sorted(out.items(), key=lambda kv: int(kv[0][1:])))


def parse_l1_header(data: bytes, path: str | os.PathLike[str] | None = None) -> L1Header:
    """Parse the bytes of an L1 header. See :func:`read_l1_header`."""
    where = Path(path) if path is not None else None
    if len(data) > _MAX_BYTES:
        raise EtalonInputError(where, f"header larger than {_MAX_BYTES} bytes: not a VENuS L1 header")
    head = data[:4096].lower()
    if b"<!doctype" in data.lower() or b"<!entity" in head or b"<!entity" in data.lower():
        raise EtalonInputError(where, "XML with a DTD or entity declarations is refused (unsafe)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise EtalonInputError(where, f"malformed or truncated XML ({exc})") from exc
    if root.tag != f"{_NS}Earth_Explorer_Header":
        raise EtalonInputError(where, f"not a VENuS Earth Explorer header (root element {root.tag!r})")
    try:
        mission = _text(root, "./Fixed_Header/Mission", "mission")
        if mission.upper() not in ("VENUS", "VENΜS"):
            raise ValueError(f"mission is {mission!r}, not VENuS")
        product = _text(root, "./Fixed_Header/File_Name", "product name")
        phase = _text(root, "./Fixed_Header/File_Class", "file class (phase)")
        site = _text(root, ".//Instance_Id/Nick_Name", "site nick name")
        acq = _utc(_text(root, ".//Product_Information/Acquisition_Date_Time", "acquisition time"),
                   "acquisition time")
        orbit_el = _find(root, ".//Product_Information/Acquisition_Orbit_Number")
        orbit = int(orbit_el.text) if orbit_el is not None and (orbit_el.text or "").strip() else None
        created_el = _find(root, ".//Processing_Information/Date_Time")
        created = _utc(created_el.text, "processing date") if created_el is not None else None
        glist = _find(root, ".//List_of_GIPP_Files")
        if glist is None:
            raise ValueError("GIPP list missing (List_of_GIPP_Files)")
        gipp = []
        for el in glist.findall(f"{_NS}GIPP_File"):
            name = _text(el, "./Logical_Name", "GIPP logical name")
            g = parse_gipp_name(name, int(el.get("sn", "0")))
            nature_el = el.find(f"{_NS}Nature")
            if nature_el is not None and (nature_el.text or "").strip().removeprefix("GIP_") != g.nature:
                raise ValueError(f"GIPP {name}: nature {nature_el.text!r} disagrees with the name")
            gipp.append(g)
        declared = glist.get("count")
        if declared is not None and int(declared) != len(gipp):
            raise ValueError(f"List_of_GIPP_Files declares {declared} files, has {len(gipp)}")
        ak = _per_band(root, "List_of_Aks", "Ak", "A_k list")
        pol = _per_band(root, "List_of_Polarization_Coefficients", "Polarization_Coefficient",
                        "polarisation coefficients")
        wl = _per_band(root, "List_of_Band_Central_Wavelength", "Band_Central_Wavelength",
                       "central wavelengths")
        flags_el = _find(root, ".//Processing_Flags_And_Modes")
        flags: dict[str, bool] = {}
        if flags_el is None:
            raise ValueError("processing flags missing (Processing_Flags_And_Modes)")
        for el in flags_el:
            value = (el.text or "").strip().lower()
            if value not in ("true", "false"):
                raise ValueError(f"flag {el.tag.removeprefix(_NS)} is {el.text!r}, not true/false")
            flags[el.tag.removeprefix(_NS)] = value == "true"
    except (ValueError, TypeError) as exc:
        raise EtalonInputError(where, f"VENuS L1 header incomplete or invalid: {exc}") from exc
    return L1Header(where, product, site, acq, phase, gipp, ak, pol, wl, flags, orbit, created)


def read_l1_header(path: str | os.PathLike[str]) -> L1Header:
    """Read a VENuS L1 header file (``*.HDR.xml``); the file is opened read-only.

    Raises
    ------
    EtalonInputError
        Naming the file, when it is missing, not XML, unsafe XML (DTD/entities), truncated,
        not a VENuS Earth Explorer header, or lacks a part listed in the module docstring.
    """
    p = require_file(path, "VENuS L1 header")
    with open(p, "rb") as fh:
        data = fh.read(_MAX_BYTES + 1)
    return parse_l1_header(data, p)
