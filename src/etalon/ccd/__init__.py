"""CCD calibration pipeline for Deep Impact NAV and archive frames.

Modules (one concept each): :mod:`~etalon.ccd.saturation`, :mod:`~etalon.ccd.bias`,
:mod:`~etalon.ccd.linearity`, :mod:`~etalon.ccd.noise`, :mod:`~etalon.ccd.dark`,
:mod:`~etalon.ccd.flat`, :mod:`~etalon.ccd.badpixels`, :mod:`~etalon.ccd.despike`,
:mod:`~etalon.ccd.radiance`; the reference files :mod:`~etalon.ccd.reference`; the
configured chain :mod:`~etalon.ccd.pipeline` (``Pipeline``); the truth simulator
:mod:`~etalon.ccd.simulate`; the command line :mod:`~etalon.ccd.cli`. Kept light: import
the submodule you need (the CLI imports this package to build its help).
"""
