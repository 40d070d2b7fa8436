"""Bias subtraction from the serial overclock (or the NAVBIAS keywords).

Pre-processed NAV frames carry the image inside a calibration frame
(:class:`etalon.nav.layout.FrameLayout`): one bias per CCD quadrant in the
serial overclock columns beside that quadrant's rows, as ``NAVBIAS1..4``.
The step measures each quadrant's bias as the median of its serial overclock
pixels (missing pixels excluded) and subtracts it from that quadrant's image
pixels. A frame without overclock but with ``NAVBIAS1..4`` keywords takes the
keyword values.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from etalon.ccd.keywords import set_keywords
from etalon.ccd.step import FLAG_MISSING, StepOutput
from etalon.nav.bias import quadrant_slices
from etalon.nav.layout import FrameLayout
from etalon.provenance import add_history

__all__ = ["frame_layout", "has_navbias_keywords", "has_serial_overclock", "overclock_biases",
           "subtract_bias"]


def has_navbias_keywords(header: fits.Header) -> bool:
    """True when ``NAVBIAS1..4`` are all in ``header``."""
    return all(f"NAVBIAS{n}" in header for n in range(1, 5))


def frame_layout(shape: tuple[int, int], header: fits.Header) -> FrameLayout:
    """The layout of a frame: from its ``OV*`` keywords, else the NAV default when the
    shape is the default frame's and the header has NAVBIAS keywords, else no overclock."""
    try:
        layout = FrameLayout.from_header(header)
        if layout.frame_shape == tuple(shape):
            return layout
    except (KeyError, ValueError):
        pass
    default = FrameLayout()
    if tuple(shape) == default.frame_shape and has_navbias_keywords(header):
        return default
    return FrameLayout.without_overclock(tuple(shape))


def has_serial_overclock(layout: FrameLayout) -> bool:
    """True when the layout has serial overclock columns on both sides."""
    return layout.serial_left > 0 and layout.serial_right > 0


def overclock_biases(data: np.ndarray, flags: np.ndarray, layout: FrameLayout) -> tuple[float, ...]:
    """Median of each quadrant's serial overclock pixels (missing ones excluded), DN.

    Raises
    ------
    ValueError
        When a quadrant has no usable overclock pixel.
    """
    biases = []
    for q in (1, 2, 3, 4):
        sl = layout.serial_overclock_slices(q)
        values = data[sl][(flags[sl] & FLAG_MISSING) == 0]
        if values.size == 0:
            raise ValueError(f"quadrant {q} has no usable serial overclock pixel")
        biases.append(float(np.median(values)))
    return tuple(biases)


def subtract_bias(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    layout: FrameLayout,
    *,
    biases: tuple[float, float, float, float] | None = None,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Subtract one bias per quadrant; return the image area only.

    Parameters
    ----------
    data, flags : numpy.ndarray
        The whole calibration frame (``layout.frame_shape``) and its quality map.
    header : astropy.io.fits.Header
        Gets BIASFN, BIASALG, BIASDN1..4 and a HISTORY line.
    layout : FrameLayout
        Where image and overclock sit.
    biases : 4 floats, optional
        Quadrant biases (DN) to use instead of measuring the overclock (the
        ``NAVBIAS1..4`` values of a frame without overclock).

    Returns
    -------
    StepOutput
        float32 image (``layout.image_shape``) minus the biases, its flags, header.
    """
    if biases is None:
        biases = overclock_biases(data, flags, layout)
        source = "SERIAL OVERCLOCK"
    else:
        source = "NAVBIAS KEYWORDS"
    image = np.array(layout.extract(data), dtype=np.float32)
    image_flags = np.array(layout.extract(flags), dtype=np.uint8)
    for q, sl in quadrant_slices(layout.image_shape).items():
        image[sl] -= np.float32(biases[q - 1])
    hdr = header.copy()
    set_keywords(hdr, {"BIASFN": source, "BIASALG": source,
                       **{f"BIASDN{q}": round(b, 3) for q, b in zip((1, 2, 3, 4), biases, strict=True)}})
    add_history(hdr, "etalon ccd bias: quadrant biases " + ", ".join(f"{b:.3f}" for b in biases)
                + f" DN from the {source.lower()}; image {layout.image_shape} extracted")
    var = None if variance is None else np.array(layout.extract(variance))
    return StepOutput(image, image_flags, hdr, var)
