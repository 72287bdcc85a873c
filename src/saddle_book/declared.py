"""When each of the book's statistical declarations was written, beside the dates of the records it judges.

A verdict means more when its family, primary claims, margins and rule were fixed before the data it judges, and
a comment saying so is not evidence. This module asks git instead: the declaring commit of each declaration is the
first commit that added its defining text (as `git log -S` finds it, here in one `git log -p` pass over the files
that hold them), and the data's dates are those of the committed records it judges (the record's own provenance
date, or its original's where it was retrained or recomputed at a clean commit; else the commit that added the
file). The appendix "How this book was measured" prints the table, built from
the repository's history when the book is built (scripts/build_book.py).

The table needs the full history: a shallow clone would date every declaration at its cut, so it is refused, and
the book then says why it has no table."""
from __future__ import annotations

import datetime
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

CATALOG, RULE = "src/saddle_book/catalog.py", "src/saddle_book/rule.py"
GRID, CONFIG, DATA = (f"src/saddle/{name}.py" for name in ("grid", "config", "data"))
# A file's earlier paths (git mv, or a module split out of another): what it declares was first added under them.
EARLIER_PATHS = {path: ("src/saddle/scorecard.py", "src/saddle_book/scorecard.py") for path in (CATALOG, RULE)}
KINDS = ("family", "primary", "margin", "rule", "grid")
NOT_SCALES = ("bench",)  # results/bench holds benchmarks, not runs


class MissingHistoryError(RuntimeError):
    """No full git history to date the declarations by: git missing, not a checkout, or a shallow clone."""


class Record(NamedTuple):
    path: str  # relative to the repository root
    scale: str  # the record's folder under results/
    kind: str  # 'run' (results/<scale>/*.json), or an analysis: 'spectra' (hessian/), 'split' (curvature/: the
    # Gauss-Newton/residual split) or 'theory' (theory/: Theorem 2's checks)
    config: dict  # a run's configuration ({} for an analysis)
    date: datetime.datetime


ANALYSES = {"hessian": "spectra", "curvature": "split", "theory": "theory"}
FOLLOWUP_OPTIMIZERS = ("imbsam", "ccsam")


def _runs(scale: str, keep: Callable[[dict], bool] = lambda c: True) -> Callable[[Record], bool]:
    return lambda r: r.kind == "run" and r.scale == scale and keep(r.config)


def _analyses(scale: str, *kinds: str) -> Callable[[Record], bool]:
    return lambda r: r.kind in kinds and r.scale == scale


def _fp32(c: dict) -> bool:  # the accuracy claims read float32 runs; bf16 runs are the `precision, cpu` family's
    return c.get("precision", "fp32") == "fp32"


def _validated(c: dict) -> bool:  # grid.protocol_config: a validation split, the calibrated class order
    return c.get("val_per_class", 0) > 0 and c.get("class_order", "calibrated") == "calibrated" \
        and c["optimizer"] in ("sgd", "sam") and _fp32(c)


def _headline_sam(c: dict) -> bool:  # CE+DRW+SAM
    return c["loss"] == "ce" and c["drw"] and c["optimizer"] == "sam"


def _paper(c: dict) -> bool:  # grid.method_config: no validation split
    return c.get("val_per_class", 0) == 0 and c["optimizer"] not in FOLLOWUP_OPTIMIZERS and _fp32(c)


def _natural(c: dict) -> bool:
    return c.get("class_order") == "natural" and _fp32(c)


def _pilot(c: dict) -> bool:  # grid.regime_pilot: CE+DRW and CE+DRW+SAM at rho 0.5 on seed 10
    return c["seed"] == 10 and c["rho"] in (0.0, 0.5)


