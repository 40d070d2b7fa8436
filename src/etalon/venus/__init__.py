"""VENuS (Venμs, CNES): the instrument's facts in one place.

- :mod:`etalon.venus.bands`: the 12 bands, detector units D1..D4, responses.
- :mod:`etalon.venus.phases`: IFOV, focal-plane layout, orbit phases VM1..VM5 (GSD, ground
  speed, line period derived from the altitude), ``phase_at``, lunar oversampling factor.
- :mod:`etalon.venus.radiometry`: DN = A_k G_p L + D_p, both directions.
- :mod:`etalon.venus.header`: the real Level-1 XML header (GIPP list, A_k, flags).
- :mod:`etalon.venus.po`: the PO registry (versioned, date-validated calibration parameters).
- :mod:`etalon.venus.simulate`: lunar-campaign simulator with known truth.
- :mod:`etalon.venus.validate`: measurements of a simulated campaign against its truth.
- :mod:`etalon.venus.plots`: figures for the notebooks.

See ``docs/venus.md`` and ``docs/venus-simulator.md``.
"""
