"""Desert-site (PICS) calibration: DIMITRI series, directional normalisation, SBAF, cross-calibration.

Modules:

- :mod:`etalon.desert.dimitri`: readers of the DIMITRI series (``.sav``, ``.csv``), band
  responses and the site TOA spectrum.
- :mod:`etalon.desert.aatsr`: ESA's AATSR visible drift-correction tables.
- :mod:`etalon.desert.sites`: the site catalogue (CNES sites, DIMITRI boxes).
- :mod:`etalon.desert.brdf`: Ross-thick / Li-sparse-reciprocal kernel BRDF, fitted per band
  by weighted least squares with outlier rejection; reflectance at a reference geometry.
- :mod:`etalon.desert.crosscal`: SBAF between sensors over the site spectrum, the
  cross-calibration ratio over time and its trend.
- :mod:`etalon.desert.simulate`: VENuS desert acquisitions for the campaign simulator.
- :mod:`etalon.desert.compare`: Moon versus desert per band and phase.

The public API (what other rooms import: :mod:`etalon.campaign` for its real-data cases,
:mod:`etalon.sno` for the site spectrum): ``read_series``, ``DimitriSeries`` and
``read_site_spectrum`` (:mod:`etalon.desert.dimitri`).
"""

from etalon.desert.dimitri import DimitriSeries, read_series, read_site_spectrum

__all__ = ["DimitriSeries", "read_series", "read_site_spectrum"]
