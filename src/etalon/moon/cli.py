"""``etalon moon measure`` and ``etalon moon model``: thin layer over :mod:`etalon.moon`."""

from __future__ import annotations

import argparse
import logging
import math

log = logging.getLogger(__name__)

_MODEL_HELP = ("reference model: rolo (Kieffer & Stone 2005, raw linear interpolation; default), "
               "rolo-giro (GIRO-like: the 32 ROLO bands smoothed along the Apollo 16 spectrum), "
               "lime (the bundled LIME coefficients, as the LIME toolbox computes it: TSIS-1, "
               "Apollo 16 interpolation, coefficient uncertainty) or a LIME coefficient file; "
               "the model's name is recorded in every row")


def _finite(text: str) -> float:
    """A finite float for argparse (``nan``/``inf`` refused)."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``measure`` and ``model`` to the ``etalon moon`` command group."""
    from etalon.cliutil import add_common_options

    p = subparsers.add_parser(
        "measure", help="measure the Moon irradiance in GSICS netCDF files or FITS Moon images",
        description="One row per file and channel: Moon mask (circle or ellipse: pushbroom "
        "oversampling), counts, deep-space level, irradiance (W m-2 um-1) and its uncertainty "
        "budget (k=1, random and systematic parts), the oversampling factor measured on the image "
        "(ovrsamp_fa_fit), geometry, model irradiance with its uncertainty and the ratio "
        "observed/model with ratio_unc, written as an ECSV table with provenance. Channels "
        "B1..B12 take the bundled VENuS responses, SEVIRI channels the bundled SEVIRI ones.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="GSICS lunar observation files (.nc) or Moon images (FITS)")
    p.add_argument("--method", choices=("laplace", "threshold"), default="laplace",
                   help="disk extraction: Laplacian-of-Gaussian limb + ellipse fit + curve of growth "
                   "(default), or the GSICS operators' mask counts >= threshold")
    p.add_argument("--threshold", type=_finite, default=None, metavar="DN",
                   help="threshold in DN for --method threshold (default: the file's moon_pix_thld "
                   "or MOONTHR keyword)")
    p.add_argument("--srf", default=None, metavar="FILE",
                   help="spectral responses (GSICS SRF .nc or a table in nm); default: the bundled "
                   "SEVIRI and VENuS responses, matched by channel name")
    p.add_argument("--model", default=None, metavar="NAME", help=_MODEL_HELP)
    p.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                   help="measure the channels (bands) of each file in N processes (default 1); the "
                   "rows are identical to a sequential run")
    add_common_options(p, output="file", output_required=True, progress=True, scheduler=True)
    p.set_defaults(func=_measure)

    m = subparsers.add_parser(
        "model", help="print the lunar geometry and the model irradiance for a time and observer",
        description="Geometry (phase angle, selenographic coordinates, distances) from astropy "
        "with DE421, and the ROLO / GIRO-like ROLO / LIME model irradiance per channel with its "
        "uncertainty (k=1).")
    m.add_argument("--time", required=True, metavar="T", help="UTC time, ISO (2014-03-18T14:01:12)")
    m.add_argument("--observer", required=True, metavar="X,Y,Z",
                   help="observer position in km, comma separated (geocentric)")
    m.add_argument("--frame", choices=("ITRF", "J2000"), default="ITRF",
                   help="frame of --observer: Earth-fixed ITRF (default) or inertial J2000")
    m.add_argument("--srf", default=None, metavar="FILE",
                   help="spectral responses (GSICS SRF .nc or a table in nm); default: bundled SEVIRI")
    m.add_argument("--model", default="rolo", metavar="NAME", help=_MODEL_HELP)
    add_common_options(m, output=None, progress=False)
    m.set_defaults(func=_model)


