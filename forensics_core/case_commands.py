"""The ``case`` and ``report`` sub-commands of ``tamper-workbench``.

``case verify CASE`` re-checks a case folder (audit chain, evidence, map and report hashes);
``report IMAGE|FOLDER ... --detector ID ... --out DIR`` writes batch reports and an index
(:mod:`forensics_core.batch_report`). Heavy modules are imported inside the commands, so that
registering them costs nothing at start-up.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from forensics_core.errors import ForensicsError

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def cmd_case_verify(args: argparse.Namespace) -> int:
    """Print what holds and what does not; exit 0 only when everything matches."""
    from forensics_core.case import verify_case

    outcome = verify_case(Path(args.case))
    for line in outcome.passed:
        print(f"ok       {line}")
    for line in outcome.problems:
        print(f"PROBLEM  {line}")
    print("case verified: everything matches its records" if outcome.ok
          else f"CASE NOT VERIFIED: {len(outcome.problems)} problem(s)")
    return EXIT_OK if outcome.ok else EXIT_BAD_INPUT


def _batch_params(pairs: list[str], detectors: list[str]) -> dict[str, dict[str, Any]]:
    """``ID:NAME=VALUE`` for one detector, or ``NAME=VALUE`` when a single detector runs."""
    params: dict[str, dict[str, Any]] = {d: {} for d in detectors}
    for pair in pairs:
        target, colon, rest = pair.partition(":")
        if not colon:
            if len(detectors) != 1:
                raise ForensicsError(f"--param {pair!r}: with several detectors write ID:NAME=VALUE.")
            target, rest = detectors[0], pair
        name, sep, value = rest.partition("=")
        if target not in params or not sep or not name:
            raise ForensicsError(f"--param expects [ID:]NAME=VALUE for a detector given with --detector, got {pair!r}.")
        params[target][name.strip()] = value.strip()
    return params


def cmd_report(args: argparse.Namespace) -> int:
    """Batch: one report (HTML + PDF) per image, an index page and an audit trail in --out."""
    from tqdm import tqdm

    from forensics_core.batch_report import BatchSettings, collect_images, run_batch
    from forensics_core.case.model import CaseInfo
    from forensics_core.detectors import get_detector

    detectors = list(dict.fromkeys(args.detector))
    for detector_id in detectors:
        get_detector(detector_id)  # an unknown id fails before any work
    images = collect_images(args.inputs)
    out_dir = Path(args.out)
    resolved = out_dir.resolve()
    if any(resolved == image.resolve().parent for image in images):
        raise ForensicsError(f"Refusing to write reports into {resolved}: it holds evidence files. Choose another --out.")
    settings = BatchSettings(tuple(detectors), _batch_params(args.param, detectors), args.device,
                             CaseInfo(args.case_number, args.examiner, "", args.organisation), pdf=not args.no_pdf)
    interactive = sys.stderr.isatty() and not args.quiet
    bar = tqdm(total=len(images), disable=not interactive, file=sys.stderr, dynamic_ncols=True, unit="image",
               desc="reports")

    def on_done(done: int, total: int, summary: dict[str, Any]) -> None:
        status = "FAILED: " + summary["error"] if "error" in summary else f"{summary['seconds']:.1f} s"
        if interactive:
            bar.set_postfix_str(Path(summary["image"]).name)
            bar.update(1)
            if "error" in summary:
                bar.write(f"{Path(summary['image']).name}: {status}")
        elif not args.quiet:
            print(f"[{done}/{total}] {Path(summary['image']).name}: {status}", file=sys.stderr, flush=True)

    command = "tamper-workbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        summaries = run_batch(images, out_dir, settings, args.jobs, on_done, command)
    finally:
        bar.close()
    failed = [s for s in summaries if "error" in s]
    print(f"{len(summaries) - len(failed)} of {len(summaries)} images reported; index: {out_dir / 'index.html'}")
    for summary in failed:
        print(f"error: {summary['image']}: {summary['error']}", file=sys.stderr)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def register_case_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``case`` and ``report`` to the ``tamper-workbench`` parser."""
    p = sub.add_parser("case", help="work with case folders")
    case_sub = p.add_subparsers(dest="case_command", required=True)
    q = case_sub.add_parser("verify", help="check a case folder's audit chain and every recorded hash")
    q.add_argument("case", help="the case folder (or its case.json), or a batch report folder")
    q.set_defaults(func=cmd_case_verify)

    p = sub.add_parser("report", help="batch: one report per image (HTML + PDF) and an index page")
    p.add_argument("inputs", nargs="+", metavar="IMAGE|FOLDER", help="image files, or folders of images")
    p.add_argument("--detector", action="append", required=True, help="detector id (repeat for several)")
    p.add_argument("--out", required=True, help="output folder (reports, index.html, audit.jsonl)")
    p.add_argument("--case-number", default="")
    p.add_argument("--examiner", default="")
    p.add_argument("--organisation", default="")
    p.add_argument("--param", action="append", default=[], metavar="[ID:]NAME=VALUE")
    p.add_argument("--device", default="auto")
    p.add_argument("--jobs", type=int, default=1, help="images analysed at the same time (worker processes)")
    p.add_argument("--no-pdf", action="store_true", help="HTML only (no Qt needed)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_report)
