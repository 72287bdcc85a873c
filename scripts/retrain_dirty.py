"""Retrain, at this checkout's clean commit, the runs of a scale whose record names a '-dirty' commit (trained from
a tree with uncommitted changes whose diff was not kept), so that no verdict rests on code nobody can see.

Each run trains, one at a time, into a staging results folder laid out like results/ (`--into`), never into this
checkout (a changed tracked file would make the next run's own commit dirty). The new record carries
`provenance.retrained_from`: the old commit and whether its final and best metrics came out identical; the
snapshots the old run had committed are kept beside it. Runs that feed the headline (CE+DRW and CE+DRW+SAM)
come first; `--part i/n` takes every n-th run (one process per core).

`--install` then replaces each old record by its retrained one, saying in `provenance.retrained_from` whether the
metrics, the curves and the committed snapshots' tensors came out identical; a snapshot is replaced only where its
tensors differ (the bytes of a torch file differ between two saves of the same tensors). Usage:

`--analyses` recomputes, at this clean commit, the analysis records (spectra, splits) computed from a dirty tree:
in a copy of results/ (`--into`), without them, each chapter plan of the scale computes what it reads (analyse.run
with its default settings); `--install` then puts each in place of the old one. Run it after the runs are
retrained and installed: a run whose snapshot tensors changed needs its analyses recomputed from the new one.
A dirty analysis no plan reads is left as it is and listed (it enters no verdict). Usage:

    OMP_NUM_THREADS=1 python scripts/retrain_dirty.py --scale cpu --into /tmp/retrained [--part 0/2] [--list]
    python scripts/retrain_dirty.py --scale cpu --into /tmp/retrained --install     # then commit results/
    OMP_NUM_THREADS=1 python scripts/retrain_dirty.py --scale cpu --into /tmp/reanalysed --analyses
    python scripts/retrain_dirty.py --scale cpu --into /tmp/reanalysed --install    # then commit results/
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path

import torch

from saddle import analyse
from saddle.checkpoints import keep_snapshots, load_verified, snapshot_name
from saddle.config import SCALES, RunConfig
from saddle.results import git_commit, load_records, read_record, record_path, results_dir, write_record
from saddle.runs import get_or_run


@contextlib.contextmanager
def results_at(folder: Path):
    """results_dir() is `folder` inside the block (SADDLE_RESULTS), as it was after it."""
    before = os.environ.get("SADDLE_RESULTS")
    os.environ["SADDLE_RESULTS"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            del os.environ["SADDLE_RESULTS"]
        else:
            os.environ["SADDLE_RESULTS"] = before


def dirty_configs(scale: str) -> list[tuple[RunConfig, dict]]:
    """(config, old record) of every run of `scale` recorded from a dirty tree, headline recipes first."""
    found = [(RunConfig.from_dict(r["config"]), r) for r in load_records(scale)
             if str(r["provenance"].get("git_commit", "")).endswith("-dirty")]
    headline = lambda c: c.loss == "ce" and c.drw and c.optimizer in ("sgd", "sam")  # noqa: E731
    return sorted(found, key=lambda cr: (not headline(cr[0]), cr[0].seed, cr[0].run_id))


def retrain(config: RunConfig, old: dict, into: Path) -> dict:
    """Train `config` into `into` at this commit: its record, then the snapshots the old run had committed (the
    record is rewritten last, with the old commit and final accuracy beside the new, once they are there)."""
    cache = into / ".cache"
    record = get_or_run(config, root=into, cache=cache)
    if record["provenance"]["git_commit"] in (old["provenance"]["git_commit"], ""):
        raise ValueError(f"{config.run_id}: the record found in {into} is the old one, not a retrained run")
    kept = committed_epochs(config)
    if kept:
        with results_at(into):  # keep_snapshots copies into results_dir()
            keep_snapshots(record, epochs=kept, cache=cache)
    record["provenance"]["retrained_from"] = {
        "git_commit": old["provenance"]["git_commit"], "date": old["provenance"].get("date"),
        "final_acc_old": old["metrics"]["final"].get("acc"), "final_acc_new": record["metrics"]["final"].get("acc")}
    write_record(record, record_path(config, into))
    return record


def committed_epochs(config: RunConfig) -> list[int]:
    """The epochs of the run's committed snapshots."""
    folder = results_dir() / config.scale / "checkpoints" / config.run_id
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("epoch_*.pt"))


