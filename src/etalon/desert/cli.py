"""``etalon desert normalise | crosscal | compare-moon``: thin layer over :mod:`etalon.desert`."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``normalise``, ``crosscal`` and ``compare-moon`` to the ``etalon desert`` group."""
    from etalon.cliutil import add_common_options

    p = subparsers.add_parser(
        "normalise", help="BRDF-normalise DIMITRI desert series to SZA 30, VZA 0",
        description="Fit a Ross-thick / Li-sparse-reciprocal BRDF per band on each sensor's "
        "series (WLS, clouds and dust rejected), and write one row per acquisition and band: "
        "time, sensor, band, wavelength (nm), sza, vza, raa (deg), rho, rho_norm (at SZA 30, "
        "VZA 0), rho_norm_unc, outlier. Per-band fits, rms and seasonal cycle in the table's meta.")
    p.add_argument("files", nargs="+", metavar="FILE.sav", help="DIMITRI series (.sav)")
    p.add_argument("--sensor", default=None, metavar="NAME",
                   help="DIMITRI sensor (MERIS, MODISA, AATSR, ...); default: from each file name")
    p.add_argument("--ref-sza", type=float, default=30.0, metavar="DEG",
                   help="reference solar zenith angle, deg (default 30)")
    p.add_argument("--ref-vza", type=float, default=0.0, metavar="DEG",
                   help="reference view zenith angle, deg (default 0)")
    p.add_argument("--cv-max", type=float, default=0.06, metavar="CV",
                   help="ROI coefficient of variation above which an acquisition is cloudy/dusty "
                   "(default 0.06)")
    p.add_argument("--k-sigma", type=float, default=3.5, metavar="K",
                   help="robust outlier threshold on the BRDF-fit residuals (default 3.5)")
    p.add_argument("--min-acquisitions", type=int, default=10, metavar="N",
                   help="fewest clear acquisitions to fit a band (default 10)")
    add_common_options(p, output="file", output_required=True)
    p.set_defaults(func=_normalise)

    c = subparsers.add_parser(
        "crosscal", help="cross-calibrate a target sensor against a reference over a desert site",
        description="Both series BRDF-normalised to SZA 30, VZA 0; per matched band pair "
        "(DIMITRI band-matching table) the SBAF from the site TOA spectrum and the responses; "
        "per time bin the ratio target / (reference x SBAF); its mean with statistical and "
        "total uncertainty and its linear trend. One row per band pair.")
    c.add_argument("target", metavar="TARGET.sav", help="target sensor's DIMITRI series")
    c.add_argument("reference", metavar="REFERENCE.sav", help="reference sensor's DIMITRI series")
    c.add_argument("--target-sensor", default=None, metavar="NAME",
                   help="target DIMITRI sensor (default: from the file name)")
    c.add_argument("--reference-sensor", default=None, metavar="NAME",
                   help="reference DIMITRI sensor (default: from the file name)")
    c.add_argument("--bin-days", type=float, default=30.0, metavar="DAYS",
                   help="time bin in which the two sensors are compared, days (default 30)")
    c.add_argument("--spectrum", default=None, metavar="FILE",
                   help="site TOA spectrum (Wavelength;Reflectance;Sigma, nm); default: the "
                   "bundled DIMITRI Libya-4 spectrum")
    c.add_argument("--series", default=None, metavar="FILE.ecsv",
                   help="also write the per-bin ratio series (ECSV)")
    add_common_options(c, output="file", output_required=True)
    c.set_defaults(func=_crosscal)

    m = subparsers.add_parser(
        "compare-moon", help="Moon versus desert calibration per VENuS band and phase",
        description="Side by side per band: the phase levels (phase:<name>, relative to the "
        "first phase after drift removal) and the drift from the Moon (campaign SUMMARY.ecsv: "
        "channel, term, value, unc) and from the desert (VENuS desert acquisitions: time, "
        "phase, band, sza, vza, raa, rho, ak_in_force...; or desert terms channel, term, value, "
        "unc), their difference, its uncertainty and significance z.")
    m.add_argument("--moon", required=True, metavar="SUMMARY.ecsv",
                   help="campaign summary (etalon campaign analyze --summary)")
    m.add_argument("--desert", required=True, metavar="DESERT.ecsv",
                   help="VENuS desert acquisitions (one row per acquisition and band) or desert "
                   "terms (channel, term, value, unc)")
    m.add_argument("--k", type=float, default=3.0, metavar="K",
                   help="|z| above which Moon and desert disagree (default 3)")
    m.add_argument("--no-reprocess", action="store_true",
                   help="fit the desert series as processed (default: brought to the first PO "
                   "with its ak_in_force column)")
    m.add_argument("--desert-terms", default=None, metavar="FILE.ecsv",
                   help="also write the desert terms computed from the acquisitions (ECSV: "
                   "channel, term, value, unc; etalon campaign analyze --desert-terms stores them "
                   "in the campaign results file)")
    add_common_options(m, output="file", output_required=True)
    m.set_defaults(func=_compare)


