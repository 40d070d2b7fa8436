"""Moon images with known irradiance, to measure the extraction and integration.

A disk of radius ``radius`` pixels, lit at phase angle ``phase_deg`` with a
Lommel-Seeliger law and a few dark "maria", is rendered with sub-pixel
supersampling, stretched by the oversampling factor ``ovrsamp_fa`` along the
direction ``stretch_angle_deg`` (a pushbroom scan of the Moon: the image then holds
``ovrsamp_fa`` times the disk's signal, and ``E = sum L Omega / f_ovr``), scaled
so that its radiance sums exactly to the requested irradiance, convolved with a
PSF (Gaussian core plus a faint exponential halo), put on an unknown sub-DN
background offset, and given Poisson shot noise, Gaussian read noise, integer
quantisation and optional hot/cold pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal

__all__ = ["SimulatedMoon", "psf_kernel", "render_moon", "simulate_moon_image", "write_simulated_acquisition"]


@dataclass
class SimulatedMoon:
    """A simulated Moon image and its truth.

    Attributes
    ----------
    image : numpy.ndarray
        Counts (int32 DN), what an imager would deliver.
    irradiance : float
        True irradiance, W m-2 um-1 (the sum of the noise-free radiance x solid angle).
    photon_sigma : float
        Photon (shot) noise of the integrated signal, in irradiance units.
    signal_e : float
        Expected Moon signal, electrons.
    centre_x, centre_y, radius : float
        True disk, pixels.
    background_dn : float
        The offset added, DN.
    rad_coef : float
        Radiance per DN, W m-2 sr-1 um-1 / DN.
    pix_solid_ang : float
        Pixel solid angle, sr.
    ovrsamp_fa : float
        Oversampling factor (the disk's semi-axis along ``stretch_angle_deg`` is
        ``ovrsamp_fa * radius``).
    stretch_angle_deg : float
        Direction of the stretch, degrees from +x toward +y.
    gain : float
        e-/DN.
    read_noise_e : float
        Read noise, e- rms.
    phase_deg : float
    outliers : numpy.ndarray
        Where hot/cold pixels were put.
    noise_free : numpy.ndarray
        Expected DN above background (PSF applied), float.
    """

    image: np.ndarray = field(repr=False)
    irradiance: float
    photon_sigma: float
    signal_e: float
    centre_x: float
    centre_y: float
    radius: float
    background_dn: float
    rad_coef: float
    pix_solid_ang: float
    ovrsamp_fa: float
    gain: float
    read_noise_e: float
    phase_deg: float
    outliers: np.ndarray = field(repr=False)
    noise_free: np.ndarray = field(repr=False)
    stretch_angle_deg: float = 0.0


def render_moon(shape: tuple[int, int], centre_xy: tuple[float, float], radius: float,
                phase_deg: float, position_angle_deg: float = 0.0, supersample: int = 5,
                maria: bool = True, ovrsamp_fa: float = 1.0,
                stretch_angle_deg: float = 0.0) -> np.ndarray:
    """Noise-free lunar radiance (arbitrary scale) per pixel, without PSF.

    The Sun direction is tilted by ``phase_deg`` from the line of sight toward
    ``position_angle_deg`` (0 = +x). The disk is stretched by ``ovrsamp_fa`` along
    ``stretch_angle_deg`` (degrees from +x toward +y). Pixel values are means over
    ``supersample`` x ``supersample`` sub-pixels.
    """
    h, w = shape
    s = supersample
    ext = radius * max(ovrsamp_fa, 1.0)
    x0 = max(int(np.floor(centre_xy[0] - ext)) - 1, 0)
    x1 = min(int(np.ceil(centre_xy[0] + ext)) + 2, w)
    y0 = max(int(np.floor(centre_xy[1] - ext)) - 1, 0)
    y1 = min(int(np.ceil(centre_xy[1] + ext)) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return np.zeros(shape)
    sub = (np.arange((x1 - x0) * s) + 0.5) / s - 0.5 + x0
    suby = (np.arange((y1 - y0) * s) + 0.5) / s - 0.5 + y0
    xx, yy = np.meshgrid(sub, suby)
    t = np.radians(stretch_angle_deg)
    dx, dy = xx - centre_xy[0], yy - centre_xy[1]
    along = (dx * np.cos(t) + dy * np.sin(t)) / ovrsamp_fa
    across = -dx * np.sin(t) + dy * np.cos(t)
    u = (along * np.cos(t) - across * np.sin(t)) / radius
    v = (along * np.sin(t) + across * np.cos(t)) / radius
    rho2 = u**2 + v**2
    inside = rho2 < 1.0
    mu = np.sqrt(np.clip(1.0 - rho2, 0.0, None))
    g, pa = np.radians(abs(phase_deg)), np.radians(position_angle_deg)
    sun = np.array([np.sin(g) * np.cos(pa), np.sin(g) * np.sin(pa), np.cos(g)])
    mu0 = u * sun[0] + v * sun[1] + mu * sun[2]
    lit = inside & (mu0 > 0)
    radiance = np.zeros_like(u)
    radiance[lit] = mu0[lit] / (mu0[lit] + mu[lit])
    if maria:
        for (mx, my, mr, depth) in ((-0.25, -0.3, 0.25, 0.35), (0.3, -0.1, 0.18, 0.3),
                                    (0.05, 0.35, 0.2, 0.25)):
            radiance *= 1.0 - depth * np.exp(-((u - mx) ** 2 + (v - my) ** 2) / (2 * mr**2))
    block = radiance.reshape(y1 - y0, s, x1 - x0, s).mean(axis=(1, 3))
    out = np.zeros(shape)
    out[y0:y1, x0:x1] = block
    return out


def psf_kernel(core_sigma: float = 1.0, halo_fraction: float = 0.01, halo_scale: float = 3.0,
               half_size: int = 40) -> np.ndarray:
    """Normalised PSF: Gaussian core (``core_sigma`` px) + exponential halo (``halo_scale`` px)."""
    yy, xx = np.mgrid[-half_size:half_size + 1, -half_size:half_size + 1]
    r = np.hypot(xx, yy)
    core = np.exp(-(r**2) / (2 * core_sigma**2))
    halo = np.exp(-r / halo_scale)
    return (1 - halo_fraction) * core / core.sum() + halo_fraction * halo / halo.sum()


def simulate_moon_image(phase_deg: float = 30.0, *, shape: tuple[int, int] = (256, 256),
                        centre_xy: tuple[float, float] = (128.3, 126.6), radius: float = 40.0,
                        position_angle_deg: float = 20.0, irradiance: float = 2.0e-3,
                        pix_solid_ang: float = 7.03120534e-9, ovrsamp_fa: float = 1.0,
                        stretch_angle_deg: float = 0.0, supersample: int = 5,
                        rad_coef: float = 0.05, gain: float = 10.0, read_noise_e: float = 20.0,
                        background_dn: float = 51.37, psf_sigma: float = 1.0,
                        halo_fraction: float = 0.01, halo_scale: float = 3.0, n_hot: int = 6,
                        n_cold: int = 2, seed: int | None = 0) -> SimulatedMoon:
    """Simulate a Moon image whose irradiance is known exactly.

    Parameters
    ----------
    phase_deg : float
        Phase angle, degrees (0 full, 90 quarter, > 90 crescent).
    irradiance : float
        Irradiance of the (full-resolution, noise-free) image, W m-2 um-1.
    ovrsamp_fa, stretch_angle_deg : float
        Oversampling factor and the direction of the stretch (degrees from +x toward +y).
    rad_coef : float
        Radiance per DN above background, W m-2 sr-1 um-1 / DN.
    gain, read_noise_e : float
        e-/DN and read noise (e- rms).
    background_dn : float
        Deep-space offset (unknown to the measurement), DN.
    psf_sigma, halo_fraction, halo_scale : float
        PSF core sigma (px), flux fraction and e-folding scale (px) of the halo.
    n_hot, n_cold : int
        Hot and cold pixels (anywhere, including on the disk).
    supersample : int
        Sub-pixels per pixel side for the rendering (5; 2 is enough for a 1000 px Moon).
    seed : int or None
        Random seed.
    """
    rng = np.random.default_rng(seed)
    shade = render_moon(shape, centre_xy, radius, phase_deg, position_angle_deg,
                        supersample=supersample, ovrsamp_fa=ovrsamp_fa,
                        stretch_angle_deg=stretch_angle_deg)
    total_dn = irradiance * ovrsamp_fa / (pix_solid_ang * rad_coef)
    shade *= total_dn / shade.sum()
    expected = signal.fftconvolve(shade, psf_kernel(psf_sigma, halo_fraction, halo_scale), mode="same")
    expected = np.clip(expected, 0.0, None)
    electrons = rng.poisson(expected * gain).astype(float)
    electrons += rng.normal(0.0, read_noise_e, shape)
    dn = np.floor(electrons / gain + background_dn + 0.5)
    outliers = np.zeros(shape, bool)
    n = n_hot + n_cold
    if n:
        flat = rng.choice(shape[0] * shape[1], size=n, replace=False)
        rows, cols = np.unravel_index(flat, shape)
        dn[rows[:n_hot], cols[:n_hot]] += rng.uniform(2000, 20000, n_hot)
        dn[rows[n_hot:], cols[n_hot:]] = 0
        outliers[rows, cols] = True
    dn = np.clip(dn, 0, 2**31 - 1).astype(np.int32)
    signal_e = float(total_dn * gain)
    per_dn = rad_coef * pix_solid_ang / ovrsamp_fa
    return SimulatedMoon(dn, float(irradiance), float(np.sqrt(signal_e) / gain * per_dn), signal_e,
                         float(centre_xy[0]), float(centre_xy[1]), float(radius), float(background_dn),
                         float(rad_coef), float(pix_solid_ang), float(ovrsamp_fa), float(gain),
                         float(read_noise_e), float(phase_deg), outliers, expected,
                         float(stretch_angle_deg))


def write_simulated_acquisition(path, time: str = "2014-03-18T14:01:12",
                                observer_km: tuple[float, float, float] = (7098.0, 0.0, 0.0),
                                frame: str = "ITRF", channels: tuple[str, ...] | None = None,
                                radius_px: float = 608.5, ovrsamp_fa: float = 1.2,
                                stretch_angle_deg: float = 90.0, model: str = "rolo",
                                rad_coef: float = 0.01, gain: float = 10.0, read_noise_e: float = 20.0,
                                margin_px: int = 90, supersample: int = 2, seed: int = 0,
                                position_angle_deg: float = 200.0) -> dict[str, float]:
    """Write a GSICS-style lunar file of a multi-band pushbroom acquisition with known irradiance.

    Every channel (default the 12 VENuS bands B1..B12) sees the Moon of ``radius_px``
    pixels across the scan (the pixel solid angle is chosen so that the geometry predicts
    exactly that), stretched by ``ovrsamp_fa`` along ``stretch_angle_deg``, at the true
    irradiance of ``model`` for the channel's bundled spectral response, with independent
    shot and read noise (:func:`simulate_moon_image`). The default is a full-size VENuS-like
    acquisition: a Moon about 1,217 px across.

    Returns
    -------
    dict
        Channel -> true irradiance, W m-2 um-1.
    """
    from astropy.time import Time

    from etalon.moon.geometry import lunar_geometry
    from etalon.moon.gsics import GsicsChannel, GsicsLunarObservation, write_gsics_lunar
    from etalon.moon.measure import _srf_registry
    from etalon.moon.model import MOON_RADIUS_KM, band_irradiance, get_model

    t = Time(time, scale="utc")
    geo = lunar_geometry(t, observer_km, frame)
    omega = float((np.arcsin(MOON_RADIUS_KM / geo.obs_moon_km) / radius_px) ** 2)
    names = channels or tuple(f"B{i}" for i in range(1, 13))
    reg = _srf_registry(None)
    refl = get_model(model)
    t0 = np.radians(stretch_angle_deg)
    half_along = radius_px * ovrsamp_fa
    w = int(2 * (abs(half_along * np.cos(t0)) + abs(radius_px * np.sin(t0))) + 2 * margin_px)
    h = int(2 * (abs(half_along * np.sin(t0)) + abs(radius_px * np.cos(t0))) + 2 * margin_px)
    truth, chans = {}, []
    for i, name in enumerate(names):
        e = band_irradiance(refl, reg[name], geo.phase_angle_deg, geo.sel_obs_lat_deg,
                            geo.sel_obs_lon_deg, geo.sel_sun_lon_deg, geo.sun_moon_au,
                            geo.obs_moon_km).irradiance
        sim = simulate_moon_image(abs(geo.phase_angle_deg), shape=(h, w),
                                  centre_xy=(w / 2 + 0.31, h / 2 - 0.27), radius=radius_px,
                                  position_angle_deg=position_angle_deg, irradiance=e,
                                  pix_solid_ang=omega, ovrsamp_fa=ovrsamp_fa,
                                  stretch_angle_deg=stretch_angle_deg, rad_coef=rad_coef, gain=gain,
                                  read_noise_e=read_noise_e, supersample=supersample, seed=seed + i,
                                  n_hot=4, n_cold=2)
        truth[name] = float(e)
        dc = np.ma.masked_array(sim.image.astype(np.int32))
        rad = np.ma.masked_array((sim.image - sim.background_dn) * rad_coef)
        values = {"irr_obs": None, "pix_solid_ang": omega, "ovrsamp_fa": float(ovrsamp_fa),
                  "dc_obs": None, "dc_obs_offset": float(sim.background_dn), "moon_pix_num": None,
                  "moon_pix_thld": int(sim.background_dn + 200), "gain": float(gain),
                  "read_noise": float(read_noise_e)}
        chans.append(GsicsChannel(name, True, values, dc, rad))
    obs = GsicsLunarObservation(None, t, np.asarray(observer_km, float), "ITRF93" if frame == "ITRF"
                                else "J2000", chans, {"title": "simulated multi-band lunar acquisition"})
    write_gsics_lunar(path, obs, history="etalon.moon.simulate.write_simulated_acquisition",
                      parameters={"radius_px": radius_px, "ovrsamp_fa": ovrsamp_fa,
                                  "stretch_angle_deg": stretch_angle_deg, "model": model, "seed": seed})
    return truth
