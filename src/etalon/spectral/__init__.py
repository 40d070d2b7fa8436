"""The shared spectral room: responses, solar spectra, band integration, SBAF.

Used by the Moon (model irradiance per band), the desert sites and SNO (spectral band
adjustment factors). Modules:

- :mod:`etalon.spectral.responses`: spectral response functions (GSICS netCDF, text tables).
- :mod:`etalon.spectral.solar`: solar spectral irradiance (Wehrli 1985; TSIS-1 HSRS).
- :mod:`etalon.spectral.integrate`: band averages, band reflectances, SBAF with uncertainty.
"""
