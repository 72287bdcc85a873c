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
from saddle.checkpoints import keep_snapshots, load_verified
from saddle.config import RunConfig
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
    """Train `config` into `into` (its record and kept snapshots), noting how it compares with `old`."""
    cache = into / ".cache"
    record = get_or_run(config, root=into, cache=cache)
    kept = sorted(int(p.stem.split("_")[1]) for p in
                  (results_dir() / config.scale / "checkpoints" / config.run_id).glob("epoch_*.pt"))
    record["provenance"]["retrained_from"] = {
        "git_commit": old["provenance"]["git_commit"], "date": old["provenance"].get("date"),
        "metrics_identical": all(record["metrics"][k] == old["metrics"].get(k) for k in ("final", "best")),
        "final_acc_old": old["metrics"]["final"].get("acc"), "final_acc_new": record["metrics"]["final"].get("acc")}
    write_record(record, into / config.scale / f"{config.run_id}.json")
    if kept:
        with results_at(into):  # keep_snapshots copies into results_dir()
            keep_snapshots(record, epochs=kept, cache=cache)
    return record


def same_tensors(a, b) -> bool:
    """Whether two loaded checkpoints hold the same values, tensor for tensor (their file bytes may differ)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same_tensors, a, b))
    return torch.equal(a, b) if torch.is_tensor(a) else a == b


PLANS = ("chapter2", "chapter3", "chapter6", "chapter8")  # the chapter plans of analyse that read a scale's records


def dirty_analyses(scale: str, root: Path | None = None) -> list[Path]:
    """The analysis records of `scale` (results/<scale>/<kind>/*.json) computed from a tree with uncommitted
    changes, relative to the results folder."""
    root = Path(root or results_dir())
    return [p.relative_to(root) for p in sorted((root / scale).glob("*/*.json"))
            if str(read_record(p, run_record=False).get("provenance", {}).get("git_commit", "")).endswith("-dirty")]


def reanalyse(scale: str, into: Path, run_plan=analyse.run) -> list[Path]:
    """In a copy of results/ at `into` (made once), without the dirty analyses, compute what each chapter plan of
    `scale` reads; the dirty analyses no plan recomputed (read by none)."""
    dirty = dirty_analyses(scale)
    if not into.exists():
        shutil.copytree(results_dir(), into)
        for path in dirty:
            (into / path).unlink()
    with results_at(into):
        for plan in PLANS:
            run_plan(plan, scale=scale)
    return [path for path in dirty if not (into / path).exists()]


def install(scale: str, into: Path) -> list[str]:
    """Replace each dirty record of `scale` by its retrained one in `into` (trained at a clean commit), noting what
    came out identical; copy a retrained snapshot only where its tensors differ. Lines saying what was done."""
    lines = []
    for config, old in dirty_configs(scale):
        staged = into / scale / f"{config.run_id}.json"
        if not staged.exists():
            continue
        record = read_record(staged)
        if record["provenance"]["git_commit"] == old["provenance"]["git_commit"]:
            continue  # the old record itself, in a copy of results/ made by --analyses
        if record["provenance"]["git_commit"].endswith("-dirty"):
            raise ValueError(f"{staged} names a dirty commit too; retrain it from a clean checkout")
        snapshots = {}
        for new in sorted((into / scale / "checkpoints" / config.run_id).glob("epoch_*.pt")):
            committed = results_dir() / scale / "checkpoints" / config.run_id / new.name
            snapshots[new] = same_tensors(load_verified(new), load_verified(committed))
        record["provenance"]["retrained_from"] = {
            **record["provenance"].get("retrained_from", {}), "git_commit": old["provenance"]["git_commit"],
            "metrics_identical": record["metrics"] == old["metrics"],
            "curves_identical": record["curves"] == old["curves"],
            "snapshots_identical": all(snapshots.values()) if snapshots else None}
        for new, same in snapshots.items():
            if not same:
                for path in (new, new.with_name(new.name + ".sha256")):
                    shutil.copy2(path, results_dir() / scale / "checkpoints" / config.run_id / path.name)
        write_record(record, record_path(config))
        lines.append(f"{config.run_id}: {record['provenance']['retrained_from']}")
    for path in dirty_analyses(scale):
        staged = into / path
        if staged.exists() and not read_record(staged, run_record=False)["provenance"]["git_commit"].endswith("-dirty"):
            new, old = read_record(staged, run_record=False), read_record(results_dir() / path, run_record=False)
            same = {k: v for k, v in new.items() if k != "provenance"} == {k: v for k, v in old.items()
                                                                           if k != "provenance"}
            new["provenance"]["recomputed_from"] = {"git_commit": old["provenance"]["git_commit"], "identical": same}
            write_record(new, results_dir() / path)
            lines.append(f"{path}: recomputed, identical: {same}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--into", type=Path, required=True, help="staging results folder (laid out like results/)")
    parser.add_argument("--part", default="0/1", help="i/n: this process takes runs i, i+n, ... (default 0/1)")
    parser.add_argument("--list", action="store_true", help="list the runs and stop")
    parser.add_argument("--install", action="store_true", help="replace the dirty records by the retrained ones")
    parser.add_argument("--analyses", action="store_true", help="recompute the dirty analyses the chapters read")
    args = parser.parse_args(argv)
    try:
        index, count = (int(x) for x in args.part.split("/"))
        if not 0 <= index < count:
            raise ValueError
    except ValueError:
        parser.exit(2, f"--part {args.part!r}: accepted is i/n with 0 <= i < n, e.g. 0/2\n")
    if args.install:
        print("\n".join(install(args.scale, args.into)) or f"nothing retrained in {args.into} yet")
        return 0
    if git_commit().endswith("-dirty"):
        parser.exit(2, f"this checkout ({git_commit()}) has uncommitted changes: retrain from a clean one\n")
    if args.analyses:
        unread = reanalyse(args.scale, args.into)
        print(f"{len(unread)} dirty analyses no chapter reads, left as they are:", *unread, sep="\n    ")
        return 0
    runs = dirty_configs(args.scale)[index::count]
    print(f"{len(runs)} runs of scale {args.scale} to retrain at {git_commit()[:12]}", flush=True)
    for i, (config, old) in enumerate(runs, 1):
        print(f"[{i}/{len(runs)}] {config.run_id} (was {old['provenance']['git_commit'][:12]}-dirty)", flush=True)
        if args.list:
            continue
        record = retrain(config, old, args.into)
        was = record["provenance"]["retrained_from"]
        print(f"    final acc {was['final_acc_old']} -> {was['final_acc_new']}, "
              f"identical: {was['metrics_identical']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