# The records each declaration judges: a name (as the table prints it) -> which committed records. Chosen as the
# records the declaration's claims or runs read: an accuracy family the training runs of its protocol at the cpu
# scale (the book's committed scale; a run's config tells the protocol: a validation split or not, the class
# order, the optimizer), a mechanism family the spectra and G/R splits of its scale, a Theorem 2 family its scale's
# checks, a grid the runs it lists (by their config: scale, method, seed, rho), a margin or a keeps rule the
# accuracy runs (the keeps claims are accuracy claims), the other rules every record.
RECORD_SETS: dict[str, Callable[[Record], bool]] = {
    "cpu runs, paper protocol": _runs("cpu", _paper),
    "cpu runs, validated protocol": _runs("cpu", _validated),
    "cpu runs, natural class order": _runs("cpu", _natural),
    "cpu runs of the three accuracy protocols": _runs("cpu", lambda c: _paper(c) or _validated(c) or _natural(c)),
    "cpu runs, ImbSAM and CC-SAM": _runs("cpu", lambda c: c["optimizer"] in FOLLOWUP_OPTIMIZERS),
    "cpu runs, validated tuning (seeds 10, 11)": _runs("cpu", lambda c: _validated(c) and c["seed"] >= 10),
    "cpu runs, validated, seeds 0-4": _runs("cpu", lambda c: _validated(c) and c["seed"] <= 4),
    "cpu runs, validated CE+DRW+SAM at rho 0.5, seeds 0-4": _runs(
        "cpu", lambda c: _validated(c) and _headline_sam(c) and c["seed"] <= 4 and c["rho"] == 0.5),
    "cpu runs, validated, seeds 5-9": _runs("cpu", lambda c: _validated(c) and 5 <= c["seed"] <= 9),
    "cpu runs, validated CE+DRW+SAM at rho 0.2 or 0.5, seeds 0-4": _runs(
        "cpu", lambda c: _validated(c) and _headline_sam(c) and c["seed"] <= 4 and c["rho"] in (0.2, 0.5)),
    **{f"{scale} spectra and G/R splits": _analyses(scale, "spectra", "split")
       for scale in ("cpu", "r32-n500", "r8-n5000", "cifar10-r32")},
    "spectra at cpu, r32-n500 and r8-n5000": lambda r: r.kind == "spectra" and r.scale in ("cpu", "r32-n500",
                                                                                           "r8-n5000"),
    "cpu Theorem 2 checks": _analyses("cpu", "theory"),
    "r8-n5000 Theorem 2 checks": _analyses("r8-n5000", "theory"),
    "regime pilot runs (seed 10)": lambda r: any(_runs(scale, _pilot)(r) for scale in ("r32-n500", "r8-n5000")),
    "r8-n5000 runs, CE+DRW+SAM tuning (seed 10)": _runs("r8-n5000", lambda c: c["seed"] == 10 and _headline_sam(c)),
    "r8-n5000 runs, seeds 0-4": _runs("r8-n5000", lambda c: c["seed"] <= 4),
    "cifar10-r32 runs": _runs("cifar10-r32"),
    "cpu runs in bf16": _runs("cpu", lambda c: c.get("precision") == "bf16"),
    "every record": lambda r: True,
}


@dataclass(frozen=True)
class Declaration:
    item: str  # as the table prints it (markdown)
    kind: str  # one of KINDS
    path: str  # the file that declares it
    texts: tuple[str, ...]  # its defining text, one line's worth; former spellings after the current one
    judges: str  # a RECORD_SETS name
    current: bool = True  # False: replaced since (its text is gone from the file)


