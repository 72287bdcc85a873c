"""The declared analyses of the CIFAR grid: what the plan asks of each recorded run, and the pipeline's listing."""
import pytest

from saddle import analyse, grid
from saddle.cli import main


def fake(method, seed):
    config = grid.method_config(method, grid.CIFAR_SCALE, seed=seed)
    return {"id": config.run_id, "label": method, "status": "complete", "config": config.to_dict(),
            "groups": {"tail": [7, 8, 9]}}


def test_the_cifar_plan_follows_its_declaration():
    records = {r["id"]: r for r in (fake("CE+DRW", 0), fake("CE+DRW+SAM", 0), fake("CE+DRW", 3))}
    records["missing"] = None
    plan = analyse.cifar_plan(records)
    spectra_all = [a for a in plan if a.classes == "all"]
    assert len(spectra_all) == 3 and {a.epoch for a in spectra_all} == {200}
    assert all(a.max_per_class == grid.CIFAR_ANALYSES["max_per_class"] and a.iters == 100 for a in spectra_all)
    assert all(a.seed == a.run["config"]["seed"] for a in plan if a.classes != [9])
    assert len([a for a in plan if a.kind == "split"]) == 3
    fig3 = [a for a in plan if a.classes == [0, 9]]
    assert len(fig3) == 2 * 6 and {a.run["config"]["seed"] for a in fig3} == {0}  # seeds 0-2 only
    estimator = [a for a in plan if a.classes == [9]]
    assert len(estimator) == 9 and {a.run["label"] for a in estimator} == {"CE+DRW+SAM"}


