"""Lunar radiometric calibration: GSICS files, disk extraction, irradiance, ROLO/LIME model, geometry.

Modules (one concept each):

- :mod:`etalon.moon.gsics`: read/write GSICS lunar observation netCDF files.
- :mod:`etalon.moon.images`: Moon images in FITS (documented keywords).
- :mod:`etalon.moon.background`: deep-space level, curve of growth, outlier pixels.
- :mod:`etalon.moon.extraction`: Laplacian-of-Gaussian disk extraction and the
  operators' threshold method.
- :mod:`etalon.moon.irradiance`: integrated irradiance and its uncertainty.
- :mod:`etalon.moon.geometry`: Sun/Moon/observer geometry (astropy, DE421).
- spectral responses, solar spectra and band integration live in :mod:`etalon.spectral`.
- :mod:`etalon.moon.model`: ROLO / LIME disk reflectance and band irradiance.
- :mod:`etalon.moon.simulate`: Moon images with known irradiance.
- :mod:`etalon.moon.measure`: per-file, per-channel measurement table.
"""
