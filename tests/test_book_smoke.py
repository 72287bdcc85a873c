"""Every chapter at smoke scale in one results folder, as a book build runs them (a file of its own so the
test runner spreads it apart from the book build)."""
import json
import re
import shlex
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from conftest import needs_fashion_mnist

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
pytestmark = pytest.mark.slow  # every chapter executed with papermill: `make test` runs them, `make unit` not


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    """One results folder for the chapters at smoke scale, as in a book build: a run trained for one chapter is
    read by the next (chapter 7 reads what 4 and 6 trained)."""
    return tmp_path_factory.mktemp("smoke")


# The chapters whose analyses the pipeline computes: `python -m saddle analyse <plan>`.
PLANS = {"02_saddle_points": "chapter2", "03_theorem2": "chapter3", "06_ablations": "chapter6",
         "08_after_the_paper": "chapter8"}


def execute_with_pipeline(chapter: Path, out: Path, parameters: dict) -> str | None:
    """Run a chapter as its reader would: where it stops on a missing analysis (saddle.analyse.require), run the
    command it names (the pipeline's `python -m saddle analyse ...`, here in this process), then the chapter again.
    Returns that command (None: the chapter did not stop)."""
    from saddle.cli import main
    kwargs = dict(parameters=parameters, kernel_name="python3", progress_bar=False, cwd=str(ROOT))
    try:
        pm.execute_notebook(str(chapter), str(out), **kwargs)
        return None
    except pm.PapermillExecutionError as exc:
        if exc.ename != "MissingAnalysisError":
            raise
        command = re.search(r"Compute (?:it|them) with: (python -m saddle analyse .*?)   \(", exc.evalue).group(1)
        assert main(shlex.split(command)[3:]) == 0, command
        pm.execute_notebook(str(chapter), str(out), **kwargs)
        return command


@needs_fashion_mnist
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_chapter_runs_at_smoke_scale(chapter, smoke_results, monkeypatch):
    monkeypatch.setenv("SADDLE_RESULTS", str(smoke_results / "results"))
    monkeypatch.setenv("SADDLE_CACHE", str(smoke_results / "cache"))
    out = smoke_results / f"{chapter.stem}.ipynb"
    command = execute_with_pipeline(chapter, out, {"scale": "smoke"})
    text = out.read_text()
    assert "Traceback" not in text and "TqdmWarning" not in text
    if chapter.stem in PLANS:  # what the chapter read, the pipeline computed: none is missing now
        from saddle import analyse
        found = analyse.status(PLANS[chapter.stem], scale="smoke")
        assert found["present"] and not found["missing"], (command, {k: len(v) for k, v in found.items()})
        assert command in (None, f"python -m saddle analyse {PLANS[chapter.stem]} --scale smoke")
    if chapter.stem == "07_scorecard" and list((smoke_results / "results" / "smoke").glob("*-drw-sam-*.json")):
        # the runs chapters 1-6 trained reached the scorecard: some claim has a verdict other than 'not run here'
        outputs = " ".join(str(o) for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", []))
        # a verdict in the claims' table (a cell of its own) or in a sentence (*verdict*)
        assert re.search(r"(\*|>)(reproduced|contradicted|inconclusive|not tested)(\*|<)", outputs), outputs[:2000]


@needs_fashion_mnist
def test_chapter_2_stops_for_new_settings_and_the_command_computes_them_from_committed_snapshots(smoke_results,
                                                                                                monkeypatch):
    """A fresh clone re-running chapter 2 with new Hessian settings (`-p iters 3`) stops with the command that
    computes them (`python -m saddle analyse chapter2 --scale smoke --iters 3`); that command computes the spectra
    from the snapshots committed under results/<scale>/checkpoints/ and trains nothing, and the chapter then reads
    them (at smoke scale, once the chapter's runs exist: the per-chapter test above trained them in this folder)."""
    from saddle import analyse
    from saddle.checkpoints import keep_snapshots
    from saddle.results import load_records
    monkeypatch.setenv("SADDLE_RESULTS", str(smoke_results / "results"))
    if not (smoke_results / "02_saddle_points.ipynb").exists():  # run alone (-k): train the chapter's runs first
        monkeypatch.setenv("SADDLE_CACHE", str(smoke_results / "cache"))
        execute_with_pipeline(ROOT / "book" / "02_saddle_points.ipynb", smoke_results / "02_saddle_points.ipynb",
                              {"scale": "smoke"})
    for record in load_records("smoke", smoke_results / "results"):  # what `--keep-snapshots all` commits
        keep_snapshots(record, cache=smoke_results / "cache")
    monkeypatch.setenv("SADDLE_CACHE", str(smoke_results / "fresh-clone-cache"))  # no cache: a fresh clone
    monkeypatch.setenv("SADDLE_RUN_LOG", str(smoke_results / "run.log"))
    with pytest.raises(analyse.MissingAnalysisError, match="python -m saddle analyse chapter2 --scale smoke --iters 3"):
        analyse.require("chapter2", scale="smoke", iters=3)
    command = execute_with_pipeline(ROOT / "book" / "02_saddle_points.ipynb", smoke_results / "02_iters3.ipynb",
                                    {"scale": "smoke", "iters": 3})
    assert command == "python -m saddle analyse chapter2 --scale smoke --iters 3"
    found = analyse.status("chapter2", scale="smoke", iters=3)
    assert found["present"] and not found["missing"], {k: len(v) for k, v in found.items()}
    log = (smoke_results / "run.log").read_text()
    assert "trained" not in log and "read" in log, log
    recomputed = [json.loads(p.read_text()) for p in (smoke_results / "results" / "smoke" / "hessian").glob("*.json")]
    assert sum(r["settings"]["iters"] == 3 for r in recomputed) >= 2  # new spectra, from the kept snapshots
