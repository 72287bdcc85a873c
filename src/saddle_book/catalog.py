"""The claims the book judges, as data: each with its id, table, kind and margin, the families Holm's correction
runs within, the primary claims and the book's own hypotheses (saddle_book.declared dates each declaration from
git beside the records it judges)."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace


from saddle import grid
from saddle.config import REGIME_CANDIDATES
from saddle.paths import ROOT

PAPER_RESULTS = ROOT / "book" / "data" / "paper_results.json"


def paper_results(**match) -> list[dict]:
    """Rows of the paper's tables (book/data/paper_results.json) whose fields equal `match`."""
    rows = json.loads(PAPER_RESULTS.read_text())["results"]
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


PAPER_DATASET = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


@dataclass(frozen=True)
class Claim:
    id: str
    text: str  # the claim in our words
    table: int | str  # the paper's table it rests on ('fig4': Fig. 4, as Sec. 5.2 states it)
    method: str
    baseline: str
    metric: str = "acc"  # acc, head, mid or tail
    kind: str = "raises"  # 'raises' / 'lowers': method above / below baseline; 'keeps': within claim_margin
    profile: str = "exp"
    imbalance: float = 100.0
    rho: float | None = None  # SAM's radius for `method` (None: Table 5's)
    baseline_rho: float | None = None


def sam_claim(method: str, table: int, metric: str = "acc", profile: str = "exp", imbalance: float = 100.0,
              kind: str = "raises") -> Claim:
    """'SAM raises (or keeps) <metric> of <method>': <method>+SAM against <method>, at Table 5's rho."""
    words = {"acc": "overall", "head": "head", "mid": "mid", "tail": "tail"}[metric]
    what = "keeps" if kind == "keeps" else "raises"
    where = f"{profile} profile, imbalance {imbalance:g}"
    return Claim(f"t{table}-{method.lower()}-sam-{metric}-{profile}-{imbalance:g}",
                 f"SAM {what} the {words} accuracy of {method} ({where})", table, f"{method}+SAM", method, metric,
                 kind, profile, imbalance)


# Sec. 5.1 and App. F: what SAM does to each method's accuracy (Tables 1, 2, 7, 8) and Table 4's comparison.
CLAIMS = (
    [sam_claim("CE+DRW", 1, m) for m in ("acc", "tail", "mid")] + [sam_claim("CE+DRW", 1, "head", kind="keeps")]
    + [sam_claim(m, 1, k) for m in ("LDAM+DRW", "VS") for k in ("acc", "tail")]
    + [Claim("t1-ce-sam-tail", "Without re-weighting, SAM leaves the tail accuracy about where it was "
             "(CE+SAM against CE)", 1,
             "CE+SAM", "CE", "tail", "keeps")]
    + [sam_claim(m, 2, k, profile="step") for m in ("CE+DRW", "LDAM+DRW", "VS") for k in ("acc", "tail")]
    + [sam_claim(m, 7, k, imbalance=b) for b in grid.IMBALANCES if b != 100  # imbalance 100 is Table 1
       for m in ("CE+DRW", "LDAM+DRW") for k in ("acc", "tail")]
    + [Claim(f"t4-{o.lower()}-tail", f"{o} raises CE+DRW's tail accuracy", 4, f"CE+DRW+{o}", "CE+DRW", "tail")
       for o in ("PGD", "LPF-SGD")]
    + [Claim(f"t4-sam-beats-{o.lower()}", f"CE+DRW+SAM beats CE+DRW+{o} overall", 4, "CE+DRW+SAM",
             f"CE+DRW+{o}") for o in ("PGD", "LPF-SGD")]
    + [Claim("f4-tail-rises", "Raising rho from 0.05 to 0.8 raises CE+DRW+SAM's tail accuracy", "fig4",
             "CE+DRW+SAM", "CE+DRW+SAM", "tail", rho=0.8, baseline_rho=0.05),
       Claim("f4-default-rho", "SAM's default rho 0.05 gives no real gain over SGD (CE+DRW)", "fig4", "CE+DRW+SAM",
             "CE+DRW", "acc", "keeps", rho=0.05),
       Claim("f4-large-rho-head", "A very large rho (0.8 against 0.5) lowers the head accuracy", "fig4",
             "CE+DRW+SAM", "CE+DRW+SAM", "head", "lowers", rho=0.8, baseline_rho=0.5)]
)


