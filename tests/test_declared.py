"""The "declared when" table (issue 48): each declaration's commit, from git, beside the dates of the records it
judges; checked on this repository's own history and on a small repository made here."""
import json
import os
import shutil
import subprocess

import pytest

from saddle import grid
from saddle_book import catalog, declared
from saddle_book.declared import Declaration, MissingHistoryError
from saddle.paths import ROOT


def history_or_skip(root):
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the table is built from the repository's history")
    try:
        declared.check_history(root)
    except MissingHistoryError as exc:
        pytest.skip(f"no full history to date the declarations by: {exc}")


@pytest.fixture(scope="module")
def rows():
    history_or_skip(ROOT)
    return {row["item"]: row for row in declared.table(ROOT)}


def test_families_primary_claims_and_margins_came_after_the_cpu_accuracy_data(rows):
    paper = rows["`accuracy, paper protocol`"]
    assert (paper["declared_commit"], paper["declared_date"][:10]) == ("997a9f0", "2026-12-02")
    assert paper["first_record_date"] < paper["declared_date"] and paper["declared_before_data"] is False
    assert paper["records_before"] == paper["records"] > 50  # after every paper-protocol record at cpu
    for item in ("`accuracy, validated protocol`", "`mechanism, cpu`", "`after the paper`",
                 "`accuracy, validated protocol`: the headline (SAM raises CE+DRW's tail)"):
        assert (rows[item]["declared_commit"], rows[item]["declared_before_data"]) == ("997a9f0", False), item
    margins = {r["item"].split("`")[1]: r for r in rows.values() if r["kind"] == "margin"}
    assert margins["equivalence_margin"]["declared_commit"] == "997a9f0"
    assert margins["claim_margin"]["declared_commit"] == "2c1c076"  # where the per-metric margins took over
    assert margins["KEEP_TOLERANCE"]["declared_date"] < margins["claim_margin"]["declared_date"]
    rules = {r["item"]: r for r in rows.values() if r["kind"] == "rule"}
    contradicted = {item.split(": the ")[1][:3]: r for item, r in rules.items() if "contradicted" in item}
    assert contradicted["90%"]["declared_commit"] == "2c1c076"
    assert contradicted["95%"]["declared_date"] < contradicted["90%"]["declared_date"]
    accuracy = [r for name, r in margins.items() if name != "PRECISION_LAMBDA_MARGIN"]  # its runs come later
    assert all(r["declared_before_data"] is False for r in [*accuracy, *rules.values()])


def test_cifar_declarations_come_before_any_cifar_record(rows):
    cifar = [r for r in rows.values() if "cifar10" in r["item"] or "CIFAR" in r["item"]]
    assert len(cifar) == 6
    for row in cifar:
        assert row["declared_commit"] == "900d5d6", row["item"]
        assert row["declared_before_data"] in (None, True), row


def test_tail_stationary_came_after_the_cpu_spectra_and_before_the_regime_ones(rows):
    row = rows["`tail_stationary` joins the mechanism families"]
    assert (row["declared_commit"], row["declared_date"][:10]) == ("4c35039", "2026-12-04")
    assert row["declared_before_data"] is False and row["records_before"] > 0
    regime = [r for r in declared.committed_records(ROOT) if r.scale == "r8-n5000" and r.kind == "spectra"]
    assert regime and all(r.date.isoformat() > row["declared_date"] for r in regime)  # as scorecard.py says


def test_what_the_code_says_was_written_before_its_runs_was(rows):
    """The declarations whose comments say they came before their data, as git and the records date them."""
    for item in ("`mechanism, r8-n5000`", "`theorem 2, r8-n5000`", "mechanism-cpu", "ten-seeds", "headline-radii",
                 "regime-pilot and its rule (`REGIME_RULE`)", "mechanism-regime",
                 "tune: the radius rule `select_rho` and its grid",
                 "order-control: Fashion-MNIST's natural class order",
                 "Fashion-MNIST's calibrated class order (`data.FASHION_MNIST_ORDER`)"):
        assert rows[item]["declared_before_data"] is True, rows[item]


def test_every_family_primary_claim_and_grid_has_a_row(rows):
    """A declaration added to the code without a row here fails: the table covers them all."""
    kinds = {kind: [r["item"] for r in rows.values() if r["kind"] == kind] for kind in declared.KINDS}
    assert {f"`{family}`" for family in catalog.FAMILIES} <= set(kinds["family"])
    assert all(any(item.startswith(f"`{family}`:") for item in kinds["primary"]) for family in catalog.PRIMARY)
    named = " ".join(kinds["grid"]).replace(",", " ").replace(":", " ").split()
    assert set(grid.GRIDS) <= set(named), set(grid.GRIDS) - set(named)


def test_the_markdown_table_has_a_line_per_row(rows, tmp_path):
    text = declared.markdown(list(rows.values()))
    lines = text.splitlines()
    assert len(lines) == len(rows) + 2 and len({line.count("|") for line in lines}) == 1
    declared.write_markdown(ROOT, tmp_path / "_generated" / "declared.md")
    written = (tmp_path / "_generated" / "declared.md").read_text()
    assert written.startswith(lines[0]) and "Built from the history up to commit" in written


