"""Deep Impact navigation (NAV) images: raw telemetry decoding and pre-processing.

``etalon.nav.decode(source) -> NavImage`` decodes a raw NAV file (path, bytes
or binary file); :mod:`etalon.nav.format` holds the packet layout,
:mod:`etalon.nav.products` writes FITS, :mod:`etalon.nav.simulate` makes raw
files with known truth, :mod:`etalon.nav.preprocess` makes decoded frames
ready for calibration.
"""

from etalon.nav.decoder import DecodeReport, NavDecodeError, NavHeader, NavImage, decode

__all__ = ["DecodeReport", "NavDecodeError", "NavHeader", "NavImage", "decode"]