# Beyond the paper (chapter 8): the SAM variants that came after it, against CE+DRW+SAM on the validated protocol.
# Not counted among the paper's claims.
BEYOND_CLAIMS = tuple(
    Claim(f"b-{m.split('+')[-1].lower()}-{metric}", f"{m.split('+')[-1]} beats SAM on CE+DRW's {words} accuracy",
          "beyond", m, "CE+DRW+SAM", metric)
    for m in ("CE+DRW+ImbSAM", "CE+DRW+CC-SAM") for metric, words in (("tail", "tail"), ("acc", "overall")))


# ---- The declarations: families, primary claims, equivalence margins. ----
# Written on 2026-12-02 (997a9f0), after the runs and spectra they judge at cpu (every paper-protocol run, the
# 5-seed headline pair, most cpu spectra), before the regime scale's; the CIFAR ones below before any CIFAR run.
# saddle_book.declared dates each from git beside its records (the appendix "How this book was measured" prints it).
# Holm's correction runs within each family; a verdict is printed raw and, where they differ, family-adjusted.
# Accuracy families are the Claim ids above under one protocol; the others are the keys chapters 2, 3 and 8 give
# their claims (chapter 2's mechanism claims: one family per scale).
TABLE1_IDS = tuple(c.id for c in CLAIMS if c.table == 1)


MECHANISM_IDS = ("tail_saddle", "sam_ratio", "sam_flatter", "sam_tail_max", "sam_tail_min", "average_hides",
                 "drw_drives", "sam_lower_throughout", "rho_raises", "ce_tail_saddle", "sam_shrinks_all",
                 "ldam_tail_saddle", "ldam_sam_raises", "lmin_tracks_tail_acc", "negative_in_residual",
                 "sam_large_rho_tail_min",
                 # added on 2026-12-04 after the cpu spectra that measure it (with their gradient norms) were recorded;
                 # the regime scale's spectra came after it
                 "tail_stationary")


FAMILIES = {
    "accuracy, paper protocol": tuple(c.id for c in CLAIMS),
    "accuracy, validated protocol": TABLE1_IDS,
    "accuracy, class-order control": tuple(i for i in TABLE1_IDS if i.startswith("t1-ce+drw-")),
    "mechanism, cpu": MECHANISM_IDS,
    **{f"mechanism, {scale}": MECHANISM_IDS for scale in REGIME_CANDIDATES},
    "theorem 2": ("check1", "check2_close", "check2_far", "check3_regime", "check4"),
    # declared on 2026-12-04 (night), before its run: check 3 on the regime scale's network, read by chapter 3 at cpu
    f"theorem 2, {grid.REGIME_SCALE}": ("check3_regime",),
    "after the paper": tuple(c.id for c in BEYOND_CLAIMS),
}


# CIFAR-10-LT (JPEG copy), ResNet-32, the paper's protocol (grid.CIFAR_SCALE): declared on 2026-12-06, before any of
# its runs trained. Accuracy: Table 1's claims on the methods run there, at the final epoch (the best *test* epoch,
# the official code's report, is shown beside them as optimistic and judged by nothing). Mechanism: one family of its
# own, each claim on every seed that has both runs' analyses, paired by seed, by `verdict`:
# - tail_saddle: the tail group's |lambda_min/lambda_max| minus the head group's (CE+DRW), raises (paper: Fig. 2);
# - tail_stationary: the tail group's mean class gradient norm minus the head group's (CE+DRW), lowers;
# - sam_large_rho_tail_min: SAM (rho 0.5) minus CE+DRW in the tail group's lambda_min, raises (Fig. 3);
# - sam_ratio: the same difference in the tail group's |lambda_min/lambda_max|, lowers (Fig. 3B);
# - regime_fit: SAM (rho 0.5)'s tail training accuracy at the last epoch minus grid.REGIME_RULE's 90 %, raises (the
#   regime question: whether SAM at the paper's radius fits the tail's training images here);
# - negative_in_residual: the book's own hypothesis, not the paper's: per seed and per arm (CE+DRW, SAM 0.5) the rank
#   correlation over the three tail classes of |lambda_min(R)| with the class's training loss, the two arms averaged,
#   raises. Kept out of every count of claims for or against the paper.
CIFAR_ACCURACY_IDS = tuple(c.id for c in CLAIMS if c.table == 1)


CIFAR_MECHANISM_IDS = ("tail_saddle", "tail_stationary", "sam_large_rho_tail_min", "sam_ratio", "regime_fit",
                       "negative_in_residual")


OWN_HYPOTHESES = ("negative_in_residual",)  # the book's, never counted as the paper's


