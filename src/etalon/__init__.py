"""etalon: in-flight calibration studies of space imagers.

Deep Impact navigation images (raw NAV telemetry to calibrated FITS) and
lunar / desert / SNO radiometric calibration of the VENuS imager, as a
library, a command line and parameterised notebooks.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
