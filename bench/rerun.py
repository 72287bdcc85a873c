"""Re-running a chapter at a new rho, end to end, on this machine: what a researcher does with the book.

For each worker count asked, in a fresh results folder holding copies of the scale's committed records (so only the
new radius's runs are missing, as on a fresh clone), it prints saddle.costs' estimate for those runs, then times
`papermill <chapter> -p scale <scale> -p rho <rho> -p workers <n>`, and writes one record to results/bench/ with
the estimate and the measured wall time side by side (and each run's estimated and recorded minutes). A benchmark, not a test: it trains for real (chapter 4 at
the cpu scale and a new rho is 12 runs). Target on a quiet 2-core machine: chapter 4 within 45 minutes on 2
workers, the estimate within 25% of the measured time.

Usage: python bench/rerun.py [--chapter 04_cifar_lt] [--scale cpu] [--rho 0.3] [--workers 1,2] [--precision bf16]
       [--estimate-only] [--keep]     (--keep: copy the runs it trained into this checkout's results, so a later
       re-run finds them, e.g. bf16 baselines)"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from saddle import costs, grid, runner
from saddle_book.notebook import chapter_settings
from saddle.results import ROOT, find_record, results_dir

from record import write_bench_record  # bench/, beside this script

CHAPTER_RUNS = {  # the runs a chapter reads at a new rho, on its own seeds: those without a record train (in fp32
    # the baselines are committed; in bf16 they train too, since a comparison never mixes precisions)
    "04_cifar_lt": lambda scale, rho, precision: [
        c.with_precision(precision) for c in grid.table1(scale, chapter_settings(scale, seeds=None), rho=rho)],
    "06_ablations": lambda scale, rho, precision: grid.figure4(scale, chapter_settings(scale, seeds=None), rhos=(rho,)),
}
CHAPTER_PARAMETERS = {"04_cifar_lt": lambda rho, precision: ["-p", "rho", str(rho), "-p", "precision", precision],
                      "06_ablations": lambda rho, precision: ["-p", "rhos", f"[{rho}]", "-p", "train_missing", "True"]}


def rerun(chapter: str, scale: str, rho: float, workers: int, precision: str = "fp32",
          estimate_only: bool = False, keep: bool = False) -> dict:
    """Estimate, then time (unless estimate_only), one re-run of `chapter` at `rho` in `precision` with `workers`
    processes in a fresh results folder; `keep` copies the records it trained into this checkout's results."""
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        (results / scale).mkdir(parents=True)
        for record in (results_dir() / scale).glob("*.json"):
            shutil.copy2(record, results / scale / record.name)
        missing = [c for c in runner.unique(CHAPTER_RUNS[chapter](scale, rho, precision))
                   if not runner.has_record(c, results)]
        plan = costs.plan(missing, workers)
        print(f"{chapter} at rho {rho:g} in {precision}, {workers} worker(s): {len(missing)} runs to train, "
              f"{costs.plan_text(plan)}", flush=True)
        if estimate_only:
            return {"workers": workers, "precision": precision, "runs": len(missing),
                    "estimate_min": round(plan["wall"], 2), "minutes_per_run": [round(m, 2) for m in plan["minutes"]],
                    "one_thread_min": round(sum(plan["minutes"]), 1), "measured_min": None}
        env = dict(os.environ, SADDLE_RESULTS=str(results), SADDLE_CACHE=str(Path(tmp) / "cache"),
                   OMP_NUM_THREADS="1")
        command = [sys.executable, "-m", "papermill", str(ROOT / "book" / f"{chapter}.ipynb"),
                   str(Path(tmp) / "out.ipynb"), "-p", "scale", scale, *CHAPTER_PARAMETERS[chapter](rho, precision),
                   "-p", "workers", str(workers), "--cwd", str(ROOT)]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{chapter} failed:\n{done.stderr[-3000:]}")
        found = [find_record(c, results) for c in missing]
        trained = sum(r is not None for r in found)
        if trained < len(missing):  # e.g. a dirty tree, where runs refuse to record: nothing worth timing
            tail = "\n".join(done.stderr.splitlines()[-15:])
            raise SystemExit(f"{chapter} trained {trained} of its {len(missing)} missing runs:\n{tail}")
        measured = [r["provenance"]["wall_time_s"] / 60 for r in found]
        if keep:
            for record in (results / scale).glob("*.json"):
                target = results_dir() / scale / record.name
                if not target.exists():  # whole or not at all: a copy interrupted leaves only its .partial
                    shutil.copy2(record, target.with_suffix(".json.partial"))
                    os.replace(target.with_suffix(".json.partial"), target)
    return {"workers": workers, "precision": precision, "runs": len(missing), "trained": trained, "estimate_min": round(plan["wall"], 2),
            "minutes_per_run": [round(m, 2) for m in plan["minutes"]],
            "measured_minutes_per_run": [round(m, 2) for m in measured],
            "run_minutes_over_workers": round(sum(measured) / workers, 2),
            "measured_min": round(wall / 60, 2),
            "estimate_over_measured": round(plan["wall"] * 60 / wall, 3) if wall else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapter", default="04_cifar_lt", choices=sorted(CHAPTER_RUNS))
    parser.add_argument("--scale", default="cpu", choices=("smoke", "cpu"))
    parser.add_argument("--rho", type=float, default=0.3)
    parser.add_argument("--workers", default=f"1,{os.cpu_count()}", help="comma-separated worker counts")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                        help="the runs' precision (chapter 4's -p precision; chapter 6 trains fp32)")
    parser.add_argument("--estimate-only", action="store_true",
                        help="print and record the estimate for the missing runs, train nothing")
    parser.add_argument("--keep", action="store_true",
                        help="copy the records of the runs it trained into this checkout's results/<scale>")
    args = parser.parse_args()
    if args.precision != "fp32" and args.chapter != "04_cifar_lt":
        parser.exit(2, f"--precision {args.precision}: only chapter 04_cifar_lt takes a precision\n")
    try:
        counts = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.exit(2, f"--workers must be comma-separated whole numbers, got {args.workers!r}\n")
    if any(w < 1 for w in counts) or not 0 < args.rho < 10:
        parser.exit(2, f"--workers must be >= 1 and --rho in (0, 10), got {args.workers!r} and {args.rho}\n")
    rows = [rerun(args.chapter, args.scale, args.rho, w, args.precision, args.estimate_only, args.keep) for w in counts]
    for row in rows:
        measured = ("not trained (--estimate-only)" if row["measured_min"] is None else
                    f"measured {row['measured_min']:.1f} min (estimate / measured {row['estimate_over_measured']:.2f})")
        print(f"{row['workers']} worker(s), {row['precision']}: {row['runs']} runs, estimated "
              f"{row['estimate_min']:.1f} min, {measured}")
    kind = "estimate" if args.estimate_only else "rerun"
    path = write_bench_record(f"{kind}-{args.chapter}-{args.scale}-{args.precision}", {
        "chapter": args.chapter, "scale": args.scale, "rho": args.rho, "precision": args.precision, "rows": rows,
        "threads_per_worker": 1})
    print(f"record: {path}")


if __name__ == "__main__":
    main()
