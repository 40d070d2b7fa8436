"""Despiking (cosmic rays) for segmented NAV frames, driven by the noise model.

A pixel is a spike when

1. it stands above its *level* by more than ``threshold`` sigma, the level being
   the highest mean of its complete opposite-neighbour pairs (N-S, E-W and
   the two diagonals): exact on a linear gradient and across a straight edge
   (the pair along the edge holds), so gradients and limbs do not trigger;
   sigma comes from the pipeline's variance (gain, read, shot noise on linearized
   DN, carried through the flat) averaged over the pairs, so that a spike's own
   charge does not raise its threshold, plus a relative model tolerance
   (``tolerance`` x level) for bright sharp structure;
2. it is sharper than the optics can make it: its excess exceeds
   ``contrast`` times the lift of its 8 neighbours' median over the median of
   the 16-pixel outer ring. A point source (MRI PSF ~1.7 pixel FWHM) lifts its
   neighbours, a cosmic ray does not.

3. it is not consistent with the PSF: with a plane fitted to the 16-pixel outer
   ring subtracted, a compact real source blurred by the optics lifts all four
   edge neighbours by a fair fraction of its centre (0.38 for the MRI's 1.7 pixel
   FWHM); a cosmic ray lifts none, a track one or two. A candidate whose edge
   neighbours all stand at least ``psf_fraction`` (0.1) of its excess above the
   plane is a real source and kept: the archive's persistent nucleus features
   (57, 56) (331 DN among 157-290, in 5 consecutive frames) and (27, 33) on the limb.

Detected pixels grow along tracks into 8-neighbours standing ``grow_threshold``
sigma above their second-highest visible neighbour, are replaced by the median
of their valid neighbours, and the search repeats around them (``iterations``).

Missing pixels (bit 2) and bad pixels (bit 1) never enter a level, a noise
estimate or a replacement: they are holes. A pair with a hole is dropped, so a
pixel at a snip edge or beside the missing area is judged with the complete
pairs it has (at least ``min_neighbours``, else it is never flagged): snip
edges and missing areas cannot trigger the detection. Saturated pixels (bits
16, 32) serve as neighbours but are never flagged.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from scipy import ndimage

from etalon.ccd.keywords import set_keywords
from etalon.ccd.step import (
    FLAG_BAD,
    FLAG_DESPIKED,
    FLAG_MISSING,
    FLAG_SAT_MOST,
    FLAG_SAT_SOME,
    StepOutput,
)
from etalon.provenance import add_history

__all__ = ["despike", "detect_spikes", "noise_scale", "psf_consistent", "replace_pixels"]

_RING8 = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)])
_RING16 = np.array([(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                    if max(abs(dy), abs(dx)) == 2])
#: opposite neighbours: a smooth (linear) image equals the mean of each pair at the centre
_PAIRS = (((-1, 0), (1, 0)), ((0, -1), (0, 1)), ((-1, -1), (1, 1)), ((-1, 1), (1, -1)))
_PAD = 2


def _gather(padded: np.ndarray, rows: np.ndarray, cols: np.ndarray, offsets: np.ndarray
            ) -> np.ndarray:
    """(n, len(offsets)) values of ``padded`` (pad ``_PAD``) around (rows, cols)."""
    r = rows[:, None] + offsets[None, :, 0] + _PAD
    c = cols[:, None] + offsets[None, :, 1] + _PAD
    return padded[r, c]


def _nan_median(values: np.ndarray, axis: int = -1, min_count: int = 1
                ) -> tuple[np.ndarray, np.ndarray]:
    """Median along ``axis`` ignoring NaN, and the count of valid values (NaN if < min_count)."""
    count = np.sum(~np.isnan(values), axis=axis)
    s = np.sort(values, axis=axis)  # NaN sort last
    n = values.shape[axis]
    lo = np.expand_dims(np.clip((count - 1) // 2, 0, n - 1), axis)
    hi = np.expand_dims(np.clip(count // 2, 0, n - 1), axis)
    med = 0.5 * (np.take_along_axis(s, lo, axis) + np.take_along_axis(s, hi, axis))
    med = np.squeeze(med, axis)
    med[count < min_count] = np.nan
    return med, count


def _padded(image: np.ndarray, holes: np.ndarray) -> np.ndarray:
    out = np.full((image.shape[0] + 2 * _PAD, image.shape[1] + 2 * _PAD), np.nan, np.float32)
    out[_PAD:-_PAD, _PAD:-_PAD] = np.where(holes, np.nan, image)
    return out


def _pair_means_full(padded: np.ndarray, shape: tuple[int, int]) -> list[np.ndarray]:
    """Means of the 4 opposite-neighbour pairs of every pixel (NaN when one is a hole)."""
    ny, nx = shape
    out = []
    for (ay, ax), (by, bx) in _PAIRS:
        a = padded[_PAD + ay:_PAD + ay + ny, _PAD + ax:_PAD + ax + nx]
        b = padded[_PAD + by:_PAD + by + ny, _PAD + bx:_PAD + bx + nx]
        out.append((a + b) * np.float32(0.5))
    return out


def _pair_means_at(padded: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> list[np.ndarray]:
    """The 4 pair means at (rows, cols)."""
    a = _gather(padded, rows, cols, np.array([p[0] for p in _PAIRS]))
    b = _gather(padded, rows, cols, np.array([p[1] for p in _PAIRS]))
    means = 0.5 * (a + b)
    return [means[:, k] for k in range(len(_PAIRS))]


def _level_and_noise(pairs: list[np.ndarray], var_pairs: list[np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level, variance, complete pairs): level = the highest complete pair mean (exact on a
    linear gradient and across a straight edge, where the pair along the edge holds);
    variance = mean of the complete pairs' variances."""
    level = np.fmax(np.fmax(pairs[0], pairs[1]), np.fmax(pairs[2], pairs[3]))
    count = sum((~np.isnan(p)).astype(np.int8) for p in pairs)
    total = sum(np.nan_to_num(v) for v in var_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = total / np.maximum(count, 1)
    return level, noise, count


def noise_scale(image: np.ndarray, variance: np.ndarray, holes: np.ndarray) -> float:
    """Factor (>= 1) by which the scatter of the image exceeds the noise model.

    Robust standard deviation (1.4826 x MAD) of ``(pixel - mean of its 8
    neighbours) / sigma`` over pixels whose 8 neighbours are all valid, divided
    by its expectation for white noise, sqrt(1 + 1/8). Close to 1 when the
    variance is right; larger when the input carries noise the model lacks
    (e.g. the archive's lossy compression).
    """
    work = _padded(image, holes)
    ny, nx = image.shape
    total = np.zeros((ny, nx), np.float32)
    for dy, dx in _RING8:
        total += work[_PAD + dy:_PAD + dy + ny, _PAD + dx:_PAD + dx + nx]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (image - total / 8) / np.sqrt(variance)
    r = r[np.isfinite(r) & ~holes]
    if r.size < 100:
        return 1.0
    mad = 1.4826 * np.median(np.abs(r - np.median(r)))
    return float(max(1.0, mad / np.sqrt(1.0 + 1.0 / 8.0)))


def detect_spikes(
    image: np.ndarray,
    variance: np.ndarray | float,
    holes: np.ndarray | None = None,
    protect: np.ndarray | None = None,
    *,
    threshold: float = 5.0,
    contrast: float = 3.0,
    grow_threshold: float = 3.0,
    iterations: int = 2,
    min_neighbours: int = 1,
    tolerance: float = 0.01,
    check_noise: bool = True,
    psf_fraction: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Find spikes; return (mask, cleaned image).

    The level a pixel is compared with is the highest mean of its complete
    opposite-neighbour pairs (N-S, E-W and the two diagonals): exact on a linear
    gradient and across a straight edge (the pair along the edge holds), and
    defined beside holes (pairs with a hole are dropped). A track through the
    pixel lifts one pair only at its ends; its inner pixels are reached by
    growing from the detected ones, their level taken with the spikes hidden.

    Parameters
    ----------
    image : numpy.ndarray
        Calibrated image (any linear unit).
    variance : numpy.ndarray or float
        Noise variance of each pixel, same unit squared.
    holes : numpy.ndarray of bool, optional
        Pixels that carry no data (missing, bad): never used, never flagged.
    protect : numpy.ndarray of bool, optional
        Pixels never flagged but used as neighbours (saturated).
    threshold : float
        Detection level, sigma (DESPIKET).
    contrast : float
        Minimum ratio of a spike's excess over its level to the level's excess
        over the median of the outer ring (16 pixels two steps away): a point
        source lifts its neighbours, a cosmic ray does not.
    grow_threshold : float
        Level, sigma, for the 8-neighbours of detected pixels (repeated while
        the spike grows, at most 8 times).
    iterations : int
        Detection passes (DESPIKEI); later passes only look around new spikes,
        with the spikes replaced.
    min_neighbours : int
        Complete opposite-neighbour pairs a pixel needs to be judged (1..4).
    tolerance : float
        Relative model error added to the noise: the threshold applies to
        ``sqrt(variance + (tolerance * level)**2)``, so that the curvature of
        bright, sharp structure (a nucleus limb) is not taken for a spike.
    check_noise : bool
        Scale the variance by :func:`noise_scale` squared when the image is
        noisier than the model says (never below the model).
    psf_fraction : float
        A candidate whose four edge neighbours all stand at least this fraction
        of its excess above the plane of the outer ring is PSF-consistent (a real
        compact source) and never flagged; 0 switches the rule off.

    Returns
    -------
    mask : numpy.ndarray of bool
        Spike pixels.
    cleaned : numpy.ndarray
        float32 copy of ``image`` with spikes replaced by their valid neighbours' median.
    """
    image = np.asarray(image, dtype=np.float32)
    shape = image.shape
    holes = np.zeros(shape, bool) if holes is None else np.asarray(holes, bool)
    never = holes if protect is None else (holes | protect)
    var = np.broadcast_to(np.asarray(variance, dtype=np.float32), shape)
    if check_noise:
        var = var * np.float32(noise_scale(image, var, holes) ** 2)
    var_padded = _padded(var, holes)
    work = _padded(image, holes)
    need = max(1, min(int(min_neighbours), 4))

    # pass 1, whole image, vectorized
    level, noise, count = _level_and_noise(_pair_means_full(work, shape),
                                           _pair_means_full(var_padded, shape))
    with np.errstate(invalid="ignore"):
        noise = noise + (tolerance * level) ** 2
        candidates = ~never & (count >= need) & (image - level > threshold * np.sqrt(noise))
    rows, cols = np.nonzero(candidates)

    mask = np.zeros(shape, bool)
    cleaned = image.copy()
    for it in range(max(1, iterations)):
        if rows.size == 0:
            break
        found = _judge(work, var_padded, rows, cols, threshold, contrast, need, tolerance,
                       psf_fraction)
        new = np.zeros(shape, bool)
        new[rows[found], cols[found]] = True
        if not new.any():
            break
        # grow along tracks: neighbours judged with the spikes hidden
        hidden = work.copy()
        edge = new
        for _ in range(8):
            hidden[_PAD:-_PAD, _PAD:-_PAD][edge] = np.nan
            ring = ndimage.binary_dilation(edge, structure=np.ones((3, 3), bool))
            ring &= ~new & ~mask & ~never
            gr, gc = np.nonzero(ring)
            if gr.size == 0:
                break
            grown = _judge_growth(hidden, var_padded, gr, gc, grow_threshold)
            if not grown.any():
                break
            edge = np.zeros(shape, bool)
            edge[gr[grown], gc[grown]] = True
            new |= edge
        mask |= new
        # replace by the valid, unflagged neighbours' median; look again around them
        rr, cc = np.nonzero(new)
        work[rr + _PAD, cc + _PAD] = np.nan
        values, _ = _nan_median(_gather(work, rr, cc, _RING8))
        none = np.isnan(values)
        if none.any():
            values[none], _ = _nan_median(_gather(work, rr[none], cc[none], _RING16))
        cleaned[rr, cc] = np.where(np.isnan(values), cleaned[rr, cc], values)
        work[rr + _PAD, cc + _PAD] = values
        if it + 1 < iterations:
            around = ndimage.binary_dilation(new, structure=np.ones((5, 5), bool)) & ~never & ~mask
            rows, cols = np.nonzero(around)
    return mask, cleaned


_EDGE4 = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)])
#: design matrix of a plane over the outer ring (1, dy, dx)
_RING16_PLANE = np.column_stack([np.ones(len(_RING16)), _RING16[:, 0], _RING16[:, 1]])


def psf_consistent(work: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                   fraction: float) -> np.ndarray:
    """True where the 4 edge neighbours all stand >= ``fraction`` of the centre's excess
    above the plane fitted to the 16-pixel outer ring (NaN-padded ``work``, pad 2)."""
    ring = _gather(work, rows, cols, _RING16)
    w = (~np.isnan(ring)).astype(np.float64)
    v = np.nan_to_num(ring).astype(np.float64)
    a = _RING16_PLANE
    normal = np.einsum("ni,ij,ik->njk", w, a, a)
    rhs = np.einsum("ni,ij,ni->nj", w, a, v)
    good = w.sum(axis=1) >= 6
    coef = np.zeros((rows.size, 3))
    if good.any():
        coef[good] = np.linalg.solve(normal[good], rhs[good][..., None])[..., 0]
    centre = work[rows + _PAD, cols + _PAD] - coef[:, 0]
    edge = _gather(work, rows, cols, _EDGE4)
    plane = coef[:, :1] + coef[:, 1:2] * _EDGE4[None, :, 0] + coef[:, 2:3] * _EDGE4[None, :, 1]
    lifted = edge - plane
    with np.errstate(invalid="ignore"):
        each = np.where(np.isnan(lifted), True, lifted >= fraction * centre[:, None])
    n_valid = np.sum(~np.isnan(lifted), axis=1)
    return good & (centre > 0) & (n_valid >= 3) & each.all(axis=1)


def _judge(work, var_padded, rows, cols, threshold, contrast, need, tolerance=0.0,
           psf_fraction=0.0):
    """Spike test at (rows, cols) on the NaN-padded image ``work``."""
    centre = work[rows + _PAD, cols + _PAD]
    level, noise, count = _level_and_noise(_pair_means_at(work, rows, cols),
                                           _pair_means_at(var_padded, rows, cols))
    noise = noise + (tolerance * level) ** 2
    excess = centre - level
    with np.errstate(invalid="ignore"):
        ok = (count >= need) & (excess > threshold * np.sqrt(noise))
    ok &= np.isfinite(excess)
    if psf_fraction > 0 and ok.any():
        idx = np.nonzero(ok)[0]
        ok[idx] = ~psf_consistent(work, rows[idx], cols[idx], psf_fraction)
    if contrast > 0 and ok.any():
        idx = np.nonzero(ok)[0]
        ring = _gather(work, rows[idx], cols[idx], _RING8)
        inner, _ = _nan_median(ring)
        outer, _ = _nan_median(_gather(work, rows[idx], cols[idx], _RING16))
        lift = np.where(np.isnan(outer), 0.0, inner - outer)
        sharp = excess[idx] > contrast * np.maximum(lift, 0.0)
        # beside a hole (fewer than 2 complete pairs) the neighbourhood is cut: a source
        # whose core fell in the hole must not pass for a spike, so the brightest valid
        # neighbour must itself stay near the outer level
        cut = count[idx] < 2
        if cut.any():
            brightest = np.nanmax(np.where(np.isnan(ring[cut]), -np.inf, ring[cut]), axis=1)
            base = np.where(np.isnan(outer[cut]), level[idx][cut], outer[cut])
            sharp[cut] &= (centre[idx][cut] - base) > contrast * np.maximum(brightest - base, 0.0)
        ok[idx] = sharp
    return ok


def _judge_growth(hidden, var_padded, rows, cols, threshold):
    """Growth test: above the second-highest visible neighbour by ``threshold`` sigma.

    Along a track, a pixel has at most one undetected track neighbour, so the
    second-highest neighbour is background; beside an edge, several neighbours
    on the bright side keep it from growing.
    """
    centre = hidden[rows + _PAD, cols + _PAD]
    ring = _gather(hidden, rows, cols, _RING8)
    count = np.sum(~np.isnan(ring), axis=1)
    ordered = np.sort(np.where(np.isnan(ring), -np.inf, ring), axis=1)
    second = ordered[:, -2]
    noise, _ = _nan_median(_gather(var_padded, rows, cols, _RING8))
    with np.errstate(invalid="ignore"):
        ok = (count >= 2) & (centre - second > threshold * np.sqrt(noise))
    return ok & np.isfinite(centre)


def replace_pixels(image: np.ndarray, mask: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """``image`` with ``mask`` pixels replaced by the median of valid, unmasked 8-neighbours."""
    work = _padded(image, holes | mask)
    rr, cc = np.nonzero(mask)
    values, _ = _nan_median(_gather(work, rr, cc, _RING8))
    out = np.array(image, dtype=np.float32)
    out[rr, cc] = np.where(np.isnan(values), out[rr, cc], values)
    return out


def despike(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    *,
    threshold: float = 5.0,
    contrast: float = 3.0,
    grow_threshold: float = 3.0,
    iterations: int = 2,
    min_neighbours: int = 1,
    tolerance: float = 0.01,
    psf_fraction: float = 0.1,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Detect and replace spikes; flag them with bit 8 (etalon's FLAG_DESPIKED).

    Parameters are those of :func:`detect_spikes`. ``variance`` is required
    (the noise model). Header: DESPIKE, DESPIKET, DESPIKEI, DESPIKEB,
    DESPIKEM, DESPIKCT.
    """
    if variance is None:
        raise ValueError("despike needs the noise variance (run the noise step first)")
    holes = (flags & (FLAG_MISSING | FLAG_BAD)) != 0
    protect = (flags & (FLAG_SAT_SOME | FLAG_SAT_MOST)) != 0
    scale = noise_scale(data, variance, holes)
    mask, cleaned = detect_spikes(data, variance * np.float32(scale**2), holes, protect,
                                  check_noise=False, threshold=threshold,
                                  contrast=contrast, grow_threshold=grow_threshold,
                                  iterations=iterations, min_neighbours=min_neighbours,
                                  tolerance=tolerance, psf_fraction=psf_fraction)
    new_flags = (flags | np.where(mask, FLAG_DESPIKED, np.uint8(0))).astype(np.uint8)
    new_var = variance
    if mask.any():
        new_var = variance.copy()
        new_var[mask] = replace_pixels(variance, mask, holes)[mask]
    hdr = header.copy()
    count = int(mask.sum())
    set_keywords(hdr, {"DESPIKE": True, "DESPIKET": float(threshold), "DESPIKEI": int(iterations),
                       "DESPIKEB": 3, "DESPIKEM": "MEDIAN", "DESPIKCT": count})
    add_history(hdr, f"etalon ccd despike: {threshold:g} sigma over the highest "
                     f"opposite-neighbour pair mean, "
                     f"contrast {contrast:g}, grow {grow_threshold:g} sigma, tolerance {tolerance:g}, "
                     f"PSF-consistent sources kept (edge neighbours >= {psf_fraction:g} x excess), "
                     f"noise scale {scale:.3f}, "
                     f"{iterations} "
                     f"iterations; missing/bad pixels excluded; {count} pixels replaced (flag 8)")
    return StepOutput(cleaned, new_flags, hdr, new_var)
