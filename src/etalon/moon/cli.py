"""``etalon moon measure`` and ``etalon moon model``: thin layer over :mod:`etalon.moon`."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``measure`` and ``model`` to the ``etalon moon`` command group."""
    from etalon.batch import add_scheduler_option

    p = subparsers.add_parser(
        "measure", help="measure the Moon irradiance in GSICS netCDF files or FITS Moon images",
        description="One row per file and channel: Moon mask, counts, deep-space level, "
        "irradiance (W m-2 um-1) and its uncertainty, disk, geometry, model irradiance and the "
        "ratio observed/model, written as an ECSV table with provenance.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="GSICS lunar observation files (.nc) or Moon images (FITS)")
    p.add_argument("-o", "--output", required=True, metavar="TABLE.ecsv",
                   help="output table (ECSV), written atomically")
    p.add_argument("--method", choices=("laplace", "threshold"), default="laplace",
                   help="disk extraction: Laplacian-of-Gaussian limb + curve of growth (default), "
                   "or the GSICS operators' mask counts >= threshold")
    p.add_argument("--threshold", type=float, default=None, metavar="DN",
                   help="threshold in DN for --method threshold (default: the file's moon_pix_thld "
                   "or MOONTHR keyword)")
    p.add_argument("--srf", default=None, metavar="FILE",
                   help="spectral responses (GSICS SRF .nc or a table in nm); default: the bundled "
                   "SEVIRI and Venus responses, matched by channel name")
    p.add_argument("--model", default="rolo", metavar="NAME",
                   help="reference model: rolo (default), lime, or a LIME coefficient file")
    add_scheduler_option(p)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_measure)

    m = subparsers.add_parser(
        "model", help="print the lunar geometry and the model irradiance for a time and observer",
        description="Geometry (phase angle, selenographic coordinates, distances) from astropy "
        "with DE421, and the ROLO/LIME model irradiance per channel.")
    m.add_argument("--time", required=True, metavar="T", help="UTC time, ISO (2014-03-18T14:01:12)")
    m.add_argument("--observer", required=True, metavar="X,Y,Z",
                   help="observer position in km, comma separated (geocentric)")
    m.add_argument("--frame", choices=("ITRF", "J2000"), default="ITRF",
                   help="frame of --observer: Earth-fixed ITRF (default) or inertial J2000")
    m.add_argument("--srf", default=None, metavar="FILE",
                   help="spectral responses (GSICS SRF .nc or a table in nm); default: bundled SEVIRI")
    m.add_argument("--model", default="rolo", metavar="NAME",
                   help="reference model: rolo (default), lime, or a LIME coefficient file")
    m.set_defaults(func=_model)


def _measure(args: argparse.Namespace) -> int:
    from etalon.batch import report_failures
    from etalon.moon.measure import measure_files, write_measurement_table

    table, results = measure_files(args.files, args.method, args.threshold, args.srf, args.model,
                                   scheduler=args.scheduler, progress=not args.no_progress)
    failed = report_failures(results)
    if len(table):
        write_measurement_table(table, args.output)
        print(f"{len(table)} row(s) from {len(results) - failed} file(s) -> {args.output}")
        cols = [c for c in ("file", "channel", "irr_obs", "irr_model", "ratio", "flags")
                if c in table.colnames]
        table[cols].pprint(max_width=200, max_lines=50)
    return 1 if failed else 0


def _model(args: argparse.Namespace) -> int:
    import warnings

    from etalon.data import data_path
    from etalon.moon.geometry import lunar_geometry
    from etalon.moon.measure import SEVIRI_SRF
    from etalon.moon.measure import _model as model_by_name
    from etalon.moon.model import LunarModelRangeWarning, band_irradiance
    from etalon.spectral.responses import read_srf

    try:
        xyz = [float(v) for v in args.observer.split(",")]
        if len(xyz) != 3:
            raise ValueError
    except ValueError:
        print(f"--observer must be X,Y,Z in km, got {args.observer!r}")
        return 2
    geo = lunar_geometry(args.time, xyz, args.frame)
    for key, value in geo.as_dict().items():
        print(f"{key:>16s}: {value}")
    srf_path = args.srf or data_path("gsics_lunar", SEVIRI_SRF)
    model = model_by_name(args.model)
    print(f"model: {model.name}  (W m-2 um-1 at the observer)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LunarModelRangeWarning)
        for name, response in read_srf(srf_path).items():
            if response.wavelength_um[0] > 2.5:
                continue
            m = band_irradiance(model, response, geo.phase_angle_deg, geo.sel_obs_lat_deg,
                                geo.sel_obs_lon_deg, geo.sel_sun_lon_deg, geo.sun_moon_au,
                                geo.obs_moon_km)
            note = " (extrapolated)" if m.extrapolated else ""
            print(f"{name:>16s}: {m.irradiance:.6e}{note}")
    if caught:
        print(f"warning: {caught[0].message}")
    return 0
