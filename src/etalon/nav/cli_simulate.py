"""``etalon nav simulate``: simulated raw NAV telemetry files (thin layer over etalon.nav.simulate)."""

from __future__ import annotations

import argparse
import logging

from etalon.cliutil import add_common_options

__all__ = ["register", "run"]

log = logging.getLogger(__name__)

DESCRIPTION = """\
Write simulated raw Deep Impact NAV telemetry files (etalon.nav.simulate): a synthetic
encounter scene (nucleus, coma, stars, noise, per-quadrant bias) cut into snips and
encoded as packets following docs/nav-format.md, optionally damaged the way telemetry
gets damaged. The files are what `etalon nav decode` reads: a first raw NAV file
without mission data. With --output-dir the files get mission-style names
(NAV_<letter><kind>_<exposure>.bin_<received time>.000).
"""

EPILOG = """\
examples:
  etalon nav simulate --output-dir raw/                  # one NAVMRI AutoNav file
  etalon nav simulate --output-dir raw/ -n 6 --damage lost --damage none
  etalon nav simulate -o first.nav --instrument NAVHRI --layout full
  etalon nav decode raw/NAV_* --output-dir fits/
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate`` to the ``etalon nav`` commands."""
    from etalon.nav.simulate import DAMAGE_MODES, LAYOUTS

    p = subparsers.add_parser(
        "simulate", help="write simulated raw NAV telemetry files (known truth)",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--n-files", type=int, default=1, metavar="N",
                   help="number of files (with --output-dir; default: %(default)s)")
    p.add_argument("--instrument", action="append", default=None, metavar="NAME",
                   choices=("NAVMRI", "NAVHRI", "NAVITS"),
                   help="NAVMRI (default), NAVHRI or NAVITS; repeat to cycle over several")
    p.add_argument("--layout", action="append", default=None, choices=LAYOUTS,
                   help="snip layout: autonav (default: a nucleus snip and star snips), overlap "
                   "(plus overlapping snips), full (the whole 1008 x 1008 frame); repeat to cycle")
    p.add_argument("--damage", action="append", default=None, choices=tuple(DAMAGE_MODES),
                   help="telemetry damage: none (default), lost, shuffled, truncated, garbage, "
                   "all; repeat to cycle")
    p.add_argument("--seed", type=int, default=0, help="seed of everything random (default: 0)")
    p.add_argument("--start", default="2005-07-04T05:00:00", metavar="UTC",
                   help="observation time of the first file, ISO UTC (default: %(default)s)")
    p.add_argument("--cadence", type=float, default=60.0, metavar="S",
                   help="seconds between files (default: %(default)s)")
    add_common_options(p, output="both", output_required=True, progress=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate and write the files; print one line per file; return the exit code."""
    from pathlib import Path

    from astropy.time import Time

    from etalon.cliutil import UsageError, check_outputs
    from etalon.fileio import atomic_output
    from etalon.nav.simulate import simulate_sequence

    if args.n_files < 1:
        raise UsageError(f"-n/--n-files {args.n_files}: must be at least 1")
    if args.output and args.n_files > 1:
        raise UsageError(f"-o/--output {args.output} takes one file (-n {args.n_files} given); "
                         "use --output-dir for several")
    if not args.cadence == args.cadence or args.cadence < 0 or args.cadence > 1e9:
        raise UsageError(f"--cadence {args.cadence}: expected seconds, 0 to 1e9")
    try:
        start = Time(args.start, scale="utc")
        start.tdb  # noqa: B018 - a time the ephemeris cannot convert fails here, not later
    except Exception as exc:
        raise UsageError(f"--start {args.start!r}: not a UTC time ({exc})") from exc
    defaults = [name for name, value in (("--instrument NAVMRI", args.instrument),
                                         ("--layout autonav", args.layout),
                                         ("--damage none", args.damage)) if value is None]
    if defaults:
        log.info("defaults: %s", ", ".join(defaults))
    sims = simulate_sequence(
        args.n_files, seed=args.seed, instruments=tuple(args.instrument or ("NAVMRI",)),
        layouts=tuple(args.layout or ("autonav",)), damages=tuple(args.damage or ("none",)),
        start=start, cadence_s=args.cadence)
    outputs = [args.output] if args.output else [str(Path(args.output_dir) / s.name) for s in sims]
    check_outputs([], outputs)
    for sim, out in zip(sims, outputs, strict=True):
        if Path(out).exists():
            log.warning("%s exists: replaced", out)
        with atomic_output(out) as tmp:
            tmp.write_bytes(sim.raw)
        t = sim.truth
        print(f"wrote {out} ({t.header.instrument}: {len(sim.raw)} bytes, {len(t.snips)} snips, "
              f"{t.packets_delivered} of {len(t.packets)} packets delivered, "
              f"{t.bytes_skipped} bytes of damage)")
    return 0