def test_analyse_lists_what_waits_for_its_snapshot(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    records = {r["id"]: r for r in (fake("CE+DRW", 0),)}
    monkeypatch.setattr(analyse.runner, "records", lambda configs: records)
    assert main(["analyse", "cifar10-headline", "--list"]) == 0
    out = capsys.readouterr().out
    assert "0 recorded, 0 computed now, 8 waiting for their snapshot" in out
    assert main(["analyse", "table1"]) == 2
    with pytest.raises(ValueError, match="accepted: cifar10-headline"):
        analyse.run("table1")


# ---- The chapters' plans (issue 49, item 2): what chapters 2, 3, 6 and 8 read, computed by `analyse chapterN`. ----

CHAPTER_PLANS = ("chapter2", "chapter3", "chapter6", "chapter8")


@pytest.mark.parametrize("plan", CHAPTER_PLANS)
def test_every_analysis_a_cpu_chapter_reads_is_committed(plan):
    """On the committed cpu records each chapter's plan is complete: `analyse chapterN --list` lists every
    analysis as recorded, none missing or waiting, no run without a record."""
    found = analyse.status(plan, scale="cpu")
    assert found["present"] and not found["missing"] and not found["waiting"] and not found["unrecorded"], {
        k: [getattr(a, "name", a) for a in v] for k, v in found.items() if k != "present"}
    assert analyse.require(plan, scale="cpu")["present"] == found["present"]


def test_check3_on_the_regime_scale_is_committed():
    found = analyse.status("chapter3", scale=grid.REGIME_SCALE)
    assert len(found["present"]) == 1 and not found["missing"] + found["waiting"]


def read_keys(monkeypatch) -> list:
    """Every analysis record read from now on, as (kind, run, epoch, settings): spectra.stored_analysis is where
    run_spectra and theorem2's check 3 find their records."""
    import json
    from saddle import spectra
    seen, stored = [], spectra.stored_analysis

    def spy(config, kind, epoch, settings, *args, **kwargs):
        seen.append((kind, config.run_id, epoch, json.dumps(settings, sort_keys=True)))
        return stored(config, kind, epoch, settings, *args, **kwargs)
    monkeypatch.setattr(spectra, "stored_analysis", spy)
    return seen


def test_the_plans_list_exactly_what_the_chapters_read(monkeypatch):
    """The analyses each chapter reads at the cpu scale (its reading calls, with its default settings, as the
    notebook makes them) are the analyses its plan lists: `analyse chapterN` computes what the chapter reads."""
    from saddle import runner, theorem2
    from saddle_book import notebook, sam_radius, scorecard

    seen = read_keys(monkeypatch)

    def planned(plan, **settings):
        seen.clear()
        for a in analyse.make_plan(plan, scale="cpu", **settings)[0]:
            a.compute(compute=False)
        return sorted(seen)

    def chapter3():  # book/03_theorem2.ipynb at its defaults
        seen.clear()
        analyse.STORED.check3("cpu", [0.1, 0.2, 0.5, 0.8], 0, **theorem2.check3_effort("cpu"))
        return sorted(seen)

    def chapter6():  # book/06_ablations.ipynb
        seen.clear()
        seeds, rhos, dataset_names, iters, max_per_class = notebook.chapter_settings(
            "cpu", seeds=None, rhos=None, dataset_names=None, iters=None, max_per_class=None)
        sweep = grid.figure4("cpu", seeds, rhos, dataset_names)
        records = runner.records(sweep + grid.table4("cpu", seeds, dataset_names))
        runs = {(c.radius, c.seed): records[c.run_id] for c in runner.unique(sweep) if c.dataset == dataset_names[0]}
        analyse.STORED.sweep_rows(runs, iters=iters, max_per_class=max_per_class)
        analyse.STORED.sweep_rows(sam_radius.tuning_runs("cpu", dataset_names[0]), iters=iters, max_per_class=max_per_class)
        return sorted(seen)

    def chapter8():  # book/08_after_the_paper.ipynb
        seen.clear()
        seeds, iters, max_per_class = notebook.chapter_settings("cpu", validated_seeds=None, iters=None,
                                                            max_per_class=None)
        configs = grid.followups("cpu", seeds)
        records = runner.records(configs)
        for method, seed, record in scorecard.complete_runs(analyse.FOLLOWUP_CURVATURE_METHODS, "cpu",
                                                            grid.datasets("cpu")[0], seeds, records):
            analyse.STORED.spectra(record, record["config"]["epochs"], record["groups"]["tail"], iters=iters,
                                   seed=seed, max_per_class=max_per_class)
        return sorted(seen)

    for plan, read in (("chapter3", chapter3), ("chapter6", chapter6), ("chapter8", chapter8)):
        reads = read()
        assert reads and len(set(reads)) == len(reads) and reads == planned(plan), plan


@pytest.mark.slow  # chapter 2's code cells at the cpu scale, in this process (about 20 s)
def test_the_chapter2_plan_lists_exactly_what_chapter2_reads(monkeypatch):
    """Chapter 2's code cells run at the cpu scale (its defaults) read exactly the analyses its plan lists, each
    once; its sections on other scales' committed records are left out of it: both scales' story (saddle_story) and
    CIFAR-10-LT's, which reads only what the cifar10-headline plan declares."""
    import json
    from pathlib import Path
    import matplotlib
    matplotlib.use("Agg")
    from saddle import curvature, spectra

    seen, stored = [], spectra.stored_analysis

    def spy(config, kind, epoch, settings, *args, **kwargs):
        seen.append((kind, config.run_id, epoch, json.dumps(settings, sort_keys=True)))
        return stored(config, kind, epoch, settings, *args, **kwargs)
    monkeypatch.setattr(spectra, "stored_analysis", spy)
    monkeypatch.setattr(curvature, "stored_analysis", spy)
    path = Path(__file__).resolve().parents[1] / "book" / "02_saddle_points.ipynb"
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    namespace, cifar_reads = {"In": ["", *cells]}, []
    for cell in cells:
        before = len(seen)
        exec(cell, namespace)
        if "page.cifar()" in cell:
            cifar_reads += seen[before:]
        if "page.story()" in cell or "page.cifar()" in cell:
            del seen[before:]
    reads = sorted(set(seen))
    seen.clear()
    for a in analyse.make_plan("chapter2", scale="cpu")[0]:
        a.compute(compute=False)
    assert reads and sorted(seen) == reads  # each planned analysis a record of its own, and every one read
    seen.clear()
    for a in analyse.make_plan("cifar10-headline")[0]:
        a.compute(compute=False)
    assert set(cifar_reads) <= set(seen), sorted(set(cifar_reads) - set(seen))


def test_chapter2_stops_with_its_command_on_new_settings():
    """At the cpu scale with 50 Lanczos steps the committed snapshots are there, the spectra not: chapter 2's
    require names the command with the chapter's settings that differ from their defaults (nothing computed)."""
    with pytest.raises(analyse.MissingAnalysisError, match=r"Compute them with: python -m saddle analyse chapter2 "
                       r"--scale cpu --seeds 0 --iters 50   \(then run the chapter again\)"):
        analyse.require("chapter2", scale="cpu", protocol="validated", seeds=[0], iters=50,
                        rho=analyse.chapter2_settings("cpu")["rho"], epochs=list(analyse.CHAPTER2_EPOCHS))
    assert analyse.command("chapter2", "cpu", protocol="paper", rho_sweep=[0.1, 0.5], sweep_seeds=[1], epochs=[200]) \
        == "python -m saddle analyse chapter2 --scale cpu --protocol paper --rho-sweep 0.1,0.5 --sweep-seeds 1 --epochs 200"
    assert analyse.command("chapter2", "cpu", protocol="paper", seeds=[0, 1, 2]) == \
        "python -m saddle analyse chapter2 --scale cpu --protocol paper"


def test_analyse_takes_chapter2s_settings(capsys):
    assert main(["analyse", "chapter2", "--protocol", "fancy", "--list"]) == 2
    assert main(["analyse", "chapter6", "--rho", "0.3", "--list"]) == 2
    assert "analyse chapter6 takes" in capsys.readouterr().err
    assert main(["analyse", "chapter2", "--rho-sweep", "0.1,x", "--list"]) == 2
    assert "--rho-sweep '0.1,x': expected comma-separated radii" in capsys.readouterr().err


def fake_run(config, root):
    """A made-up complete run record of `config` in `root` (what the plans read of a run: its config and groups)."""
    from saddle.results import record_path, write_record
    write_record({"id": config.run_id, "label": config.label, "status": "complete", "config": config.to_dict(),
                  "metrics": {"final": {"acc": 50.0}}, "curves": [], "provenance": {"wall_time_s": 1.0},
                  "groups": {"head": [0, 1, 2], "mid": [3, 4, 5, 6], "tail": [7, 8, 9]}}, record_path(config, root))


def test_a_missing_analysis_stops_the_chapter_with_the_command_that_makes_it(tmp_path, monkeypatch):
    """Chapter 6 with a radius of its own in an empty store (a made-up run of rho 0.3): without the run's snapshot
    its spectra wait (the chapter goes on, leaving them out); with it, require stops the chapter and names the
    exact command, and that command, run, writes what the chapter reads."""
    from saddle import spectra
    from saddle.results import write_record
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    settings = dict(scale="cpu", seeds=[0], rhos=[0.3], dataset_names=["fashion-mnist"], iters=100,
                    max_per_class=None)
    (config,) = grid.figure4("cpu", [0], [0.3])
    fake_run(config, tmp_path / "results")
    found = analyse.require("chapter6", **settings)
    assert [a.run["id"] for a in found["waiting"]] == [config.run_id] and not found["present"]
    assert {c.label for c in found["unrecorded"]} == {"CE+DRW", "CE+DRW+SAM"}  # the tuning runs: not here
    snapshot = tmp_path / "cache" / "checkpoints" / config.run_id / "epoch_0200.pt"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"")
    command = "python -m saddle analyse chapter6 --scale cpu --seeds 0 --rhos 0.3"
    with pytest.raises(analyse.MissingAnalysisError, match="1 of the 1 analyses this chapter reads is not recorded "
                       rf"\({config.run_id} epoch 200: spectra of classes \[7, 8, 9\] \(100 steps, probe 0\)\)"
                       ) as missing:
        analyse.require("chapter6", **settings)
    assert str(missing.value).endswith(f"Compute it with: {command}   (then run the chapter again)")
    with monkeypatch.context() as m:  # the command, its spectrum made up (no network here)
        m.setattr(spectra, "get_or_compute_record", lambda path, make, how: write_record({"spectra": {}}, path))
        assert main(command.split()[3:]) == 0
    assert len(analyse.require("chapter6", **settings)["present"]) == 1
    with pytest.raises(analyse.MissingAnalysisError, match=r"with: python -m saddle analyse chapter6 --scale cpu "
                       r"--seeds 0 --rhos 0.3 --iters 50 --data-root /data/x   \("):
        analyse.require("chapter6", data_root="/data/x", **(settings | {"iters": 50}))


