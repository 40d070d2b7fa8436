"""Noise model (gain, read noise, shot noise, quantization) and the SNR map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from etalon.ccd.step import FLAG_MISSING, StepOutput
from etalon.provenance import add_history

__all__ = ["NoiseModel", "initial_variance", "snr_map"]


@dataclass(frozen=True)
class NoiseModel:
    """CCD noise: ``var = read_noise² + 1/12 + max(signal, 0) / gain`` (DN²).

    Attributes
    ----------
    gain : float
        e- per DN.
    read_noise : float
        Read noise, DN rms.
    quantization : bool
        Add the ADC's 1/12 DN² rounding variance.
    """

    gain: float = 28.0
    read_noise: float = 1.0
    quantization: bool = True

    def variance(self, signal_dn: np.ndarray) -> np.ndarray:
        """Variance (DN²) of a bias-subtracted, linear signal ``signal_dn`` (DN, signal + dark)."""
        floor = self.read_noise**2 + (1.0 / 12.0 if self.quantization else 0.0)
        return (np.maximum(signal_dn, 0, dtype=np.float32) / np.float32(self.gain)
                + np.float32(floor)).astype(np.float32)


def initial_variance(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    model: NoiseModel,
    *,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Start the variance from the noise model on bias-subtracted, linearized DN."""
    hdr = header.copy()
    add_history(hdr, f"etalon ccd noise: gain {model.gain:g} e-/DN, read noise "
                     f"{model.read_noise:g} DN, shot noise"
                     + (", quantization 1/12 DN2" if model.quantization else ""))
    return StepOutput(data, flags, hdr, model.variance(data))


def snr_map(data: np.ndarray, variance: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """``data / sqrt(variance)`` as float32; 0 where missing or the variance is not positive."""
    ok = ((flags & FLAG_MISSING) == 0) & (variance > 0) & np.isfinite(variance)
    snr = np.zeros(data.shape, np.float32)
    snr[ok] = data[ok] / np.sqrt(variance[ok])
    return snr
