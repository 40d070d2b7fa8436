"""``etalon venus crosstalk``: CT1/CT2 (residual) stray light of multi-band Moon or bright-edge scenes."""

from __future__ import annotations

import argparse
import functools
import logging

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``crosstalk`` to the ``etalon venus`` command group."""
    from etalon.cliutil import add_common_options

    p = subparsers.add_parser(
        "crosstalk", help="measure CT1 halo fractions and CT2 cross-talk ghosts of Moon or "
        "bright-edge scenes",
        description="For each multi-band scene (FITS with one image HDU per band, EXTNAME B1..B12, "
        "or a simulated 12-band lunar netCDF): per band the CT1 fraction of the signal beyond "
        "1.1 disk radii (CT2 ghosts removed), per ordered pair inside each detector unit the CT2 "
        "coefficient (ghost flux / source flux), displacement and significance. One ECSV row per "
        "file, type and pair. Bright-edge scenes (a bright half-plane, strip or rectangle next to "
        "black: cloud tops, coasts, the Earth limb) are recognised when the bright region reaches "
        "the frame border (or forced with --scene edge): CT1 is then the fraction of the signal "
        "farther than --edge-distance from the edge, and a ghost's displacement along a straight "
        "edge is not measurable (dx, dy NaN but for an axis-aligned edge; --extra-columns gives "
        "across / along). Exit 0 all done, 1 some files failed (listed; the others are "
        "written), 2 every input bad (nothing written).")
    p.add_argument("files", nargs="+", metavar="FILE", help="multi-band scenes (FITS or netCDF)")
    p.add_argument("--parameters", default=None, metavar="PARAMS.ecsv",
                   help="stray-light parameter set (etalon.straylight.params format): its CT2 "
                   "displacements are searched within --search-radius; pairs not in it (or no "
                   "file: every pair) are searched over the whole frame")
    p.add_argument("--search-radius", type=float, default=20.0, metavar="PX",
                   help="search window radius around a prior displacement, pixels (default 20)")
    p.add_argument("--alpha", type=float, default=1e-3,
                   help="false-positive probability per pair of the significance test "
                   "(default 1e-3)")
    p.add_argument("--r-factor", type=float, default=1.1,
                   help="own disk masked and CT1 measured beyond this many disk radii (default 1.1)")
    p.add_argument("--workers", type=int, default=1,
                   help="victim bands of one file fitted in parallel threads (default 1)")
    p.add_argument("--destripe", action="store_true",
                   help="remove a per-column offset first (pushbroom dark/equalisation residuals; "
                   "CT1 fractions then exclude the halo beyond 1.5 disk radii)")
    p.add_argument("--scene", choices=("auto", "moon", "edge"), default="auto",
                   help="scene type: moon (Moon in deep space), edge (bright edge, strip or "
                   "rectangle on black) or auto (edge when the bright region reaches the frame "
                   "border; default)")
    p.add_argument("--edge-distance", type=float, default=5.0, metavar="PX",
                   help="edge scenes: CT1 is the signal farther than this from the edge, and "
                   "only those pixels are fitted, pixels (default 5)")
    p.add_argument("--extra-columns", action="store_true",
                   help="add dx_unc, dy_unc, blur_px, blur_unc, snr, threshold, search, refined, "
                   "scene, across, across_unc, along, along_unc")
    add_common_options(p, output="file", output_required=True, scheduler=True)
    p.set_defaults(func=_crosstalk)


def _crosstalk(args: argparse.Namespace) -> int:
    from etalon.batch import batch_exit_code, map_files, report_failures
    from etalon.cliutil import UsageError, check_outputs
    from etalon.straylight.io import quantify_file, results_table, write_results_table

    check_outputs(args.files + ([args.parameters] if args.parameters else []), [args.output])
    if not (0 < args.alpha < 1):
        raise UsageError(f"--alpha must be in (0, 1), got {args.alpha}")
    if args.search_radius <= 0 or args.r_factor < 1 or args.workers < 1:
        raise UsageError("--search-radius must be > 0, --r-factor >= 1, --workers >= 1")
    if not args.edge_distance > 0:
        raise UsageError(f"--edge-distance must be > 0, got {args.edge_distance}")
    prior = None
    if args.parameters:
        from etalon.straylight.params import read_parameters

        prior = read_parameters(args.parameters).ct2
    else:
        log.warning("no --parameters: every CT2 pair is searched over the whole frame")
    func = functools.partial(quantify_file, prior=prior, scene=args.scene,
                             edge_distance_px=args.edge_distance,
                             search_radius_px=args.search_radius, alpha=args.alpha,
                             r_factor=args.r_factor, workers=args.workers, destripe=args.destripe)
    results = map_files(func, args.files, scheduler=args.scheduler,
                        progress=not args.no_progress, description="crosstalk")
    report_failures(results)
    ok = [r.value for r in results if r.ok]
    if ok:
        table = results_table(ok, extra=args.extra_columns)
        write_results_table(table, args.output, args.files,
                            {"parameters": args.parameters, "search_radius_px": args.search_radius,
                             "alpha": args.alpha, "r_factor": args.r_factor,
                             "destripe": args.destripe, "scene": args.scene,
                             "edge_distance_px": args.edge_distance})
        n_sig = int(sum(bool(s) for s, t in zip(table["significant"], table["type"], strict=True)
                        if t == "CT2"))
        print(f"{len(table)} row(s) from {len(ok)} file(s), {n_sig} significant CT2 pair(s) "
              f"-> {args.output}")
    return batch_exit_code(results)  # 0 all done, 2 every input bad, 1 some failed
