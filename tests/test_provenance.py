"""A record names the code that made it: a clean commit, or a dirty one with its diff saved beside the record."""
import hashlib

import pytest

from saddle import RunConfig, runs
from saddle import results as store
from saddle.cli import main

DIFF = "diff --git a/src/saddle/train.py b/src/saddle/train.py\n+# an uncommitted change\n"


def tiny():
    return RunConfig.at_scale("smoke", dataset="synthetic", n_max=40, imbalance=10, epochs=1)


def test_a_dirty_tree_is_refused_unless_allowed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(store, "tree_diff", lambda: DIFF)
    monkeypatch.delenv("SADDLE_ALLOW_DIRTY")
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(store.DirtyTreeError, match="uncommitted changes.*--allow-dirty"):
        runs.get_or_run(tiny(), root=tmp_path)
    assert main(["train", "--scale", "smoke", "--dataset", "synthetic", "--n-max", "40", "--imbalance", "10",
                 "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 2
    assert "--allow-dirty" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.json"))


def test_an_allowed_dirty_run_saves_its_diff_beside_the_record(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "tree_diff", lambda: DIFF)
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    record = runs.get_or_run(tiny(), root=tmp_path)
    path = store.record_path(tiny(), tmp_path)
    assert path.with_suffix(".diff").read_text() == DIFF
    assert record["provenance"]["git_diff_sha256"] == hashlib.sha256(DIFF.encode()).hexdigest()


def test_a_clean_tree_records_no_diff(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "tree_diff", lambda: "")
    monkeypatch.delenv("SADDLE_ALLOW_DIRTY")
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    record = runs.get_or_run(tiny(), root=tmp_path)
    assert "git_diff_sha256" not in record["provenance"]
    assert not list(tmp_path.rglob("*.diff"))


def test_dirty_records_are_listed_with_whether_their_diff_was_kept(tmp_path):
    import json
    from saddle_book.scorecard import dirty_records
    folder = tmp_path / "cpu"
    folder.mkdir()
    for name, commit, kept in (("a", "abc123-dirty", False), ("b", "def456", False), ("c", "0123ab-dirty", True),
                               ("d", "fed987", False), ("e", "fed987", False)):
        provenance = {"git_commit": commit, "date": "2026-11-30T00:00:00+00:00", "wall_time_s": 1.0,
                      "device": "cpu (x86_64, 1 threads)"}
        if kept:
            provenance["git_diff_sha256"] = "0" * 64
        if name == "d":  # retrained at a clean commit, one of its snapshots' tensors different
            provenance["retrained_from"] = {"git_commit": "999aaa-dirty", "date": "2026-11-30",
                                            "metrics_identical": True, "curves_identical": True,
                                            "snapshots_identical": False, "device": "cpu (x86_64, 1 threads)"}
        if name == "e":  # retrained on one thread where the original ran on two: its arithmetic differs
            provenance["retrained_from"] = {"git_commit": "999aaa-dirty", "date": "2026-11-30",
                                            "metrics_identical": False, "curves_identical": False,
                                            "snapshots_identical": None, "device": "cpu (x86_64, 2 threads)"}
        (folder / f"{name}.json").write_text(json.dumps({
            "id": name, "status": "complete", "label": "CE", "config": {"seed": 0}, "curves": [],
            "metrics": {"final": {"acc": 1.0}}, "provenance": provenance}))
    rows = dirty_records("cpu", tmp_path)
    assert [(r["run"], r["diff kept"], r["commit"], r["retrained at"], r["identical"]) for r in rows] == [
        ("a", False, "abc123-dirty", "", ""), ("c", True, "0123ab-dirty", "", ""),
        ("d", "", "999aaa-dirty", "fed987", "no"),
        ("e", "", "999aaa-dirty", "fed987", "no: the original ran on 2 threads")]
    from saddle_book.scorecard import _not_identical
    assert _not_identical({"device": "cpu (x86_64, 1 thread)"}, {"device": "cpu (x86_64, 2 threads)"}) == (
        "no: the original ran on 1 thread")
    assert _not_identical({}, {"device": "cpu (x86_64, 1 threads)"}) == "no"  # installed before devices were noted
