"""The ``tamper-workbench`` command line (also ``python -m forensics_core``).

Sub-commands: ``detectors``, ``analyze``, ``evaluate``, ``train``, ``calibrate``, ``gallery``,
``weights``, ``tables``, ``gui``, ``case`` and ``report``. Exit codes: 0 success, 2 bad input (the
message says why), 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

from forensics_core.errors import Cancelled, ForensicsError

EXIT_OK, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 2, 130


def _parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ForensicsError(f"--param expects NAME=VALUE, got {pair!r}.")
        params[name.strip()] = value.strip()
    return params


def _terminal_progress(enabled: bool):
    """A ``progress(fraction, message)`` callback drawing a tqdm bar on stderr, and its closer."""
    from tqdm import tqdm

    bar = tqdm(total=1000, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {elapsed}<{remaining}")

    def progress(fraction: float, message: str) -> None:
        bar.n = int(fraction * 1000)
        bar.set_description(message[:40])
        bar.refresh()

    return progress, bar.close


def _item_progress(label: str, enabled: bool):
    """An ``on_item(index, total, name)`` callback and its closer, reporting on stderr.

    On a terminal a tqdm bar redraws in place; when stderr is redirected (a log file, a pipe)
    each item is written once, as one plain line, since a redrawn bar would repeat itself there.
    """
    if not enabled:
        return (lambda index, total, name: None), (lambda: None)
    if not sys.stderr.isatty():
        def write_line(index: int, total: int, name: str) -> None:
            print(f"{label}: {index}/{total} {name}", file=sys.stderr, flush=True)

        return write_line, (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=None, file=sys.stderr, dynamic_ncols=True, desc=label)

    def redraw(index: int, total: int, name: str) -> None:
        bar.total = total
        bar.n = index
        bar.set_postfix_str(name, refresh=False)
        bar.refresh()

    return redraw, bar.close


def cmd_detectors(args: argparse.Namespace) -> int:
    """List the registered detectors and whether each is trained."""
    from forensics_core.detectors import DEFAULT_DETECTOR, list_detectors

    detectors = list_detectors()
    if args.json:
        print(json.dumps([d.describe() for d in detectors], indent=2))
        return EXIT_OK
    for detector in detectors:
        default = " (default)" if detector.id == DEFAULT_DETECTOR else ""
        print(f"{detector.id:18s} {detector.display_name}{default}")
        print(f"{'':18s} {detector.training_status()}; {detector.reference}")
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    """Run one detector on one image and write heatmap.npy, mask.png, overlay.png, result.json."""
    from forensics_core.calibration.verdict import verdict
    from forensics_core.detectors import get_detector
    from forensics_core.evidence import load_evidence
    from forensics_core.memory import parse_memory_size
    from forensics_core.outputs import default_output_dir, prepare_output_dir, write_result

    max_memory = parse_memory_size(args.max_memory) if args.max_memory else None
    evidence = load_evidence(args.image, max_pixels=args.max_pixels)
    for note in evidence.notes:
        print(f"note: {note}", file=sys.stderr)
    detector = get_detector(args.detector)
    out_dir = prepare_output_dir(Path(args.out) if args.out else default_output_dir(evidence, detector.id), evidence)
    progress, close = _terminal_progress(not args.quiet and sys.stderr.isatty())
    try:
        result = detector.run(evidence, _parse_params(args.param), progress=progress, device=args.device,
                              max_memory=max_memory)
    finally:
        close()
    paths = write_result(out_dir, evidence, result)
    print(f"{evidence.path.name}  sha256 {evidence.sha256}")
    print(f"{detector.id}: score {result.score:.4f}, threshold {result.threshold:.4f}, "
          f"{100 * result.mask.mean():.2f}% of pixels flagged, {result.timings['analysis']:.2f} s on {result.device}")
    if result.extra.get("note"):
        print(f"note: {result.extra['note']}")
    print(verdict(result).text)
    print(f"results written to {paths['result'].parent}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score a detector on a benchmark folder (images/, masks/, optional authentic/)."""
    from forensics_core.atomic import write_json_atomic
    from forensics_core.detectors import get_detector
    from forensics_core.evaluation import evaluate_folder

    detector = get_detector(args.detector)
    on_item, close = _item_progress("evaluate", enabled=not args.quiet)
    try:
        summary = evaluate_folder(Path(args.folder), detector, _parse_params(args.param), args.device,
                                  on_item, args.limit)
    finally:
        close()
    line = (f"{detector.id} on {args.folder}: {summary['images']} forged images, "
            f"pixel AUC {summary['pixel_auc']:.4f}, F1 {summary['pixel_f1']:.4f}, "
            f"MCC {summary['pixel_mcc']:.4f}, best F1 {summary['pixel_best_f1']:.4f}")
    if "image_auc" in summary:
        line += f", image AUC {summary['image_auc']:.4f} ({summary['authentic']} authentic)"
    print(line + f", {summary['seconds_per_megapixel']:.2f} s/MP on {summary['device']}")
    if args.json:
        write_json_atomic(args.json, summary)
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    """Train a detector with the shared harness and record its weights in the manifest."""
    from forensics_core.device import resolve_device
    from forensics_core.training import get_recipe, load_config
    from forensics_core.training.harness import train
    from forensics_core.weights import weights_dir

    recipe = get_recipe(args.detector)
    device = resolve_device(args.device)
    profile = args.profile or ("gpu" if device.type == "cuda" and "gpu" in recipe.profiles else "cpu")
    if profile not in recipe.profiles:
        raise ForensicsError(f"Recipe '{recipe.id}' has no profile '{profile}'; it has {', '.join(recipe.profiles)}.")
    config = recipe.profiles[profile]
    if args.config:
        config = load_config(Path(args.config), config)
    config = config.updated(steps=args.steps, seed=args.seed, num_workers=args.workers)
    out_dir = Path(args.out) if args.out else Path("runs") / recipe.id
    weights_folder = Path(args.weights_dir) if args.weights_dir else weights_dir()
    command = "tamper-workbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    outcome = train(recipe, config, device, out_dir, weights_folder, resume=not args.no_resume,
                    show_progress=not args.quiet, command=command,
                    time_limit_s=args.time_limit * 60 if args.time_limit else None)
    print(f"trained {recipe.id} for {outcome.steps} steps in {outcome.wall_time_s:.0f} s on {device}; "
          f"validation AUC {outcome.final_validation['auc']:.4f}")
    for key, entry in outcome.weights.items():
        print(f"  {key}: {weights_folder / entry['file']} sha256 {entry['sha256'][:16]}...")
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Compute a detector's calibration on authentic reference pictures and record it in the manifest."""
    from forensics_core.calibration.calibrate import calibrate

    options = [("--reference", args.reference), ("--out", args.out), ("--store", args.store)]
    command = shlex.join(["tamper-workbench", "calibrate", args.detector,
                          *(part for name, value in options if value for part in (name, value))])
    on_item, close = _item_progress("calibrate", enabled=not args.quiet)
    try:
        done = calibrate(args.detector, Path(args.reference) if args.reference else None,
                         Path(args.out) if args.out else None, Path(args.store), on_item, command=command)
    finally:
        close()
    calibration = done.calibration
    print(f"calibrated {calibration.detector_id} on {calibration.describe_reference()}: default threshold "
          f"{calibration.default_threshold:.4f} (exceeded by {100 * calibration.threshold_pixel_rate:g}% of "
          f"authentic pixels); written to {done.path} (sha256 {done.entry['sha256'][:16]}...)")
    return EXIT_OK


