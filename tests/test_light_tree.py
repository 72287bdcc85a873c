"""The light tree (issue 49): a committed snapshot is one a committed analysis record reads, with its SHA-256 beside
it, and a snapshot a record reads is committed or can be retrained from a committed run record; so the tracked tree
stays small enough to travel to a GPU machine (64 MiB a call)."""
import json
import re
import shutil
import subprocess

import pytest

from saddle.paths import ROOT

SNAPSHOT_FILE = re.compile(r"results/[^/]+/checkpoints/(?P<run>[^/]+)/epoch_(?P<epoch>\d+)\.pt")
UNFINISHED_FILE = re.compile(r"results/[^/]+/unfinished/[^/]+/(last|epoch_\d+)\.pt(\.sha256)?")
ANALYSIS_FILE = re.compile(r"results/[^/]+/[^/]+/(?P<run>[^/]+)-e(?P<epoch>\d+)-[0-9a-f]{8}\.json")  # analysis_path


def snapshot_use(paths) -> tuple[dict, set]:
    """({(run id, epoch): path} of the committed snapshots, {(run id, epoch)} of the snapshots the committed analysis
    records read), from repository paths. An analysis record names the snapshot it read,
    results/<scale>/<kind>/<run id>-e<epoch>-<settings hash>.json, and a build reads records, not snapshots, so a
    snapshot no record names is read by nothing: its run record is enough to retrain it. Committing only the read
    ones keeps the checkout within what a GPU machine's call carries (64 MiB). (Moved here from saddle.checkpoints:
    only these checks of the tree use it.)"""
    tracked, read = {}, set()
    for path in paths:
        if match := SNAPSHOT_FILE.fullmatch(path):
            tracked[(match["run"], int(match["epoch"]))] = path
        elif match := ANALYSIS_FILE.fullmatch(path):
            read.add((match["run"], int(match["epoch"])))
    return tracked, read


def tracked() -> list[str]:
    """`git ls-files results` of this checkout (what a commit holds, staged deletions gone), or a skip."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the light tree is a property of a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "results"], cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout: no tracked tree to check")
    return [p for p in listed.stdout.decode().split("\0") if p]


def test_snapshot_use_reads_the_run_and_epoch_from_both_names():
    paths = ["results/cpu/checkpoints/a-s0-0123456789/epoch_0200.pt", "results/cpu/checkpoints/a-s0-0123456789/"
             "epoch_0200.pt.sha256", "results/cpu/checkpoints/b-s1-abcdef0123/epoch_0010.pt",
             "results/cpu/hessian/a-s0-0123456789-e200-d67a096a.json", "results/cpu/a-s0-0123456789.json",
             "results/r8-n5000/theory/c-s0-0000000000-e50-3522d297.json", "results/bench/throughput-1.json"]
    snapshots, read = snapshot_use(paths)
    assert snapshots == {("a-s0-0123456789", 200): paths[0], ("b-s1-abcdef0123", 10): paths[2]}
    assert read == {("a-s0-0123456789", 200), ("c-s0-0000000000", 50)}


def test_every_committed_snapshot_is_read_by_a_committed_analysis_record():
    snapshots, read = snapshot_use(tracked())
    unread = sorted(path for key, path in snapshots.items() if key not in read)
    assert not unread, (f"{len(unread)} committed snapshots no analysis record reads; `git rm` them with their "
                        f".sha256 (their run records retrain them): {unread[:5]}")


def test_every_committed_snapshot_has_its_checksum_and_every_checksum_its_snapshot():
    paths = set(tracked())
    assert not [p for p in paths if p.endswith(".pt") and p + ".sha256" not in paths]
    assert not [p for p in paths if p.endswith(".pt.sha256") and p.removesuffix(".sha256") not in paths]


def misplaced_unfinished(paths) -> list[str]:
    """Paths under results/<scale>/unfinished/ that are not a carried run's last.pt or snapshot, or whose run is
    recorded: scripts/carry_unfinished.py carries a run still training, so its folder goes once the record lands."""
    records = {p.removesuffix(".json") for p in paths if p.count("/") == 2 and p.endswith(".json")}
    unfinished = [p for p in paths if "/unfinished/" in p]
    return [p for p in unfinished if not UNFINISHED_FILE.fullmatch(p)
            or p.rsplit("/", 1)[0].replace("/unfinished/", "/") in records
            or p.rsplit("/", 1)[0] + "/last.pt" not in paths]


def test_misplaced_unfinished_finds_recorded_runs_and_stray_files():
    paths = ["results/c/a-s1-0123456789.json", "results/c/unfinished/a-s1-0123456789/last.pt",
             "results/c/unfinished/b-s2-0123456789/last.pt", "results/c/unfinished/b-s2-0123456789/epoch_0010.pt."
             "sha256", "results/c/unfinished/b-s2-0123456789/notes.txt", "results/c/unfinished/c-s3-0123456789/"
             "epoch_0010.pt"]
    assert misplaced_unfinished(paths) == [paths[1], paths[4], paths[5]]


def test_carried_unfinished_runs_are_runs_with_no_record():
    assert not misplaced_unfinished(tracked())


def test_carried_files_match_their_checksums():
    from saddle.checkpoints import load_verified
    for path in tracked():
        if UNFINISHED_FILE.fullmatch(path) and path.endswith(".pt"):
            load_verified(ROOT / path)


def test_the_tree_without_snapshots_and_carried_runs_is_at_most_30_mib():
    """What a GPU machine's call must carry once the snapshot and carried-run folders are set aside (README)."""
    rest = [p for p in tracked() if "/checkpoints/" not in p and "/unfinished/" not in p]
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True).stdout.decode().split("\0")
    rest += [p for p in listed if p and not p.startswith("results/")]
    size = sum((ROOT / p).stat().st_size for p in rest if (ROOT / p).is_file())
    assert size <= 30 * 2**20, f"the tracked tree without its snapshots is {size / 2**20:.1f} MiB, over 30"


def test_a_snapshot_a_record_reads_is_committed_or_its_run_retrains_it():
    """Retraining a committed run record keeps its checkpoint epochs and its best-validation epoch."""
    paths = tracked()
    snapshots, read = snapshot_use(paths)
    records = {p.rsplit("/", 1)[1].removesuffix(".json"): p for p in paths if p.count("/") == 2 and p.endswith(".json")}
    lost = []
    for run, epoch in sorted(read - set(snapshots)):
        record = json.loads((ROOT / records[run]).read_text()) if run in records else {}
        best = (record.get("metrics", {}).get("best_val") or {}).get("epoch")
        kept = set(record.get("checkpoint_epochs") or ()) | {best}
        if epoch not in kept:
            lost.append(f"{run} epoch {epoch}")
    assert not lost, f"analysis records read snapshots neither committed nor retrainable: {lost}"
