"""Batch reports: one report (HTML and PDF) per image, an index page, and an audit trail.

``tamper-workbench report IMAGE|FOLDER ... --detector ID ... --out DIR`` runs every detector on
every image and writes, in ``DIR``::

    index.html, index.json         a table of all images, their hashes and scores
    NNN-<name>/report.html(.sha256), report.pdf(.sha256)
    audit.jsonl                    hash-chained record of the batch and of every file's SHA-256

Images run in ``jobs`` worker processes (spawned, each with its share of the CPU threads).
The PDF is made by Qt's text engine (``app.headless_pdf``, imported only when a PDF is wanted,
on the ``offscreen`` platform when there is no display).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from forensics_core.atomic import write_text_atomic
from forensics_core.case.audit import AUDIT_FILE, AuditTrail, read_audit
from forensics_core.case.model import CaseInfo
from forensics_core.errors import ForensicsError
from forensics_core.evidence.formats import EXTENSION_FORMATS

OnDone = Callable[[int, int, dict[str, Any]], None]


def collect_images(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The image files named, and the image files directly inside the folders named (sorted)."""
    images: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            images.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXTENSION_FORMATS))
        elif path.is_file():
            images.append(path)
        else:
            raise ForensicsError(f"{path} is neither an image file nor a folder.")
    if not images:
        raise ForensicsError("No image files were found in what was given.")
    return images


def report_folder_name(index: int, image: Path) -> str:
    """``NNN-<name>``: a unique, safe folder name for one image's reports."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", image.stem).strip("._-")[:80] or "image"
    return f"{index:03d}-{stem}"


@dataclass(frozen=True)
class BatchSettings:
    """What every image gets: detectors, their parameters, device, case details, formats."""

    detectors: tuple[str, ...]
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    device: str = "auto"
    case: CaseInfo = field(default_factory=CaseInfo)
    pdf: bool = True
    threads: int = 0


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def report_one(index: int, image: str, out_dir: str, settings: BatchSettings) -> dict[str, Any]:
    """Analyse one image with every detector and write its reports; a summary, never an exception.

    An image that cannot be analysed gets ``error`` (the message) in its summary.
    """
    from forensics_core.detectors import get_detector
    from forensics_core.evidence import load_evidence
    from forensics_core.report import (
        ReportItem,
        build_report_html,
        pdf_header,
        pdf_subject,
        pdf_title,
        write_report_file,
    )

    started = time.perf_counter()
    folder = report_folder_name(index, Path(image))
    summary: dict[str, Any] = {"index": index, "image": str(Path(image).resolve()), "folder": folder, "results": {},
                               "files": {}}
    try:
        evidence = load_evidence(image)
        summary.update(sha256=evidence.sha256, width=evidence.width, height=evidence.height, format=evidence.format)
        items = []
        for detector_id in settings.detectors:
            result = get_detector(detector_id).run(evidence, dict(settings.params.get(detector_id, {})),
                                                   device=settings.device)
            items.append(ReportItem(result, float(result.threshold)))
            summary["results"][detector_id] = {"score": float(result.score), "threshold": float(result.threshold),
                                               "flagged_percent": 100.0 * float(result.mask.mean())}
        case = settings.case
        text = build_report_html(evidence, items, [], case)
        target = Path(out_dir) / folder
        written = write_report_file(target / "report.html", text.encode("utf-8"), evidence)
        summary["files"]["report.html"] = written.sha256
        if settings.pdf:
            from app.headless_pdf import render_pdf

            pdf = render_pdf(text, pdf_title(evidence), case.examiner, pdf_subject(evidence), pdf_header(case, evidence))
            written = write_report_file(target / "report.pdf", pdf, evidence)
            summary["files"]["report.pdf"] = written.sha256
    except ForensicsError as exc:
        summary["error"] = str(exc)
    except ImportError as exc:
        summary["error"] = f"The PDF needs PySide6 ({exc}); install with 'pip install .[gui]' or use --no-pdf."
    summary["seconds"] = time.perf_counter() - started
    return summary


def _worker_setup(threads: int) -> None:
    """Each worker process uses its share of the CPU threads."""
    import cv2

    cv2.setNumThreads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def run_batch(images: Sequence[Path], out_dir: Path, settings: BatchSettings, jobs: int = 1,
              on_done: OnDone | None = None, command: str = "") -> list[dict[str, Any]]:
    """Write every image's reports, the index and the audit trail; returns the summaries in input order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    trail = AuditTrail(read_audit(out_dir))
    trail.append("batch started", {"command": command, "images": len(images), "detectors": list(settings.detectors),
                                   "jobs": jobs, "case_number": settings.case.case_number,
                                   "examiner": settings.case.examiner})
    summaries: list[dict[str, Any]] = []
    jobs = max(1, int(jobs))
    threads = settings.threads or max(1, (os.cpu_count() or 1) // jobs)

    def finished(summary: dict[str, Any]) -> None:
        summaries.append(summary)
        for name, digest in summary["files"].items():
            trail.append("report written", {"file": f"{summary['folder']}/{name}", "sha256": digest,
                                            "evidence_sha256": summary.get("sha256", "")})
        if "error" in summary:
            trail.append("image failed", {"image": summary["image"], "error": summary["error"][:500]})
        if on_done is not None:
            on_done(len(summaries), len(images), summary)

    if jobs == 1:
        _worker_setup(threads)
        for index, image in enumerate(images, start=1):
            finished(report_one(index, str(image), str(out_dir), settings))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_worker_setup,
                                 initargs=(threads,)) as pool:
            futures = [pool.submit(report_one, index, str(image), str(out_dir), settings)
                       for index, image in enumerate(images, start=1)]
            for future in as_completed(futures):
                finished(future.result())
    summaries.sort(key=lambda s: s["index"])
    index_html = index_page(summaries, settings)
    write_text_atomic(out_dir / "index.html", index_html)
    index_json = json.dumps({"case": vars(settings.case), "detectors": list(settings.detectors), "images": summaries},
                            indent=1, allow_nan=False) + "\n"
    write_text_atomic(out_dir / "index.json", index_json)
    trail.append("index written", {"file": "index.html", "sha256": _sha256(index_html.encode("utf-8"))})
    trail.append("index written", {"file": "index.json", "sha256": _sha256(index_json.encode("utf-8"))})
    write_text_atomic(out_dir / AUDIT_FILE, trail.text())
    return summaries