def cmd_gallery(args: argparse.Namespace) -> int:
    """Write a browsable gallery of synthetic forgeries."""
    from forensics_core.synth.gallery import write_gallery

    index = write_gallery(Path(args.out), n_per_kind=args.n_per_kind, seed=args.seed)
    print(f"gallery written: {index}")
    return EXIT_OK


def cmd_weights(args: argparse.Namespace) -> int:
    """List the weights in the manifest and check every file's SHA-256."""
    from forensics_core.weights import load_weights, read_manifest

    models = read_manifest()["models"]
    failures = 0
    for key, entry in models.items():
        try:
            load_weights(key)
            status = "ok"
        except ForensicsError as exc:
            status, failures = f"FAILED: {exc}", failures + 1
        entry = entry if isinstance(entry, dict) else {}  # a malformed entry: load_weights said why
        validation = entry.get("validation") if isinstance(entry.get("validation"), dict) else {}
        training = entry.get("training") if isinstance(entry.get("training"), dict) else {}
        auc = validation.get("auc")
        auc_text = f"val AUC {auc:.3f}" if isinstance(auc, (int, float)) else ""
        print(f"{key:40s} {str(training.get('steps', '?')):>7} steps  {auc_text:14s} {status}")
    if not models:
        print("no weights in the manifest")
    return EXIT_BAD_INPUT if failures else EXIT_OK


def cmd_weights_import_mantranet(args: argparse.Namespace) -> int:
    """Convert the authors' Keras ManTra-Net weights into the user's weights folder."""
    from forensics_core.models.mantranet_keras_import import import_mantranet
    from forensics_core.weights import user_weights_dir

    report = import_mantranet(Path(args.file))
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"imported {report.path.name} as {report.key}: {user_weights_dir() / report.entry['file']} "
          f"sha256 {report.entry['sha256'][:16]}... (git blob {report.blob_id})")
    print(f"note: {report.entry['training']['licence']}")
    return EXIT_OK


