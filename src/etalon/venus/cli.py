"""``etalon venus header``, ``etalon venus po`` and ``etalon venus simulate-campaign``.

A thin layer over :mod:`etalon.venus.header`, :mod:`etalon.venus.po` and
:mod:`etalon.venus.simulate`.
"""

from __future__ import annotations

import argparse
import logging

from etalon.cliutil import add_common_options

__all__ = ["register"]

log = logging.getLogger(__name__)

HEADER_EPILOG = """\
examples:
  etalon venus header VE_VM01_VSC_L1VALD_ISRAEL03_20190204.HDR.xml
  etalon venus header VE_VM01_VSC_L1VALD_ISRAEL03_20190204.HDR.xml --json
"""

SIM_EPILOG = """\
examples:
  etalon venus simulate-campaign campaign/ --scale 0.125 --seed 1
  etalon venus simulate-campaign campaign/ --scale 0.125 --start 2022-03-01 --end 2022-12-31 --per-month 2
  etalon moon measure campaign/VENUS_MOON_*.nc -o campaign/measured.ecsv
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``header``, ``po`` and ``simulate-campaign`` to the ``etalon venus`` commands."""
    h = subparsers.add_parser(
        "header", help="read a VENuS Level-1 XML header (GIPP list, A_k, flags)",
        description="Read a VENuS L1 Earth Explorer header (*.HDR.xml): product, site, "
        "acquisition time, phase, the GIPP calibration files (nature, version, validity, band), "
        "the absolute gains A_k, polarisation coefficients, central wavelengths and processing "
        "flags. DTDs and entity declarations are refused (safe parsing).",
        epilog=HEADER_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    h.add_argument("file", metavar="FILE", help="VENuS L1 header, e.g. VE_VM01_..._20190204.HDR.xml")
    h.add_argument("--json", action="store_true",
                   help="print one JSON object (product, site, acquisition_time, phase, gipp, ak, "
                   "polarization, flags, ...) instead of the text summary")
    add_common_options(h, output=None, progress=False)
    h.set_defaults(func=_header)

    p = subparsers.add_parser(
        "po", help="build a PO registry (ECSV) from real L1 headers",
        description="Each distinct set of A_k and DARKCU/RELSEN/STRLGT versions found in the "
        "headers becomes one PO version, valid from the latest validity start of its files; "
        "the registry is written as the ECSV file documented in docs/venus.md.")
    p.add_argument("files", nargs="+", metavar="FILE", help="VENuS L1 headers (*.HDR.xml)")
    add_common_options(p, output="file", output_required=True, progress=False)
    p.set_defaults(func=_po)

    s = subparsers.add_parser(
        "simulate-campaign", help="simulate a multi-year VENuS lunar campaign with known truth",
        description="Moon acquisitions (about monthly, phases 5-90 deg, waxing and waning, real "
        "lunar geometry for a sun-synchronous VENuS orbit at the phase's altitude), each a "
        "12-band GSICS-style netCDF that 'etalon moon measure' reads, plus truth.ecsv, "
        "truth.json, po.ecsv (and desert.ecsv when the desert simulator is installed) in OUTDIR. "
        "Fields: docs/venus-simulator.md.",
        epilog=SIM_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("outdir", metavar="OUTDIR", help="output folder (created if needed)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same files")
    s.add_argument("--scale", type=float, default=1.0,
                   help="image scale in (0, 1]: 1 = the real Moon size (~1,217 px across), "
                   "0.125 ~ 150 px (default 1)")
    s.add_argument("--start", default="2017-09-01", metavar="DATE",
                   help="first day, ISO (default 2017-09-01)")
    s.add_argument("--end", default="2024-07-31", metavar="DATE", help="last day, ISO (default 2024-07-31)")
    s.add_argument("--per-month", type=int, default=1, metavar="N",
                   help="acquisitions per lunation (1 alternates waxing/waning; 2 one of each; default 1)")
    s.add_argument("--max-acquisitions", type=int, default=None, metavar="N",
                   help="keep only N acquisitions spread over the campaign (default all)")
    s.add_argument("--oversampling", type=float, default=None, metavar="F",
                   help="force this along-track oversampling factor (default: from the pitch rate "
                   "and the phase's altitude)")
    s.add_argument("--pitch-rate", type=float, default=None, metavar="RAD_S",
                   help="pitch rate of the lunar scan, rad/s (default 6e-3)")
    s.add_argument("--no-straylight", action="store_true", help="inject no CT1/CT2 stray light")
    s.add_argument("--no-desert", action="store_true", help="do not write desert.ecsv")
    add_common_options(s, output=None, progress=True)
    s.set_defaults(func=_simulate)


def _header(args: argparse.Namespace) -> int:
    import json

    from etalon.venus.header import read_l1_header

    h = read_l1_header(args.file)
    if args.json:
        print(json.dumps(h.as_dict(), indent=1))
        return 0
    print(f"{h.product}  site {h.site}  acquired {h.acquisition_time}  phase {h.phase} "
          f"({h.phase_name})  orbit {h.orbit}")
    print(f"{len(h.gipp)} GIPP files:")
    for g in h.gipp:
        band = g.band or "-"
        print(f"  {g.sn:3d} {g.nature:7s} v{g.version:<3d} {g.validity_start} .. {g.validity_stop} {band}")
    print("band  A_k     polarisation  centre_nm")
    for b, ak in h.ak.items():
        print(f"  {b:4s} {ak:7.4f} {h.polarization.get(b, float('nan')):+.4f}      "
              f"{h.central_wavelength_nm.get(b, float('nan')):.0f}")
    print("flags: " + ", ".join(f"{k}={'true' if v else 'false'}" for k, v in h.flags.items()))
    return 0


def _po(args: argparse.Namespace) -> int:
    from etalon.cliutil import check_outputs
    from etalon.venus.po import PoRegistry, write_po

    check_outputs(args.files, [args.output])
    reg = PoRegistry.from_headers(args.files)
    write_po(reg, args.output, inputs=args.files)
    print(f"{len(reg)} PO version(s) {reg.versions} from {len(args.files)} header(s) -> {args.output}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from etalon.cliutil import UsageError, output_dir_or_error
    from etalon.venus.simulate import CampaignConfig, simulate_campaign

    if not 0 < args.scale <= 1:
        raise UsageError(f"--scale must be in (0, 1], got {args.scale}")
    if args.per_month < 1:
        raise UsageError(f"--per-month must be >= 1, got {args.per_month}")
    out = output_dir_or_error(args.outdir)
    kw = {}
    if args.pitch_rate is not None:
        if args.pitch_rate <= 0:
            raise UsageError(f"--pitch-rate must be > 0, got {args.pitch_rate}")
        kw["pitch_rate_rad_s"] = args.pitch_rate
    cfg = CampaignConfig(start=args.start, end=args.end, per_month=args.per_month,
                         max_acquisitions=args.max_acquisitions, scale=args.scale, seed=args.seed,
                         oversampling=args.oversampling, straylight=not args.no_straylight,
                         desert=not args.no_desert, **kw)
    try:
        result = simulate_campaign(out, cfg, progress=not args.no_progress)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(f"{len(result['files'])} acquisition(s), {len(result['registry'])} PO version(s) -> {out}")
    return 0