def index_page(summaries: Sequence[Mapping[str, Any]], settings: BatchSettings) -> str:
    """The index: one row per image with its SHA-256, scores per detector and links to its reports."""
    e = html.escape
    head = "".join(f"<th>{e(d)}<br>score</th><th>{e(d)}<br>flagged</th>" for d in settings.detectors)
    rows = []
    for s in summaries:
        links = " ".join(f"<a href='{e(s['folder'])}/{name}'>{name.split('.')[-1].upper()}</a>"
                         for name in ("report.html", "report.pdf") if name in s["files"])
        digest = s.get("sha256", "")
        cells = "".join(
            f"<td align='right'>{s['results'][d]['score']:.4f}</td>"
            f"<td align='right'>{s['results'][d]['flagged_percent']:.1f}%</td>" if d in s["results"]
            else "<td></td><td></td>" for d in settings.detectors)
        status = f"<font color='#b00000'>{e(s['error'])}</font>" if "error" in s else "ok"
        rows.append(f"<tr><td align='right'>{s['index']}</td><td>{e(Path(s['image']).name)}<br>"
                    f"<small>{e(s['image'])}</small></td><td><tt>{e(digest[:32])}<br>{e(digest[32:])}</tt></td>"
                    f"{cells}<td>{links}</td><td>{status}</td></tr>")
    case = settings.case
    failed = sum("error" in s for s in summaries)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tamper Workbench batch report index</title>
<style>body {{ font-family: sans-serif; font-size: 10pt; }} th {{ background: #eeeeee; }}
td, th {{ vertical-align: top; }} tt {{ font-family: monospace; }}</style></head><body>
<h1>Batch report index</h1>
<p>Case number: {e(case.case_number or '(none)')}; examiner: {e(case.examiner or '(none)')}; organisation:
{e(case.organisation or '(none)')}. {len(summaries)} images, {failed} failed; detectors: {e(', '.join(settings.detectors))}.
Scores are each detector's image-level score; "flagged" is the share of pixels at or above its default threshold.
Every report's SHA-256 is in the file beside it (<tt>.sha256</tt>) and in <tt>audit.jsonl</tt>
(<tt>tamper-workbench case verify</tt> this folder).</p>
<table border='1' cellspacing='0' cellpadding='3'><tr><th>#</th><th>Image</th><th>SHA-256</th>{head}
<th>Reports</th><th>Status</th></tr>
{''.join(rows)}</table></body></html>
"""