# bf16 against fp32 (grid.bf16_twins), declared on 2026-12-06 before any bf16 run: for each of grid.PRECISION_RUNS,
# the bf16 run minus its fp32 twin on the same seed, at the final epoch, judged as 'keeps' (equivalence, TOST at 90%)
# on overall accuracy (margin equivalence_margin("acc")), tail accuracy (equivalence_margin("tail")) and the tail
# group's lambda_min at the last epoch (margin PRECISION_LAMBDA_MARGIN). One family, Holm within it.
PRECISION_LAMBDA_MARGIN = 1.0  # Hessian eigenvalue units: below the smallest SAM effect on the tail's lambda_min


# that chapter 2 judges (cpu, rho 0.5: +1.26), so a precision inside it cannot make or unmake that claim
PRECISION_METRICS = ("acc", "tail", "tail_lambda_min")


PRECISION_IDS = tuple(f"bf16-{method.lower()}-{metric}" for method, _ in grid.PRECISION_RUNS
                      for metric in PRECISION_METRICS)


FAMILIES["precision, cpu"] = PRECISION_IDS


# Added after their data (2026-12-06, chapter 2's "Is the saddle story right?"): SAM at the paper's radius against
# CE+DRW on the tail's |lambda_min/lambda_max| (the G/R split's extremes) and on tail and overall accuracy, a family of
# their own per scale (Holm within the three), never part of a declared family.
AFTER_DATA_IDS = ("sam_large_rho_ratio", "large_rho_tail_acc", "large_rho_acc")


for _scale in ("cpu", grid.REGIME_SCALE):
    FAMILIES[f"the paper's radius, {_scale} (added after its data)"] = AFTER_DATA_IDS


FAMILIES[f"accuracy, {grid.CIFAR_SCALE}"] = CIFAR_ACCURACY_IDS


FAMILIES[f"mechanism, {grid.CIFAR_SCALE}"] = CIFAR_MECHANISM_IDS


# The primary claims: the accuracy headline (validated protocol) and the mechanism as the paper tells it.
HEADLINE_ID = "t1-ce+drw-sam-tail-exp-100"


# The mechanism families' primary claims are the paper's mechanism only: negative_in_residual (OWN_HYPOTHESES), the
# book's own hypothesis, was listed among them from 997a9f0 until issue 48 and is no claim of the paper's.
PRIMARY = {"accuracy, validated protocol": (HEADLINE_ID,),
           **{family: ("tail_saddle", "sam_large_rho_tail_min", "lmin_tracks_tail_acc")
              for family in FAMILIES if family.startswith("mechanism") and grid.CIFAR_SCALE not in family},
           f"accuracy, {grid.CIFAR_SCALE}": (HEADLINE_ID,),
           f"mechanism, {grid.CIFAR_SCALE}": ("tail_saddle", "sam_large_rho_tail_min", "sam_ratio")}


# ---- Which declared family a claim is corrected within: a property of the claim and of where it is read, the same
# on every page that prints it (rule.holm_within runs the correction). ----
CLAIMS_BY_ID = {c.id: c for c in (*CLAIMS, *BEYOND_CLAIMS)}


ACCURACY_FAMILIES = {"paper": "accuracy, paper protocol", "validated": "accuracy, validated protocol",
                     "control": "accuracy, class-order control"}  # scorecard.PROTOCOLS -> the family at cpu and smoke


def accuracy_family(claim_id: str, scale: str, protocol: str = "paper") -> str:
    """The declared family an accuracy claim (CLAIMS, BEYOND_CLAIMS) read at `scale` under `protocol` is corrected
    within: the methods after the paper's in `after the paper`; at grid.CIFAR_SCALE, `accuracy, cifar10-r32`; else
    the protocol's family (ACCURACY_FAMILIES: every claim of the paper's tables under the paper protocol, Table 1's
    under the validated one and its class-order control). A claim outside that family raises: it has no declared
    family there, so no page may correct it over one of its own making."""
    if claim_id in FAMILIES["after the paper"]:
        family = "after the paper"
    elif scale == grid.CIFAR_SCALE:
        family = f"accuracy, {grid.CIFAR_SCALE}"
    elif protocol in ACCURACY_FAMILIES:
        family = ACCURACY_FAMILIES[protocol]
    else:
        raise ValueError(f"unknown protocol {protocol!r}; accepted: {', '.join(ACCURACY_FAMILIES)}")
    if claim_id not in FAMILIES[family]:
        raise ValueError(f"claim {claim_id!r} is not in the declared family {family!r} (scale {scale}, protocol "
                         f"{protocol}): it has no family to be corrected within there")
    return family


def family_claims(family: str) -> list[Claim]:
    """The Claims of an accuracy family, in its declared order."""
    return [CLAIMS_BY_ID[i] for i in FAMILIES[family]]


