"""Deep Impact navigation (NAV) images: raw telemetry decoding and pre-processing."""