def test_chapter3_stops_with_its_command(tmp_path, monkeypatch):
    from saddle import theorem2
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SADDLE_CACHE", str(tmp_path / "cache"))
    config = theorem2.check3_config("cpu")
    assert analyse.require("chapter3", scale="cpu")["unrecorded"] == [config]  # no run: require_record stops it
    fake_run(config, tmp_path / "results")
    snapshot = tmp_path / "cache" / "checkpoints" / config.run_id / f"epoch_{config.epochs:04d}.pt"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"")
    with pytest.raises(analyse.MissingAnalysisError, match=r"check 3 of Theorem 2 \(radii \[0.5, 0.8\], 32 minibatches "
                       r"of 128\) \(30 steps, probe 1\)\)\. Compute it with: python -m saddle analyse chapter3 "
                       r"--scale cpu --table5-rhos 0.5,0.8 --seeds 1   \("):
        analyse.require("chapter3", scale="cpu", table5_rhos=[0.5, 0.8], seeds=[1, 2])
    # the command the chapter prints for the other scale's check 3, and the one a read-only build names
    assert analyse.command("chapter3", "r8-n5000", table5_rhos=[0.1, 0.2, 0.5, 0.8], seeds=[0]) == \
        theorem2.chapter3_command("r8-n5000", [0.1, 0.2, 0.5, 0.8], 0) == "python -m saddle analyse chapter3 --scale r8-n5000"
    assert analyse.command("chapter3", "cpu", table5_rhos=[0.5], seeds=[3]) == \
        theorem2.chapter3_command("cpu", [0.5], 3) == "python -m saddle analyse chapter3 --scale cpu --table5-rhos 0.5 --seeds 3"


def test_analyse_refuses_a_setting_its_plan_does_not_take(capsys):
    assert main(["analyse", "chapter3", "--rhos", "0.5", "--list"]) == 2
    assert "analyse chapter3 takes --scale, --table5-rhos, --seeds; not --rhos" in capsys.readouterr().err
    assert main(["analyse", "cifar10-headline", "--scale", "cpu", "--list"]) == 2
    assert main(["analyse", "chapter6", "--rhos", "0.1,x", "--list"]) == 2
    assert "--rhos '0.1,x': expected comma-separated radii" in capsys.readouterr().err
    assert main(["analyse", "chapter8", "--scale", "huge", "--list"]) == 2
