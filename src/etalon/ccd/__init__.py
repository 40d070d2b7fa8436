"""CCD calibration pipeline for Deep Impact NAV and archive frames."""