def git(repo, *args, date=None):
    env = {**os.environ, "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org"}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True,
                          capture_output=True, text=True).stdout


def commit(repo, date, **files):
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text if isinstance(text, str) else json.dumps(text))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"at {date}", date=date)


SETS = {"runs": lambda r: r.kind == "run", "spectra": lambda r: r.kind == "spectra", "none": lambda r: False}
RULES = "src/rules.py"


def test_a_made_up_history_is_dated_line_by_line(tmp_path):
    """A declaration added after a record is declared after its data; one added before, before; a renamed one at its
    first spelling; one not yet committed, now; a record without a provenance date at the commit that added it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    run = {"config": {"seed": 0, "optimizer": "sgd"}, "provenance": {}}
    commit(repo, "2026-01-01T00:00:00+00:00", **{RULES: "RULE = 1\nOLD_NAME = 0\n"})
    commit(repo, "2026-01-02T00:00:00+00:00", **{"results/cpu/run-a.json": run})
    commit(repo, "2026-01-03T00:00:00+00:00", **{RULES: "RULE = 1\nNEW_NAME = 0\nLATE = 2\n"})
    commit(repo, "2026-01-04T00:00:00+00:00", **{
        RULES: "RULE = 1  # reworded later\nNEW_NAME = 0\nLATE = 2\n",
        "results/cpu/run-b.json": {**run, "provenance": {"date": "2026-01-05T12:00:00Z"}},
        "results/cpu/hessian/run-b-e200.json": {"provenance": {"date": "2026-01-06T00:00:00+00:00"}},
        "results/bench/throughput.json": {"provenance": {"date": "2025-01-01T00:00:00+00:00"}}})
    (repo / RULES).write_text((repo / RULES).read_text() + "FRESH = 3\n")  # in the tree, not committed
    made = [Declaration("rule", "rule", RULES, ("RULE = 1",), "runs"),
            Declaration("late", "family", RULES, ("LATE = 2",), "runs"),
            Declaration("renamed", "grid", RULES, ("NEW_NAME", "OLD_NAME"), "runs"),
            Declaration("fresh", "grid", RULES, ("FRESH = 3",), "runs"),
            Declaration("on spectra", "primary", RULES, ("LATE = 2",), "spectra"),
            Declaration("no records", "margin", RULES, ("RULE = 1",), "none")]
    got = {r["item"]: r for r in declared.table(repo, made, SETS)}
    first, last = "2026-01-02T00:00:00+00:00", "2026-01-05T12:00:00+00:00"  # run-a by its commit, run-b its own
    assert got["rule"]["declared_date"] == "2026-01-01T00:00:00+00:00"
    assert (got["rule"]["first_record_date"], got["rule"]["last_record_date"], got["rule"]["records"]) == (
        first, last, 2)  # the benchmark under results/bench is no record
    assert got["rule"]["declared_before_data"] is True and got["rule"]["records_before"] == 0
    assert got["late"]["declared_date"] == "2026-01-03T00:00:00+00:00"
    assert got["late"]["declared_before_data"] is False and got["late"]["records_before"] == 1
    assert got["renamed"]["declared_date"] == "2026-01-01T00:00:00+00:00"
    assert got["fresh"]["declared_commit"] is None and got["fresh"]["declared_before_data"] is False
    assert got["fresh"]["records_before"] == 2
    assert got["on spectra"]["declared_before_data"] is True and got["on spectra"]["records"] == 1
    assert got["no records"]["declared_before_data"] is None
    log = git(repo, "log", "--format=%h %cI")
    assert {r["declared_commit"] for r in got.values()} - {None} <= {line.split()[0] for line in log.splitlines()}
    table = declared.markdown(list(got.values()))
    assert "not committed" in table and "no records yet" in table and "1 of 2: declared after" in table

    with pytest.raises(ValueError, match="does not hold"):  # a declaration whose text is gone from its file
        declared.table(repo, [Declaration("gone", "rule", RULES, ("GONE = 4",), "runs")], SETS)
    with pytest.raises(ValueError, match="does not hold"):  # a replaced one whose text is still there
        declared.table(repo, [Declaration("replaced", "rule", RULES, ("LATE = 2",), "runs", current=False)], SETS)

    retrained = {**run, "provenance": {"date": "2026-03-01T00:00:00+00:00",  # retrained: dated when first seen
                                       "retrained_from": {"git_commit": "abc-dirty", "date": first}}}
    commit(repo, "2026-03-01T00:00:00+00:00", **{"results/cpu/run-a.json": retrained})
    again = {r["item"]: r for r in declared.table(repo, made, SETS)}
    assert (again["rule"]["first_record_date"], again["rule"]["last_record_date"]) == (first, last)
    assert again["late"]["records_before"] == 1

    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    with pytest.raises(MissingHistoryError, match="shallow"):
        declared.table(shallow, made, SETS)
    declared.write_markdown(shallow, tmp_path / "declared.md")
    assert (tmp_path / "declared.md").read_text().startswith("*No table in this build:")