def _normalise(args: argparse.Namespace) -> int:
    import functools

    from astropy.table import vstack

    from etalon.batch import batch_exit_code, map_files, report_failures
    from etalon.cliutil import UsageError, check_outputs, unique_inputs
    from etalon.desert.normalise import normalise_file, write_table

    files = unique_inputs(args.files)
    check_outputs(files, [args.output])
    if not 0 <= args.ref_sza < 90 or not 0 <= args.ref_vza < 90:
        raise UsageError("--ref-sza and --ref-vza must be in [0, 90) deg")
    kw = {"ref": (args.ref_sza, args.ref_vza, 0.0), "cv_max": args.cv_max,
          "k_sigma": args.k_sigma, "min_acquisitions": args.min_acquisitions}
    func = functools.partial(normalise_file, sensor=args.sensor, **kw)
    results = map_files(func, files, scheduler="synchronous", progress=not args.no_progress,
                        description="normalise")
    report_failures(results)
    tables = [r.value for r in results if r.ok]
    if not tables:
        return batch_exit_code(results)
    table = vstack(tables, metadata_conflicts="silent") if len(tables) > 1 else tables[0]
    bands_meta: dict = {}
    for t in tables:
        bands_meta.update(t.meta.get("bands", {}))
    table.meta["bands"] = bands_meta
    write_table(table, args.output, inputs=[r.path for r in results if r.ok],
                parameters={"sensor": args.sensor, **{k: str(v) for k, v in kw.items()}})
    log.info("%s: %d rows from %d file(s)", args.output, len(table), len(tables))
    return batch_exit_code(results)