def same_tensors(a, b) -> bool:
    """Whether two loaded checkpoints hold the same values, tensor for tensor (their file bytes may differ)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same_tensors, a, b))
    return torch.equal(a, b) if torch.is_tensor(a) else a == b


def plans() -> list[str]:
    """The analysis plans that read a scale's records (those taking a scale: the chapters')."""
    return [plan for plan in analyse.PLANS if "scale" in analyse.settings_of(plan)]


def dirty_analyses(scale: str, root: Path | None = None) -> list[Path]:
    """The analysis records of `scale` (results/<scale>/<kind>/*.json) to recompute, relative to the results
    folder: those computed from a tree with uncommitted changes, and those of a retrained run whose snapshots'
    tensors changed."""
    root = Path(root or results_dir())
    changed = {r["id"] for r in load_records(scale, root)
               if r["provenance"].get("retrained_from", {}).get("snapshots_identical") is False}
    found = []
    for path in sorted((root / scale).glob("*/*.json")):
        analysis = read_record(path, run_record=False)
        if (str(analysis.get("provenance", {}).get("git_commit", "")).endswith("-dirty")
                or analysis.get("run_id") in changed and "recomputed_from" not in analysis["provenance"]):
            found.append(path.relative_to(root))
    return found


def reanalyse(scale: str, into: Path, run_plan=analyse.run) -> list[Path]:
    """In a copy of results/ at `into` without the analyses to recompute, compute what each chapter plan of `scale`
    reads, from the committed snapshots (an empty cache: never a local copy of an old run's); the analyses no plan
    recomputed (read by none)."""
    redo = dirty_analyses(scale)
    if not into.exists():
        partial = into.with_name(into.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(results_dir(), partial)
        os.replace(partial, into)
    for path in redo:
        if (into / path).exists() and read_record(into / path, run_record=False) == read_record(
                results_dir() / path, run_record=False):
            (into / path).unlink()  # still the old one (a recomputed one differs, if only in its provenance)
    with results_at(into):
        for plan in plans():
            run_plan(plan, scale=scale, cache=into / ".cache")
    return [path for path in redo if not (into / path).exists()]


def staged_runs(scale: str, into: Path) -> list[tuple[RunConfig, dict, dict]]:
    """(config, old record, retrained record) of each dirty run of `scale` retrained in `into`, every one checked
    before anything is installed: trained at a clean commit, its snapshots all kept."""
    found = []
    for config, old in dirty_configs(scale):
        staged = record_path(config, into)
        if not staged.exists():
            continue
        record = read_record(staged)
        if record["provenance"]["git_commit"] == old["provenance"]["git_commit"]:
            continue  # the old record itself, in a copy of results/ made by --analyses
        if record["provenance"]["git_commit"].endswith("-dirty"):
            raise ValueError(f"{staged} names a dirty commit too; retrain it from a clean checkout")
        missing = [e for e in committed_epochs(config)
                   if not (into / scale / "checkpoints" / config.run_id / snapshot_name(e)).exists()]
        if missing or "retrained_from" not in record["provenance"]:
            print(f"{config.run_id}: not finished in {into} (snapshots of epochs {missing} missing); skipped")
            continue
        found.append((config, old, record))
    return found


def install_run(config: RunConfig, old: dict, record: dict, into: Path) -> dict:
    """Compare the retrained run with the old (noted in the staged record first, so a rerun after a kill compares
    nothing twice), replace the snapshots whose tensors differ (each whole or not at all), write the record last."""
    staged, noted = record_path(config, into), record["provenance"]["retrained_from"]
    if "snapshots_identical" not in noted:
        same = {e: same_tensors(load_verified(into / config.scale / "checkpoints" / config.run_id / snapshot_name(e)),
                                load_verified(results_dir() / config.scale / "checkpoints" / config.run_id
                                              / snapshot_name(e)))
                for e in committed_epochs(config)}
        noted.update(git_commit=old["provenance"]["git_commit"], device=old["provenance"].get("device"),
                     metrics_identical=record["metrics"] == old["metrics"],
                     curves_identical=record["curves"] == old["curves"], differing_epochs=[e for e, s in same.items()
                                                                                         if not s],
                     snapshots_identical=all(same.values()) if same else None)
        write_record(record, staged)
    for epoch in noted["differing_epochs"]:
        source = into / config.scale / "checkpoints" / config.run_id / snapshot_name(epoch)
        for path in (source, source.with_name(source.name + ".sha256")):
            target = results_dir() / config.scale / "checkpoints" / config.run_id / path.name
            shutil.copy2(path, target.with_name(target.name + ".partial"))
            os.replace(target.with_name(target.name + ".partial"), target)
    write_record(record, record_path(config))
    return noted


def largest_relative_change(old: dict, new: dict) -> float:
    """The largest |new - old| / max(|old|, |new|) over an analysis record's named numbers (lambda_min, lambda_max,
    loss, gradient norm, the split's extremes, ...): its scalars outside lists, so not the Lanczos nodes and weights
    of a density, whose near-zero weights move by large fractions when the arithmetic changes in the last bits."""
    if isinstance(old, dict) and isinstance(new, dict):
        return max((largest_relative_change(old[k], new[k]) for k in old.keys() & new.keys() if k != "provenance"),
                   default=0.0)
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool) and old != new:
        return abs(new - old) / max(abs(old), abs(new))
    return 0.0


def install(scale: str, into: Path) -> list[str]:
    """Replace each dirty record of `scale` by its retrained one in `into` and each analysis to recompute by its
    recomputed one, noting what came out identical. Lines saying what was done."""
    lines = [f"{config.run_id}: {install_run(config, old, record, into)}"
             for config, old, record in staged_runs(scale, into)]
    for path in dirty_analyses(scale):
        staged = into / path
        if not staged.exists():
            continue
        new, old = read_record(staged, run_record=False), read_record(results_dir() / path, run_record=False)
        if new == old or new["provenance"]["git_commit"].endswith("-dirty"):
            continue  # not recomputed (read by no plan), or recomputed from a dirty tree
        same = {k: v for k, v in new.items() if k != "provenance"} == {k: v for k, v in old.items()
                                                                       if k != "provenance"}
        change = largest_relative_change(old, new)
        new["provenance"]["recomputed_from"] = {"git_commit": old["provenance"]["git_commit"],
                                                "date": old["provenance"].get("date"), "identical": same,
                                                "largest_relative_change": change}
        write_record(new, results_dir() / path)
        lines.append(f"{path}: recomputed, identical: {same}, largest relative change {change:.1e}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--into", type=Path, required=True, help="staging results folder (laid out like results/)")
    parser.add_argument("--part", default="0/1", help="i/n: this process takes runs i, i+n, ... (default 0/1)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the runs and stop")
    what.add_argument("--install", action="store_true", help="replace the dirty records by the retrained ones")
    what.add_argument("--analyses", action="store_true", help="recompute the dirty analyses the chapters read")
    args = parser.parse_args(argv)
    try:
        index, count = (int(x) for x in args.part.split("/"))
        if not 0 <= index < count:
            raise ValueError
    except ValueError:
        parser.exit(2, f"--part {args.part!r}: accepted is i/n with 0 <= i < n, e.g. 0/2\n")
    if args.scale not in SCALES:
        parser.exit(2, f"--scale {args.scale!r}: accepted {', '.join(SCALES)}\n")
    into = args.into.resolve()
    if into == results_dir().resolve() or results_dir().resolve() in into.parents:
        parser.exit(2, f"--into {args.into}: a staging folder outside {results_dir()}, never the results themselves\n")
    if args.install:
        if not into.is_dir():
            parser.exit(2, f"--into {args.into}: no such folder; retrain into it first\n")
        print("\n".join(install(args.scale, into)) or f"nothing retrained in {into} yet")
        return 0
    if git_commit().endswith("-dirty"):
        parser.exit(2, f"this checkout ({git_commit()}) has uncommitted changes: retrain from a clean one\n")
    if args.analyses:
        unread = reanalyse(args.scale, into)
        print(f"{len(unread)} dirty analyses no chapter reads, left as they are:", *unread, sep="\n    ")
        return 0
    runs = dirty_configs(args.scale)[index::count]
    print(f"{len(runs)} runs of scale {args.scale} to retrain at {git_commit()[:12]}", flush=True)
    for i, (config, old) in enumerate(runs, 1):
        print(f"[{i}/{len(runs)}] {config.run_id} (was {old['provenance']['git_commit'][:12]}-dirty)", flush=True)
        if args.list:
            continue
        record = retrain(config, old, into)
        was = record["provenance"]["retrained_from"]
        print(f"    final acc {was['final_acc_old']} -> {was['final_acc_new']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
