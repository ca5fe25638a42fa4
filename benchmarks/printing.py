# ruff: noqa: S603, S607 - runs this interpreter and poppler's pdfinfo, with fixed arguments
"""Batch printing benchmark: every agreement of the demo program into one streamed PDF.

    python benchmarks/printing.py                 # scale 1: the program's 1,033 agreements
    python benchmarks/printing.py --scale 10      # 10,330 agreements: memory must not grow
    python benchmarks/printing.py --jobs 1        # one process (what a web request does)
    python benchmarks/printing.py --json          # ends with one JSON line of figures

The demo database is generated once per scale in a separate process (``--instance`` keeps it
between runs); the batch then runs in a fresh process whose peak memory is measured, with the
worker processes that render parts. The output PDF is checked for its page count.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _env(instance: Path) -> dict[str, str]:
    return os.environ | {"FIELDAPP_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT)}


def prepare(instance: Path, scale: float) -> None:
    """Generate the demo program at ``scale`` into ``instance`` unless it is there already."""
    marker = instance / f"demo-scale-{scale:g}"
    if marker.exists():
        return
    instance.mkdir(parents=True, exist_ok=True)
    for name in ("fieldapp.sqlite", "fieldapp.sqlite-wal", "fieldapp.sqlite-shm"):
        (instance / name).unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fieldapp", "demo", "--scale", f"{scale:g}"],
                   cwd=ROOT, env=_env(instance), check=True, stdout=subprocess.DEVNULL)
    print(f"demo program at scale {scale:g} generated in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    marker.touch()


def child(instance: Path, jobs: int, limit: int | None, out: Path, lang: str) -> dict:
    """Run one batch in this (fresh) process and measure it."""
    from fieldapp import create_app
    from fieldapp.extensions import db
    from fieldapp.printing.batch import iter_batch_pdf
    from fieldapp.printing.labels import agreement_labels
    from fieldapp.printing.queries import STATUS_CHOICES, agreements_query

    app = create_app({"INSTANCE_PATH": str(instance)})
    with app.app_context():
        baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        cpu_started = time.process_time()
        ids = list(db.session.execute(
            agreements_query(statuses=STATUS_CHOICES["all"], year=2026)).scalars())[:limit]
        stats: dict[str, int] = {}
        size = 0
        with out.open("wb") as fh:
            for part in iter_batch_pdf(ids, agreement_labels(lang), jobs=jobs, stats=stats):
                fh.write(part)
                size += len(part)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_mb = children.ru_maxrss / 1024
    worker_cpu = children.ru_utime + children.ru_stime
    workers = jobs if jobs > 1 else 0
    return {
        "agreements": stats["agreements"],
        "pages": stats["pages"],
        "batch_s": round(seconds, 2),
        "ms_per_agreement": round(1000 * seconds / max(1, stats["agreements"]), 2),
        "main_cpu_s": round(cpu, 2),
        # CPU seconds of the whole batch: on a busy machine wall time says more about the
        # other processes than about printing.
        "cpu_ms_per_agreement": round(1000 * (cpu + worker_cpu) / max(1, stats["agreements"]),
                                      2),
        "jobs": jobs,
        # Upper bound of the memory in use at once: this process plus each worker at its peak.
        "peak_rss_mb": round(main_mb + workers * worker_mb, 1),
        "main_peak_rss_mb": round(main_mb, 1),
        "main_baseline_rss_mb": round(baseline_mb, 1),
        "worker_peak_rss_mb": round(worker_mb, 1) if workers else 0,
        "pdf_mb": round(size / 1e6, 2),
    }


def pdf_pages(path: Path) -> int | None:
    """The page count as poppler reads it (None when pdfinfo is missing)."""
    try:
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in info.stdout.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (0: auto)")
    parser.add_argument("--limit", type=int, help="print only the first N agreements")
    parser.add_argument("--lang", choices=["es", "en"], default="es")
    parser.add_argument("--instance", type=Path, help="demo database folder to (re)use")
    parser.add_argument("--out", type=Path, help="where to write the PDF (default: temporary)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(child(args.instance, args.jobs, args.limit, args.out, args.lang)))
        return 0

    from fieldapp.printing.batch import auto_jobs

    jobs = args.jobs or auto_jobs()
    instance = args.instance or Path(tempfile.gettempdir()) / f"fieldapp-bench-print-{args.scale:g}"
    prepare(instance, args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "batch.pdf"
        command = [sys.executable, __file__, "--child", "--instance", str(instance),
                   "--jobs", str(jobs), "--out", str(out), "--lang", args.lang]
        if args.limit:
            command += ["--limit", str(args.limit)]
        result = subprocess.run(command, cwd=ROOT, env=_env(instance), capture_output=True,
                                text=True, check=False)
        if result.returncode:
            sys.stderr.write(result.stderr)
            return result.returncode
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        pages = pdf_pages(out)
    if pages is not None and pages != figures["pages"]:
        print(f"page count mismatch: pdfinfo {pages}, writer {figures['pages']}", file=sys.stderr)
        return 1
    print(f"scale {args.scale:g}: {figures['agreements']} agreements, {figures['pages']} pages, "
          f"{figures['pdf_mb']} MB in {figures['batch_s']} s "
          f"({figures['ms_per_agreement']} ms per agreement, {jobs} job(s); "
          f"CPU {figures['cpu_ms_per_agreement']} ms per agreement); "
          f"peak memory {figures['peak_rss_mb']} MB (main {figures['main_peak_rss_mb']} MB, "
          f"after start-up {figures['main_baseline_rss_mb']} MB; "
          f"each worker {figures['worker_peak_rss_mb']} MB)")
    if args.json:
        print(json.dumps({"scale": args.scale} | figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