def _crosscal(args: argparse.Namespace) -> int:
    from astropy.table import Table

    from etalon.cliutil import check_outputs
    from etalon.desert.brdf import InsufficientDataError, normalise_series
    from etalon.desert.crosscal import crosscal_sensors, results_table
    from etalon.desert.dimitri import read_series, read_site_spectrum
    from etalon.desert.normalise import write_table
    from etalon.fileio import EtalonInputError

    outs = [args.output] + ([args.series] if args.series else [])
    check_outputs([args.target, args.reference] + ([args.spectrum] if args.spectrum else []), outs)
    series = {}
    for role, path, sensor in (("target", args.target, args.target_sensor),
                               ("reference", args.reference, args.reference_sensor)):
        s = read_series(path, sensor)
        try:
            series[role] = normalise_series(s)
        except InsufficientDataError as exc:
            raise EtalonInputError(path, f"{s.n} acquisition(s): {exc}") from None
    tgt, ref = series["target"], series["reference"]
    spectrum = read_site_spectrum(args.spectrum) if args.spectrum else read_site_spectrum()
    try:
        results, skipped = crosscal_sensors(tgt, ref, spectrum, args.bin_days)
    except KeyError as exc:
        raise EtalonInputError(args.target, str(exc.args[0])) from None
    for centre, why in skipped.items():
        log.warning("band pair %g nm: %s: skipped", centre, why)
    if not results:
        raise EtalonInputError(args.target, "no matched band pair could be cross-calibrated")
    out = results_table(results)
    params = {"bin_days": args.bin_days, "spectrum": args.spectrum or "bundled Libya-4"}
    write_table(out, args.output, inputs=[args.target, args.reference], parameters=params,
                step="desert crosscal")
    if args.series:
        rows = [(r.pair.centre_nm, float(t), float(v), float(u), int(a), int(b)) for r in results
                for t, v, u, a, b in zip(r.t_mid, r.bin_ratio, r.bin_unc, r.n_target, r.n_reference,
                                         strict=True)]
        st = Table(rows=rows, names=("centre_nm", "decimal_year", "ratio", "ratio_unc", "n_target",
                                     "n_reference"))
        write_table(st, args.series, inputs=[args.target, args.reference], parameters=params,
                    step="desert crosscal")
    for row in out:
        print(f"{row['centre_nm']:6.0f} nm  ratio {row['ratio']:.4f} +- {row['ratio_unc']:.4f}  "
              f"SBAF {row['sbaf']:.4f} +- {row['sbaf_unc']:.4f}  drift "
              f"{100 * row['drift_per_year']:+.3f} +- {100 * row['drift_unc']:.3f} %/yr")
    return 0


def _read_ecsv(path: str):
    from astropy.table import Table

    from etalon.fileio import EtalonInputError, require_file

    p = require_file(path, "ECSV table")
    try:
        return Table.read(p, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many types for a bad ECSV
        raise EtalonInputError(p, f"not an ECSV table ({type(exc).__name__}: {exc})") from None


def _compare(args: argparse.Namespace) -> int:
    from etalon.cliutil import check_outputs
    from etalon.desert.compare import compare_moon_desert, venus_desert_terms
    from etalon.desert.normalise import write_table
    from etalon.fileio import EtalonInputError

    outs = [args.output] + ([args.desert_terms] if args.desert_terms else [])
    check_outputs([args.moon, args.desert], outs)
    moon = _read_ecsv(args.moon)
    desert = _read_ecsv(args.desert)
    if {"term", "value", "unc"} <= set(desert.colnames):
        terms = desert
    else:
        try:
            terms = venus_desert_terms(desert, reprocess=not args.no_reprocess)
        except ValueError as exc:
            raise EtalonInputError(args.desert, str(exc)) from None
        for b, why in terms.meta.get("failed", {}).items():
            log.warning("%s: band %s not fitted: %s", args.desert, b, why)
    try:
        out = compare_moon_desert(moon, terms, k=args.k)
    except ValueError as exc:
        raise EtalonInputError(args.moon, str(exc)) from None
    if args.desert_terms:  # after the comparison: a refused input leaves no file
        if terms is desert:
            log.warning("%s holds desert terms already: --desert-terms %s is a copy of it",
                        args.desert, args.desert_terms)
        write_table(terms, args.desert_terms, inputs=[args.desert],
                    parameters={"reprocess": not args.no_reprocess}, step="desert compare-moon")
    write_table(out, args.output, inputs=[args.moon, args.desert],
                parameters={"k": args.k, "reprocess": not args.no_reprocess},
                step="desert compare-moon")
    n_bad = int((~out["consistent"]).sum())
    if n_bad:
        log.warning("%d of %d band/term comparisons differ by more than %g sigma", n_bad, len(out),
                    args.k)
    for row in out:
        print(f"{row['channel']:>4} {row['term']:<10} moon {row['moon']:+.5f} +- {row['moon_unc']:.5f}"
              f"  desert {row['desert']:+.5f} +- {row['desert_unc']:.5f}  z {row['z']:+.2f}")
    return 0