def _measure(args: argparse.Namespace) -> int:
    from etalon.batch import batch_exit_code, report_failures
    from etalon.cliutil import UsageError, check_outputs
    from etalon.fileio import EtalonInputError
    from etalon.moon.measure import measure_files, write_measurement_table
    from etalon.moon.model import get_model

    check_outputs(args.files, [args.output])
    if args.model is None:
        log.warning("no --model given: comparing with raw ROLO (rolo); see --model rolo-giro or lime")
        args.model = "rolo"
    try:
        get_model(args.model)
    except EtalonInputError as exc:
        raise UsageError(f"--model {args.model}: {exc}") from exc
    if args.srf is not None:
        from etalon.spectral.responses import read_srf

        read_srf(args.srf)                 # a bad --srf is an input error: one line, exit 2
    if args.method == "threshold" and args.threshold is None:
        log.warning("--threshold not given: using each file's moon_pix_thld (MOONTHR)")
    table, results = measure_files(args.files, args.method, args.threshold, args.srf, args.model,
                                   scheduler=args.scheduler, progress=not args.no_progress,
                                   jobs=args.jobs)
    failed = report_failures(results)
    if len(table):
        write_measurement_table(table, args.output)
        print(f"{len(table)} row(s) from {len(results) - failed} file(s) -> {args.output} "
              f"(model {table.meta.get('model')})")
        cols = [c for c in ("file", "channel", "irr_obs", "irr_obs_unc", "irr_model", "ratio",
                            "ratio_unc", "flags") if c in table.colnames]
        from etalon.display import format_table

        format_table(table[cols]).pprint(max_width=200, max_lines=50)
    return batch_exit_code(results)


def _observer(text: str) -> list[float]:
    from etalon.cliutil import UsageError

    try:
        xyz = [float(v) for v in text.split(",")]
    except ValueError:
        xyz = []
    if len(xyz) != 3:
        raise UsageError(f"--observer must be X,Y,Z in km, got {text!r}")
    if not all(math.isfinite(v) for v in xyz):
        raise UsageError(f"--observer must be finite, got {text!r}")
    r = math.sqrt(sum(v * v for v in xyz))
    if r < 6000.0:
        raise UsageError(f"--observer {text!r} is {r:.0f} km from the Earth's centre: inside the Earth")
    if r > 2.0e6:
        raise UsageError(f"--observer {text!r} is {r:.3g} km from the Earth: beyond the Moon's "
                         "neighbourhood (the models need an observer near the Earth)")
    return xyz


def _model(args: argparse.Namespace) -> int:
    import warnings

    from astropy.time import Time

    from etalon.cliutil import UsageError
    from etalon.data import data_path
    from etalon.fileio import EtalonInputError
    from etalon.moon.geometry import lunar_geometry
    from etalon.moon.measure import SEVIRI_SRF
    from etalon.moon.model import LunarModelRangeWarning, band_irradiance, get_model
    from etalon.spectral.responses import read_srf

    xyz = _observer(args.observer)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # ERFA's "dubious year" for old dates
            t = Time(args.time, scale="utc")
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--time {args.time!r} is not an ISO UTC time such as "
                         "2014-03-18T14:01:12") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # ERFA's "dubious year" before the error
            geo = lunar_geometry(t, xyz, args.frame)
    except Exception as exc:  # the ephemeris raises its own types outside its span
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UsageError(f"--time {args.time}: cannot compute the lunar geometry "
                         f"({type(exc).__name__}: {first})") from exc
    try:
        model = get_model(args.model)
    except EtalonInputError as exc:
        raise UsageError(f"--model {args.model}: {exc}") from exc
    srf_path = args.srf or data_path("gsics_lunar", SEVIRI_SRF)
    responses = read_srf(srf_path)
    for key, value in geo.as_dict().items():
        print(f"{key:>16s}: {value}")
    print(f"model: {model.name}  (W m-2 um-1 at the observer, k=1 uncertainty)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LunarModelRangeWarning)
        for name, response in responses.items():
            if response.wavelength_um[0] > 2.5:
                continue
            m = band_irradiance(model, response, geo.phase_angle_deg, geo.sel_obs_lat_deg,
                                geo.sel_obs_lon_deg, geo.sel_sun_lon_deg, geo.sun_moon_au,
                                geo.obs_moon_km)
            note = (f" (extrapolated: {100 * m.extrapolated_fraction:.1f} % of the band)"
                    if m.extrapolated else "")
            print(f"{name:>16s}: {m.irradiance:.6e}  +- {m.uncertainty:.2e}{note}")
    if caught:
        log.warning("%s", caught[0].message)
    return 0
