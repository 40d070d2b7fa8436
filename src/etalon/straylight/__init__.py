"""CT1 (local ghost) and CT2 (cross-talk ghost) stray light: models, correction, quantification.

Modules: :mod:`~etalon.straylight.models` (kernels, ghosts, forward model and Level-1-style
correction), :mod:`~etalon.straylight.params` (ECSV parameter sets),
:mod:`~etalon.straylight.simulate` (Moon scenes with known stray light),
:mod:`~etalon.straylight.edges` (bright-edge scenes: simulation and quantification),
:mod:`~etalon.straylight.quantify` (CT1 fractions, CT2 coefficients with uncertainties and
significance, residual maps), :mod:`~etalon.straylight.io` (FITS / netCDF scenes, result
table), :mod:`~etalon.straylight.plots`, :mod:`~etalon.straylight.cli`
(``etalon venus crosstalk``). See ``docs/straylight.md``.
"""

from etalon.straylight.models import (
    CT1Kernel,
    CT2Ghost,
    add_stray_light,
    correct_stray_light,
)

__all__ = ["CT1Kernel", "CT2Ghost", "add_stray_light", "correct_stray_light"]