MECHANISM_PRIMARY = '("tail_saddle", "sam_large_rho_tail_min", "lmin_tracks_tail_acc")'
# until issue 48 the book's own hypothesis stood among the paper's primary mechanism claims
MECHANISM_PRIMARY_BEFORE = '("tail_saddle", "sam_large_rho_tail_min", "lmin_tracks_tail_acc", "negative_in_residual")'
REGIME_FAMILY = '**{f"mechanism, {scale}": MECHANISM_IDS for scale in REGIME_CANDIDATES}'
ACCURACY = "cpu runs of the three accuracy protocols"
CIFAR_RUNS, CIFAR_ANALYSES = "cifar10-r32 runs", "cifar10-r32 spectra and G/R splits"
DECLARATIONS = (
    Declaration("`accuracy, paper protocol`", "family", CATALOG, ('"accuracy, paper protocol": tuple(',),
                "cpu runs, paper protocol"),
    Declaration("`accuracy, validated protocol`", "family", CATALOG, ('"accuracy, validated protocol": TABLE1',),
                "cpu runs, validated protocol"),
    Declaration("`accuracy, class-order control`", "family", CATALOG, ('"accuracy, class-order control": tuple(',),
                "cpu runs, natural class order"),
    Declaration("`mechanism, cpu`", "family", CATALOG, ('"mechanism, cpu": MECHANISM_IDS',),
                "cpu spectra and G/R splits"),
    *(Declaration(f"`mechanism, {scale}`", "family", CATALOG, (REGIME_FAMILY,), f"{scale} spectra and G/R splits")
      for scale in ("r32-n500", "r8-n5000")),
    Declaration("`tail_stationary` joins the mechanism families", "family", CATALOG, ('"tail_stationary")',),
                "spectra at cpu, r32-n500 and r8-n5000"),
    Declaration("`theorem 2`", "family", CATALOG, ('"theorem 2": ("check1"',), "cpu Theorem 2 checks"),
    Declaration("`theorem 2, r8-n5000`", "family", CATALOG, ('f"theorem 2, {grid.REGIME_SCALE}"',),
                "r8-n5000 Theorem 2 checks"),
    Declaration("`after the paper`", "family", CATALOG, ('"after the paper": tuple(',),
                "cpu runs, ImbSAM and CC-SAM"),
    Declaration("`accuracy, cifar10-r32`", "family", CATALOG, ('FAMILIES[f"accuracy, {grid.CIFAR_SCALE}"]',),
                CIFAR_RUNS),
    Declaration("`mechanism, cifar10-r32`", "family", CATALOG, ('FAMILIES[f"mechanism, {grid.CIFAR_SCALE}"]',),
                CIFAR_ANALYSES),
    Declaration("`accuracy, validated protocol`: the headline (SAM raises CE+DRW's tail)", "primary", CATALOG,
                ('PRIMARY = {"accuracy, validated protocol": (HEADLINE_ID,)',), "cpu runs, validated protocol"),
    *(Declaration(f"`mechanism, {scale}`: tail_saddle, sam_large_rho_tail_min, lmin_tracks_tail_acc, "
                  "negative_in_residual (the book's own hypothesis among the paper's; replaced for issue 48)",
                  "primary", CATALOG, (MECHANISM_PRIMARY_BEFORE,), f"{scale} spectra and G/R splits", current=False)
      for scale in ("cpu", "r32-n500", "r8-n5000")),
    *(Declaration(f"`mechanism, {scale}`: tail_saddle, sam_large_rho_tail_min, lmin_tracks_tail_acc (the paper's "
                  "mechanism only)", "primary", CATALOG, (MECHANISM_PRIMARY,), f"{scale} spectra and G/R splits")
      for scale in ("cpu", "r32-n500", "r8-n5000")),
    Declaration("`accuracy, cifar10-r32`: the headline", "primary", CATALOG,
                ('f"accuracy, {grid.CIFAR_SCALE}": (HEADLINE_ID,)',), CIFAR_RUNS),
    Declaration("`mechanism, cifar10-r32`: tail_saddle, sam_large_rho_tail_min, sam_ratio", "primary", CATALOG,
                ('f"mechanism, {grid.CIFAR_SCALE}": ("tail_saddle", "sam_large_rho_tail_min", "sam_ratio")',),
                CIFAR_ANALYSES),
    Declaration("±2 points for every keeps claim (`KEEP_TOLERANCE`); the paper's claims use per-metric margins "
                "since 2c1c076", "margin", RULE, ("KEEP_TOLERANCE = 2.0",), ACCURACY),
    Declaration("per metric: half the smallest gain of the paper's Table 1 (`equivalence_margin`: acc 0.7, "
                "head 1.25, tail 3.85)", "margin", CATALOG, ("def equivalence_margin(",), ACCURACY),
    Declaration("the keeps claims judged at their metric's margin (`claim_margin`)", "margin", CATALOG,
                ("def claim_margin(",), ACCURACY),
    Declaration("raises / lowers: the 95% interval of the paired differences lies above / below 0", "rule",
                RULE, ('return "reproduced" if low > 0 else "contradicted" if high < 0 else "inconclusive"',),
                "every record"),
    Declaration("keeps, reproduced: the 90% interval lies inside ±margin", "rule", RULE,
                ("if -tolerance < low90 and high90 < tolerance:",), ACCURACY),
    Declaration("keeps, contradicted: the 95% interval lies wholly outside ±margin (replaced in 2c1c076)", "rule",
                RULE, ('return "contradicted" if low > tolerance or high < -tolerance else "inconclusive"',),
                ACCURACY, current=False),
    Declaration("keeps, contradicted: the 90% interval lies wholly outside ±margin", "rule", RULE,
                ('return "contradicted" if low90 > tolerance or high90 < -tolerance else "inconclusive"',), ACCURACY),
    Declaration("Holm's correction within each declared family (`holm_verdicts`)", "rule", RULE,
                ("def holm_verdicts(",), "every record"),
    Declaration("the paper's grids: table1, table2, table4, tables7-8, figure4", "grid", GRID, ('"table1": table1',),
                "cpu runs, paper protocol"),
    Declaration("Fashion-MNIST's calibrated class order (`data.FASHION_MNIST_ORDER`)", "grid", DATA,
                ("FASHION_MNIST_ORDER = (1, 9, 7, 5, 3, 8, 0, 4, 2, 6)",), "cpu runs, paper protocol"),
    Declaration("tune: the radius rule `select_rho` and its grid", "grid", GRID, ("def select_rho(",),
                "cpu runs, validated tuning (seeds 10, 11)"),
    Declaration("table1-validated (first named table1-tuned)", "grid", GRID,
                ('"table1-validated": table1_validated', '"table1-tuned":'), "cpu runs, validated, seeds 0-4"),
    Declaration("order-control: Fashion-MNIST's natural class order", "grid", GRID, ('"order-control": order_control',),
                "cpu runs, natural class order"),
    Declaration("followups: ImbSAM and CC-SAM", "grid", GRID, ('"followups": followups',),
                "cpu runs, ImbSAM and CC-SAM"),
    Declaration("mechanism-cpu", "grid", GRID, ('"mechanism-cpu": mechanism_cpu',),
                "cpu runs, validated CE+DRW+SAM at rho 0.5, seeds 0-4"),
    Declaration("ten-seeds", "grid", GRID, ('"ten-seeds": ten_seeds',), "cpu runs, validated, seeds 5-9"),
    Declaration("headline-radii", "grid", GRID, ('"headline-radii": headline_radii',),
                "cpu runs, validated CE+DRW+SAM at rho 0.2 or 0.5, seeds 0-4"),
    Declaration("the regime candidates (`config.REGIME_CANDIDATES`)", "grid", CONFIG,
                ('REGIME_CANDIDATES = ("r32-n500", "r8-n5000")',), "regime pilot runs (seed 10)"),
    Declaration("regime-pilot and its rule (`REGIME_RULE`)", "grid", GRID,
                ('REGIME_RULE = {"seed": 10, "rho": 0.5, "sgd_tail_fit": 95.0, "sam_tail_fit": 90.0}',),
                "regime pilot runs (seed 10)"),
    Declaration("regime-tune (its rho 0.5 run is the pilot's)", "grid", GRID, ('"regime-tune": regime_tune',),
                "r8-n5000 runs, CE+DRW+SAM tuning (seed 10)"),
    Declaration("mechanism-regime", "grid", GRID, ('"mechanism-regime": mechanism_regime',),
                "r8-n5000 runs, seeds 0-4"),
    Declaration("cifar10-headline, cifar10-ldam, cifar10-table1, cifar10-radii", "grid", GRID,
                ('"cifar10-headline": cifar_headline',), CIFAR_RUNS),
    Declaration("the CIFAR analyses (`CIFAR_ANALYSES`)", "grid", GRID, ("CIFAR_ANALYSES = {",), CIFAR_ANALYSES),
    Declaration("bf16-twins: CE+DRW and CE+DRW+SAM (rho 0.5) in bf16", "grid", GRID,
                ('"cifar10-radii": cifar_radii, "bf16-twins": bf16_twins}',), "cpu runs in bf16"),
    *(Declaration(f"`the paper's radius, {scale} (added after its data)`", "family", CATALOG,
                  ('AFTER_DATA_IDS = ("sam_large_rho_ratio", "large_rho_tail_acc", "large_rho_acc")',),
                  f"{scale} spectra and G/R splits") for scale in ("cpu", "r8-n5000")),
    Declaration("`precision, cpu`", "family", CATALOG, ('FAMILIES["precision, cpu"] = PRECISION_IDS',),
                "cpu runs in bf16"),
    Declaration("`PRECISION_LAMBDA_MARGIN`: bf16 against fp32 keeps the tail's lambda_min within 1.0 (overall "
                "and tail accuracy at the equivalence margins)", "margin", CATALOG, ("PRECISION_LAMBDA_MARGIN = 1.0",),
                "cpu runs in bf16"),
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def parse_date(text: str) -> datetime.datetime:
    """An ISO date as an aware UTC datetime (one without an offset is taken as UTC)."""
    date = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (date if date.tzinfo else date.replace(tzinfo=datetime.timezone.utc)).astimezone(datetime.timezone.utc)


def first_added(root: Path, wanted: dict[str, set[str]]) -> dict[tuple[str, str], tuple[str, datetime.datetime]]:
    """(path, text) -> (commit, commit date) of the first commit, oldest first, that added a line containing `text`
    to `path` (`wanted`: path -> texts), the answer of `git log -S<text> --reverse` for a text within one line, in a
    single pass over the history of those files."""
    now: dict[str, list[str]] = {path: [path] for path in wanted}  # a path in history -> the paths it is now
    for path in wanted:
        for old in EARLIER_PATHS.get(path, ()):
            now.setdefault(old, []).append(path)
    log = git(root, "log", "--reverse", "-p", "-U0", "--no-color", "--no-ext-diff", "--no-renames", "--src-prefix=a/",
              "--dst-prefix=b/", "--format=%x00%H %cI", "--", *now)
    found, commit, paths = {}, None, []
    for line in log.splitlines():
        if line.startswith("\x00"):
            sha, date = line[1:].split(" ")
            commit = (sha, parse_date(date))
        elif line.startswith("+++ "):
            paths = now.get(line[6:], []) if line.startswith("+++ b/") else []
        elif line.startswith("+"):
            for path in paths:
                for text in wanted[path]:
                    if text in line and (path, text) not in found:
                        found[(path, text)] = commit
    return found


def committed_records(root: Path) -> list[Record]:
    """The records committed under results/<scale>/ (as the working tree holds them; one deleted there is left out),
    each dated by its provenance (a run retrained or an analysis recomputed at a clean commit by its original's: its
    data was seen then), else by the commit that added it (one `git log` pass, made only when a record has no date)."""
    paths = git(root, "ls-tree", "-r", "-z", "--name-only", "HEAD", "--", "results").split("\0")
    found = []
    for path in paths:
        parts = path.split("/")
        if not path.endswith(".json") or len(parts) not in (3, 4) or parts[1] in NOT_SCALES \
                or not (root / path).exists():
            continue
        kind = "run" if len(parts) == 3 else ANALYSES.get(parts[2])
        if kind is None:
            continue
        record = json.loads((root / path).read_text())
        provenance = record.get("provenance") or {}
        first = provenance.get("retrained_from") or provenance.get("recomputed_from") or {}  # when first seen
        found.append((path, parts[1], kind, record.get("config") or {}, first.get("date") if first else
                      provenance.get("date")))  # an original without a date: the commit that added the file
    undated = [path for path, *_, date in found if not date]
    added = added_dates(root) if undated else {}
    return [Record(path, scale, kind, config, parse_date(date) if date else added[path])
            for path, scale, kind, config, date in found]


def added_dates(root: Path) -> dict[str, datetime.datetime]:
    """path -> the commit date of the latest commit that added it, for every file added under results/."""
    dates, date = {}, None
    for line in git(root, "log", "--diff-filter=A", "--no-renames", "--name-only", "--format=%x00%cI", "--",
                    "results").splitlines():
        if line.startswith("\x00"):
            date = parse_date(line[1:])
        elif line:
            dates.setdefault(line, date)
    return dates


def check_history(root: Path) -> None:
    try:
        shallow = git(root, "rev-parse", "--is-shallow-repository").strip() == "true"
    except (OSError, subprocess.CalledProcessError) as exc:
        raise MissingHistoryError(f"git cannot read a history at {root}") from exc
    if shallow:
        raise MissingHistoryError(f"{root} is a shallow clone, which cannot date the declarations (git fetch "
                                  "--unshallow)")


def check_texts(root: Path, declarations) -> None:
    """Each current declaration's text is in its file and each replaced one's is not: a reworded declaration must
    be reworded here too, or the table would date a line that no longer says it."""
    stale = [f"{d.item} ({d.path}: {d.texts[0]!r})" for d in declarations
             if (d.texts[0] in (root / d.path).read_text()) != d.current]
    if stale:
        raise ValueError("declared.DECLARATIONS names text its file does not hold as stated: " + "; ".join(stale))


def table(root, declarations=DECLARATIONS, record_sets=RECORD_SETS) -> list[dict]:
    """One row per declaration: the commit and date that declared it, the first and last date of the records it
    judges and how many came before it, and whether it was declared before all of them (None: no records yet).
    A declaration not yet committed is dated now."""
    root = Path(root)
    check_history(root)
    check_texts(root, declarations)
    wanted: dict[str, set[str]] = {}
    for d in declarations:
        wanted.setdefault(d.path, set()).update(d.texts)
    added = first_added(root, wanted)
    records = committed_records(root)
    rows = []
    for d in declarations:
        commits = [added[(d.path, t)] for t in d.texts if (d.path, t) in added]
        commit, date = min(commits, key=lambda c: c[1]) if commits else (None, None)
        dates = sorted(r.date for r in records if record_sets[d.judges](r))
        declared = date or datetime.datetime.now(datetime.timezone.utc)
        rows.append({"item": d.item, "kind": d.kind, "declared_commit": commit and commit[:7],
                     "declared_date": date and date.isoformat(), "judges": d.judges,
                     "records": len(dates), "records_before": sum(x < declared for x in dates),
                     "first_record_date": dates[0].isoformat() if dates else None,
                     "last_record_date": dates[-1].isoformat() if dates else None,
                     "declared_before_data": (declared < dates[0]) if dates else None})
    return rows


def _minute(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else ""


def markdown(rows) -> str:
    """The rows as a markdown table (dates in UTC, to the minute)."""
    lines = ["| declaration | kind | declared in | on | records it judges | first record | last record | "
             "records before it |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        before = ("no records yet" if r["declared_before_data"] is None else "none: **declared before its data**"
                  if r["declared_before_data"] else f"{r['records_before']} of {r['records']}: declared after")
        lines.append(f"| {r['item']} | {r['kind']} | {r['declared_commit'] or 'not committed'} | "
                     f"{_minute(r['declared_date'])} | {r['judges']} ({r['records']}) | "
                     f"{_minute(r['first_record_date'])} | {_minute(r['last_record_date'])} | {before} |")
    return "\n".join(lines) + "\n"


def write_markdown(root, target) -> None:
    """The table of this repository's declarations, built from its history, written to `target` for the book; without
    the history, a note that says why the table is missing."""
    root, target = Path(root), Path(target)
    try:
        rows = table(root)
    except MissingHistoryError as exc:
        text = f"*No table in this build: {exc}.*\n"
    else:
        head = git(root, "rev-parse", "--short", "HEAD").strip()
        text = markdown(rows) + f"\nBuilt from the history up to commit {head}.\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
