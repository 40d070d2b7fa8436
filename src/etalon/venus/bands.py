"""VENuS (Venμs) VSSC bands and detector units: the facts in one place.

Sources: CNES VENuS pages; band grouping by detector unit from the four viewing-angle
groups of a real Level-1 header (``data/venus/VE_VM01_..._20190204.HDR.xml``); absolute gains
A_k and central wavelengths from the same header; responses from
``data/venus/venus_spectral_response.tsv``. See ``shared/venus.md`` (the project's facts).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from etalon.data import data_path

__all__ = [
    "BANDS",
    "BAND_NAMES",
    "DETECTOR_UNITS",
    "Band",
    "band",
    "band_name",
    "bands_of_unit",
    "detector_unit",
    "responses",
]


@dataclass(frozen=True)
class Band:
    """One VENuS band.

    Attributes
    ----------
    name : str
        ``B1`` .. ``B12``.
    centre_nm, width_nm : float
        Nominal centre and width, nm (CNES).
    header_centre_nm : float
        Central wavelength given by the real L1 header, nm.
    detector_unit : str
        ``D1`` .. ``D4``: the detector unit (focal-plane module of 3 arrays) holding the band.
    header_ak : float
        Absolute gain A_k of the real 2019-02-04 L1 header (DN per W m-2 sr-1 um-1).
    """

    name: str
    centre_nm: float
    width_nm: float
    header_centre_nm: float
    detector_unit: str
    header_ak: float


#: detector unit -> its three bands (from the viewing-angle groups of the real L1 header)
DETECTOR_UNITS: dict[str, tuple[str, ...]] = {
    "D1": ("B1", "B2", "B5"),
    "D2": ("B10", "B11", "B12"),
    "D3": ("B7", "B8", "B9"),
    "D4": ("B3", "B4", "B6"),
}

_UNIT_OF = {b: u for u, bs in DETECTOR_UNITS.items() for b in bs}
_TABLE = (  # name, centre, width, header centre, A_k
    ("B1", 420, 40, 424, 0.204), ("B2", 443, 40, 447, 0.708), ("B3", 490, 40, 492, 1.144),
    ("B4", 555, 40, 555, 1.329), ("B5", 620, 40, 620, 1.667), ("B6", 620, 40, 620, 1.777),
    ("B7", 667, 30, 666, 1.747), ("B8", 702, 24, 702, 1.538), ("B9", 742, 16, 741, 2.257),
    ("B10", 782, 16, 782, 1.706), ("B11", 865, 40, 861, 2.158), ("B12", 910, 20, 909, 1.88),
)

#: the twelve bands, in band order
BANDS: tuple[Band, ...] = tuple(Band(n, float(c), float(w), float(h), _UNIT_OF[n], float(a))
                                for n, c, w, h, a in _TABLE)
BAND_NAMES: tuple[str, ...] = tuple(b.name for b in BANDS)
_BY_NAME = {b.name: b for b in BANDS}


def band_name(name: str) -> str:
    """Normalise a band name: ``B01``, ``b1``, ``1`` -> ``B1``.

    Raises
    ------
    ValueError
        If the name is not one of B1..B12.
    """
    s = str(name).strip().upper()
    digits = s[1:] if s.startswith("B") else s
    if digits.isdigit() and 1 <= int(digits) <= 12:
        return f"B{int(digits)}"
    raise ValueError(f"not a VENuS band: {name!r} (B1..B12)")


def band(name: str) -> Band:
    """The :class:`Band` of a name (any spelling :func:`band_name` accepts)."""
    return _BY_NAME[band_name(name)]


def detector_unit(name: str) -> str:
    """The detector unit (``D1``..``D4``) of a band."""
    return _UNIT_OF[band_name(name)]


def bands_of_unit(unit: str) -> tuple[str, ...]:
    """The three bands of a detector unit (``D1``..``D4``)."""
    try:
        return DETECTOR_UNITS[str(unit).strip().upper()]
    except KeyError:
        raise ValueError(f"not a VENuS detector unit: {unit!r} (D1..D4)") from None


@functools.lru_cache(maxsize=1)
def responses():
    """The bundled spectral responses B1..B12, as ``{name: SpectralResponse}`` (um)."""
    from etalon.spectral.responses import read_srf_table

    return read_srf_table(data_path("venus", "venus_spectral_response.tsv"))