def mechanism_family(scale: str, protocol: str = "validated") -> str | None:
    """The declared mechanism family of chapter 2's claims at `scale` (read on the validated protocol's runs, as
    declared), or None where none is declared (smoke, paper, or the paper protocol's runs): there the chapter's
    claims are a family of their own."""
    name = f"mechanism, {scale}"
    return name if protocol == "validated" and name in FAMILIES and scale != grid.CIFAR_SCALE else None


def equivalence_margin(metric: str) -> float:
    """The margin of a 'keeps' / 'no real gain' claim on `metric`: half the smallest gain from SAM that the paper's
    Table 1 (CIFAR-10-LT, the cpu scale's column) reports on that metric, counting changes of at least one point
    (smaller ones the paper itself treats as no change). acc 0.7 (CE's +1.4), head 1.25 (CE's +2.5), tail 3.85
    (VS's +7.7): an effect the paper calls a gain cannot hide inside the margin. Declared on 2026-12-02 (997a9f0)
    and applied from 2c1c076 (replacing one +-2 margin for every metric), after the cpu accuracy runs it judges."""
    gains = []
    for method in ("CE", "CE+DRW", "LDAM+DRW", "VS"):
        sides = [paper_results(table=1, dataset="CIFAR-10", imbalance="LT", beta=100,
                                    method=m.replace("+", " + "))[0]["metrics"][metric]
                 for m in (f"{method}+SAM", method)]
        gains.append(sides[0] - sides[1])
    return round(min(g for g in gains if g >= 1.0) / 2, 2)


@dataclass(frozen=True)
class Average:
    """A claim the paper makes about an average of its table cells (the abstract; App. F): SAM's gain (method+SAM
    minus method) averaged over cells (table, method, profile, imbalance). Not counted among the claims above:
    its cells are counted there already."""
    id: str
    text: str
    source: str  # where the paper states it: 'abstract' or 'App. F'
    metric: str
    cells: tuple  # of (table, method, profile, imbalance)


AVERAGES = tuple(
    [Average(f"appf-{metric}", f"SAM raises the {words} accuracy of CE+DRW and LDAM+DRW, averaged over imbalance "
             "10, 50, 100 and 200", "App. F", metric,
             tuple((7, m, "exp", float(b)) for m in ("CE+DRW", "LDAM+DRW") for b in grid.IMBALANCES))
     for metric, words in (("acc", "overall"), ("tail", "tail"))]
    + [Average(f"abstract-vs-{metric}", f"SAM raises the {words} accuracy of VS, averaged over the exponential and "
               "step profiles (imbalance 100)", "abstract", metric,
               ((1, "VS", "exp", 100.0), (2, "VS", "step", 100.0)))
       for metric, words in (("tail", "tail"), ("acc", "overall"))])


CHAPTER_TABLES = {1: "table1", 2: "table2", 7: "tables7-8"}  # a paper table -> the chapter-4 section that runs it


def claims_for(tables, methods) -> list[Claim]:
    """The claims of chapter 4's `tables` (its section names) whose method and baseline are both in `methods`."""
    return [c for c in CLAIMS if CHAPTER_TABLES.get(c.table) in tables and c.method in methods
            and c.baseline in methods]


def averages_for(tables, methods) -> list[Average]:
    """The paper's averages whose every cell is in chapter 4's `tables` with both the method and its SAM."""
    return [a for a in AVERAGES if all(CHAPTER_TABLES.get(t) in tables and {m, f"{m}+SAM"} <= set(methods)
                                       for t, m, _, _ in a.cells)]


def claims_at_rho(claims, rho: float) -> list[Claim]:
    """`claims` re-read with SAM at a radius of one's own (chapter 4's -p rho), the radius named in the text."""
    return [replace(c, rho=rho, text=f"{c.text}, SAM at rho {rho:g}") for c in claims]


def claim_margin(claim: Claim) -> float:
    """A keeps claim's equivalence margin (equivalence_margin of its metric)."""
    return equivalence_margin(claim.metric)


def margins_text(metrics=("acc", "head", "tail")) -> str:
    """The keeps claims' margins in words, from equivalence_margin: '0.7 points overall, 1.25 head, 3.85 tail'."""
    words = {"acc": "overall", "head": "head", "mid": "mid", "tail": "tail"}
    parts = [f"{equivalence_margin(m):g} {words[m]}" for m in metrics]
    return f"{parts[0].replace(' ', ' points ', 1)}" + "".join(f", {p}" for p in parts[1:])