def cmd_tables(args: argparse.Namespace) -> int:
    """Print a JPEG's quantisation tables, the family they belong to, and their comparison with references."""
    from forensics_core.evidence.jpeg import editing_software_warnings, format_quant_tables, table_family
    from forensics_core.evidence.jpeg_tables import compare_tables, load_jpeg

    evidence = load_jpeg(args.image, args.max_pixels)
    references = [load_jpeg(path, args.max_pixels) for path in args.reference]
    quality = f"{evidence.jpeg.quality:.0f}" if evidence.jpeg.quality is not None else "not IJG-like"
    print(f"{evidence.path.name}  sha256 {evidence.sha256}")
    print(f"IJG quality estimate: {quality}; subsampling {evidence.jpeg.subsampling or 'unknown'}")
    print(f"tables: {table_family(evidence.jpeg)}")
    for warning in editing_software_warnings(evidence.metadata):
        print(warning)
    for reference in references:
        comparison = compare_tables(evidence.jpeg.quant_tables, reference.jpeg.quant_tables)
        print(f"against {reference.path.name} (sha256 {reference.sha256}): {comparison.sentence()}")
    print(format_quant_tables(evidence.jpeg))
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the Qt workbench (optionally on IMAGE)."""
    try:
        from app.main import run_gui
    except ImportError as exc:
        raise ForensicsError(f"The GUI needs PySide6 and pyqtgraph ({exc}); install with 'pip install .[gui]'.") from None
    image = args.image
    if args.sample or (args.self_test and not image):
        from forensics_core.shipped import sample_image

        image = str(sample_image())
    return run_gui(image, args.detector, self_test=args.self_test)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tamper-workbench``."""
    from forensics_core import __version__
    from forensics_core.device import DEVICE_CHOICES
    from forensics_core.evidence import DEFAULT_MAX_PIXELS

    parser = argparse.ArgumentParser(
        prog="tamper-workbench",
        description="Tamper Workbench: find and outline manipulated regions in a photograph.",
        epilog="Exit codes: 0 success, 2 bad input (the message says why), 130 cancelled. "
               "'tamper-workbench COMMAND --help' describes one command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("detectors", help="list detectors and whether each is trained")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_detectors)

    p = sub.add_parser("analyze", help="analyse one image")
    p.add_argument("image")
    p.add_argument("--detector", default=None, help="detector id (default: the workbench default)")
    p.add_argument("--out", help="output folder (default ./tamper-results/<sha>-<detector>)")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    p.add_argument("--max-memory", metavar="SIZE",
                   help="memory budget of the run, e.g. 16G (default: 60%% of this computer's memory)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("evaluate", help="score a detector on a benchmark folder")
    p.add_argument("folder")
    p.add_argument("--detector", default=None)
    p.add_argument("--json", help="write per-image and mean figures to this JSON file")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--limit", type=int, help="use at most N forged and N authentic images")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train a detector on synthetic forgeries")
    p.add_argument("detector")
    p.add_argument("--config", help="JSON file overriding the profile's settings")
    p.add_argument("--profile", help="named schedule, e.g. cpu or gpu (default: by device)")
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--workers", type=int)
    p.add_argument("--out", help="run folder for checkpoints and logs (default runs/DETECTOR)")
    p.add_argument("--weights-dir", help="where weights and manifest go (default: the shipped weights/)")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--time-limit", type=float, metavar="MINUTES",
                   help="stop after this long, checkpoint, validate and export what was learned")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("calibrate", help="calibrate a detector's score on authentic reference pictures")
    p.add_argument("detector")
    p.add_argument("--reference", help="reference set folder (default runs/reference-authentic, written when absent)")
    p.add_argument("--out", help="weights folder that receives calibration/DETECTOR.json and the manifest entry "
                                 "(default: the shipped weights/)")
    p.add_argument("--store", default="runs/result-store", help="folder of stored results reused between runs")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("gallery", help="write a gallery of synthetic forgeries")
    p.add_argument("out")
    p.add_argument("--n-per-kind", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_gallery)

    p = sub.add_parser("weights", help="list shipped weights and verify their hashes (default), or import")
    p.set_defaults(func=cmd_weights)
    weights_sub = p.add_subparsers(dest="weights_command")
    q = weights_sub.add_parser("list", help="list shipped weights and verify their hashes")
    q.set_defaults(func=cmd_weights)
    q = weights_sub.add_parser("import-mantranet", help="convert the authors' ManTraNet_Ptrain4.h5 (Keras)")
    q.add_argument("file")
    q.set_defaults(func=cmd_weights_import_mantranet)

    p = sub.add_parser("tables", help="a JPEG's quantisation tables: family, editing software, reference files")
    p.add_argument("image")
    p.add_argument("--reference", action="append", default=[], metavar="JPEG",
                   help="compare with this trusted file, e.g. an original from the claimed camera (repeatable)")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser("gui", help="open the workbench")
    p.add_argument("image", nargs="?")
    p.add_argument("--detector", default=None)
    p.add_argument("--sample", action="store_true", help="open the bundled sample image")
    p.add_argument("--self-test", action="store_true",
                   help="open the window and IMAGE (default: the sample), then quit; checks an installation")
    p.set_defaults(func=cmd_gui)

    from forensics_core.case_commands import register_case_commands

    register_case_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "detector", "") is None:
        from forensics_core.detectors import DEFAULT_DETECTOR

        args.detector = DEFAULT_DETECTOR
    try:
        return args.func(args)
    except Cancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except ForensicsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
