"""The paper's claims about accuracy, each with its verdict at a scale, and its tables side by side with ours.

A claim compares a method with its baseline on one metric of one table ('SAM raises CE+DRW's tail accuracy',
Table 1). The paper's side comes from its tables (book/data/paper_results.json), ours from the run records. Every
verdict in the book comes from one rule, `verdict`, applied to differences paired by seed (same seed, same
subset, same initialisation on both sides):

- raises: the two-sided 95% Student-t interval of the mean difference lies above 0 -> reproduced, below 0 ->
  contradicted, else inconclusive; lowers: mirrored;
- keeps: equivalence by two one-sided tests at one level: the 90% interval lies inside +-margin -> reproduced,
  wholly outside it (either side) -> contradicted, else inconclusive; the margin is that of the claim's metric
  (equivalence_margin: half the smallest gain the paper's Table 1 reports on that metric). The margins and the 90%
  'contradicted' apply since 2026-12-02 (2c1c076), after the cpu scale's paper-protocol runs and most of its
  validated ones; until then every keeps claim had +-2 points and 'contradicted' read the 95% interval
  (saddle_book.declared dates each declaration beside its records);
- the verdict is printed raw and, within its declared family (FAMILIES), after Holm's step-down correction
  (holm_verdicts); a second word says whether our effect is smaller than, as large as, or larger than the
  paper's (size_word, by the same 95% interval);
- fewer than 2 seeds -> not tested (no spread, no interval); a record missing -> not run here;
- beside each t-interval, the exact sign-flip p (sign_flip_p), which assumes no normality: with n seeds it cannot go
  below 2 / 2^n (0.0625 at 5 seeds), so there a 'reproduced' rests on the t-interval's normality, and the words
  say so (sentence).

At the cpu scale the data set is Fashion-MNIST-LT, not CIFAR: only differences between methods are compared,
never the absolute accuracies."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from saddle import grid
from saddle.config import REGIME_CANDIDATES
from saddle.checks import check_choice
from saddle.results import paper_results, train_group_accuracy

VERDICTS = ("reproduced", "contradicted", "inconclusive", "not tested", "not run here")
UNTESTED = ("not tested", "not run here")  # one seed (no interval), or no runs: no test was made
KINDS = ("raises", "lowers", "keeps")
KEEP_TOLERANCE = 2.0  # accuracy points
PAPER_DATASET = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


def seeds_phrase(counts) -> str:
    """How many seeds each setting ran on, for prose: '3 seeds', or '1 to 3 seeds' when settings differ."""
    low, high = int(min(counts)), int(max(counts))
    return f"{low if low == high else f'{low} to {high}'} seed{'s' * (high > 1)}"


# ---- The rule: Student-t intervals of paired differences, and the verdict they give. ----

def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularised incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with df degrees of freedom."""
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t (bisection on t_cdf, to 1e-12): t_quantile(0.975, 2) = 4.3027."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        low, high = (mid, high) if t_cdf(mid, df) < p else (low, mid)
        if high - low < 1e-12:
            break
    return (low + high) / 2.0


def differences(ours, base) -> list[float]:
    """ours[i] - base[i], paired by position (the same seed on both sides); NaN/inf refused."""
    ours, base = list(ours), list(base)
    if len(ours) != len(base):
        raise ValueError(f"paired differences need as many values on each side, got {len(ours)} and {len(base)}")
    diffs = [float(a) - float(b) for a, b in zip(ours, base)]
    if not all(math.isfinite(d) for d in diffs):
        raise ValueError(f"differences must be finite, got {diffs}")
    return diffs


def interval(diffs, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the two-sided Student-t interval of the mean of `diffs` (n - 1 degrees of freedom);
    low and high are NaN with fewer than two values."""
    diffs = [float(d) for d in diffs]
    n = len(diffs)
    if n == 0:
        raise ValueError("no differences")
    mean = sum(diffs) / n
    if n < 2:
        return mean, math.nan, math.nan
    se = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1) / n)
    half = t_quantile(0.5 + level / 2.0, n - 1) * se
    return mean, mean - half, mean + half


def paired_interval(ours, base, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of ours - base paired by position (same seed), two-sided Student-t, n - 1 d.o.f."""
    return interval(differences(ours, base), level)


def verdict(diffs, kind: str = "raises", tolerance: float = KEEP_TOLERANCE) -> str:
    """The book's one verdict rule (see the module docstring) on paired differences."""
    check_choice("kind", kind, KINDS)
    diffs = [float(d) for d in diffs]
    if len(diffs) < 2:
        return "not tested"
    mean, low, high = interval(diffs, 0.95)
    if kind == "keeps":
        _, low90, high90 = interval(diffs, 0.90)
        if -tolerance < low90 and high90 < tolerance:
            return "reproduced"
        return "contradicted" if low90 > tolerance or high90 < -tolerance else "inconclusive"
    if kind == "lowers":
        low, high = -high, -low
    return "reproduced" if low > 0 else "contradicted" if high < 0 else "inconclusive"


def p_value(diffs, kind: str = "raises", tolerance: float = KEEP_TOLERANCE) -> float:
    """The test behind `verdict`, so that p < 0.05 exactly when it decides: two-sided paired t-test of 'no
    difference' (raises, lowers); for keeps the smaller of TOST's p (inside +-tolerance: the larger of its two
    one-sided p-values) and the one-sided p of lying beyond the margin on the mean's side. NaN below two values."""
    diffs = [float(d) for d in diffs]
    n = len(diffs)
    if n < 2:
        return math.nan
    mean = sum(diffs) / n
    se = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1) / n)
    if se == 0:
        return 0.0 if (kind != "keeps" and mean != 0) or (kind == "keeps" and abs(mean) != tolerance) else 1.0
    if kind == "keeps":
        inside = max(1.0 - t_cdf((mean + tolerance) / se, n - 1), t_cdf((mean - tolerance) / se, n - 1))
        outside = 1.0 - t_cdf((abs(mean) - tolerance) / se, n - 1)  # one-sided: beyond the margin on mean's side
        return min(inside, outside)
    return 2.0 * (1.0 - t_cdf(abs(mean) / se, n - 1))


SIGN_FLIP_EXACT_UP_TO = 16  # values; above, 2^16 sign vectors drawn with a fixed seed


def sign_flip_p(diffs, kind: str = "raises") -> float:
    """The exact two-sided sign-flip (permutation) p of 'no difference' for paired differences: the share of the 2^n
    sign patterns whose mean is at least as far from 0 as the observed one, under the null that each difference is
    as likely positive as negative (no normality assumed). Above SIGN_FLIP_EXACT_UP_TO values a seeded sample of
    2^16 patterns. NaN for keeps (an equivalence claim) and below two values."""
    import numpy as np
    d = np.asarray([float(x) for x in diffs])
    if kind == "keeps" or len(d) < 2:
        return math.nan
    if len(d) <= SIGN_FLIP_EXACT_UP_TO:
        signs = 1 - 2 * ((np.arange(2 ** len(d))[:, None] >> np.arange(len(d))) & 1)
    else:
        signs = np.random.default_rng(0).choice([-1, 1], size=(2 ** 16, len(d)))
    means = np.abs(signs @ d) / len(d)
    return float(np.mean(means >= abs(d.mean()) - 1e-12))


def sign_flip_floor(n: int) -> float:
    """The smallest two-sided sign-flip p that n paired values can give: 2 / 2^n."""
    return 2.0 / 2 ** n


def holm_adjusted(p_values) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order (NaN stays NaN and is not counted): the i-th
    smallest of m gets max over j <= i of min(1, (m - j) p_(j)), j from 0, so p_adj < alpha exactly when Holm's
    procedure at alpha rejects it."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m, running = len(indexed), 0.0
    adjusted = [math.nan] * len(p_values)
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def holm_verdicts(frame: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The frame (one family's verdict rows) with 'p (Holm)' and 'verdict (Holm)': a decided verdict whose
    adjusted p is not below alpha becomes inconclusive; untested rows keep their word."""
    frame = frame.copy()
    frame["p (Holm)"] = holm_adjusted([float(p) for p in frame["p"]])
    frame["verdict (Holm)"] = [v if v not in ("reproduced", "contradicted") or q < alpha else "inconclusive"
                               for v, q in zip(frame["verdict"], frame["p (Holm)"])]
    return frame


def size_word(paper: float | None, low: float | None, high: float | None) -> str | None:
    """Ours against the paper's effect, by our 95% interval: 'as large as the paper's' when the paper's number lies
    inside it, 'smaller than the paper's' / 'larger than the paper's' (in the direction of the paper's effect)
    when it lies beyond; None without a paper number or an interval."""
    if paper is None or low is None or high is None or any(map(math.isnan, (paper, low, high))):
        return None
    if low <= paper <= high:
        return "as large as the paper's"
    beyond = paper > high if paper >= 0 else paper < low
    return "smaller than the paper's" if beyond else "larger than the paper's"


def holm_survivors(p_values, alpha: float = 0.05) -> int:
    """How many of the tests stay significant after Holm's step-down correction for their number."""
    ps = sorted(p for p in p_values if not math.isnan(p))
    survivors = 0
    for i, p in enumerate(ps):
        if p > alpha / (len(ps) - i):
            break
        survivors += 1
    return survivors


def seeds_needed(diffs, level: float = 0.95, start: int = 2, most: int = 100) -> int | None:
    """How many seeds the observed mean and spread of `diffs` would need for the 95% interval to exclude 0 (None
    if the mean is 0 or more than `most` would be needed): what would move an 'inconclusive'."""
    diffs = [float(d) for d in diffs]
    if len(diffs) < 2:
        return None
    mean = sum(diffs) / len(diffs)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
    if mean == 0:
        return None
    for n in range(max(start, 2), most + 1):
        if t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n) < abs(mean):
            return n
    return None


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
PRIMARY = {"accuracy, validated protocol": (HEADLINE_ID,),
           **{family: ("tail_saddle", "sam_large_rho_tail_min", "lmin_tracks_tail_acc", "negative_in_residual")
              for family in FAMILIES if family.startswith("mechanism") and grid.CIFAR_SCALE not in family},
           f"accuracy, {grid.CIFAR_SCALE}": (HEADLINE_ID,),
           f"mechanism, {grid.CIFAR_SCALE}": ("tail_saddle", "sam_large_rho_tail_min", "sam_ratio")}


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


# Fig. 4 as the paper's text gives it (Sec. 5.2, CIFAR-10-LT, CE+DRW+SAM): tail accuracy about 63 % at rho 0.05 and
# 73 % at rho 0.8; the other points of the figure are not printed. Rho 0 and 0.5 are Table 1's CE+DRW(+SAM).
FIGURE4_PAPER = {0.05: {"tail": 63.0}, 0.8: {"tail": 73.0}}


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


def assess_average(average: Average, scale: str, dataset: str, seeds: dict, records: dict,
                   epoch_rule: str = "final") -> dict:
    """A verdict row for an Average: per seed, the mean of that seed's paired gains over the cells (a seed counts
    only where every cell has both runs), judged by the one rule; the paper's side is the same mean over its
    own cells (Table 8's for CIFAR-100). seeds: table number -> seeds, as for `assess`."""
    by_cell = []
    paper = []
    for table, method, profile, imbalance in average.cells:
        gains = [seed_values(m, scale, dataset, seeds[table], records, average.metric, epoch_rule, profile, imbalance)
                 for m in (f"{method}+SAM", method)]
        by_cell.append({s: gains[0][s] - gains[1][s] for s in set(gains[0]) & set(gains[1])})
        sides = [paper_value(m, table, dataset, average.metric, profile, imbalance) for m in (f"{method}+SAM", method)]
        paper.append(None if None in sides else sides[0] - sides[1])
    seeds_all = set.intersection(*(set(c) for c in by_cell))
    row = claim_row(average.text, {s: sum(c[s] for c in by_cell) / len(by_cell) for s in seeds_all}, "raises",
                    None if None in paper else round(sum(paper) / len(paper), 2))
    return {**row, "table": average.source, "metric": average.metric}


# Table 5's rho on the fixed subset; rho tuned on validation, subsets resampled; and the class-order control: the
# tuned protocol with Fashion-MNIST's classes in their natural order (CE+DRW and CE+DRW+SAM only, grid.order_control)
PROTOCOLS = ("paper", "validated", "control")


def run_config(method: str, scale: str, dataset: str, seed: int, profile: str = "exp", imbalance: float = 100.0,
               rho: float | None = None, protocol: str = "paper", records_root=None, precision: str = "fp32"):
    """The RunConfig a claim reads for one seed: the paper's protocol (grid.method_config), the validated one
    (grid.protocol_config at the tuned rho; None while that rho's tuning is incomplete) or its class-order control
    (the same in the natural class order); `precision`'s runs (bf16 runs are runs of their own)."""
    if protocol == "paper":
        return grid.method_config(method, scale, dataset=dataset, profile=profile, imbalance=imbalance, seed=seed,
                                  rho=rho, precision=precision)
    check_choice("protocol", protocol, PROTOCOLS)
    if profile != "exp" or imbalance != 100.0 or rho is not None:
        return None  # the validated protocol runs Table 1 only
    if "SAM" in method:
        rho = grid.tuned_rho(method, scale, root=records_root, dataset=dataset)
        if rho is None:
            return None
    order = {"class_order": "natural"} if protocol == "control" else {}
    return grid.protocol_config(method, scale, seed=seed, rho=rho, dataset=dataset, precision=precision, **order)


def complete_runs(methods, scale: str, dataset: str, seeds, records: dict, protocol: str = "validated"):
    """(method, seed, record) of every complete run of `methods` on `seeds` among `records` (run id -> record)."""
    for method in methods:
        for seed in seeds:
            config = run_config(method, scale, dataset, seed, protocol=protocol)
            record = records.get(config.run_id) if config else None
            if record and record["status"] == "complete":
                yield method, seed, record


def metric_value(record: dict | None, metric: str, epoch_rule: str = "final") -> float | None:
    """A completed record's test `metric` at the epoch rule `epoch_rule`, or None (missing, diverged, or no such
    epoch: best_val needs a validation split)."""
    if record is None or record.get("status") != "complete":
        return None
    picked = (record.get("metrics") or {}).get(epoch_rule)
    return None if picked is None else picked.get(metric)


def seed_values(method: str, scale: str, dataset: str, seeds, records: dict, metric: str, epoch_rule: str = "final",
                profile: str = "exp", imbalance: float = 100.0, rho: float | None = None,
                protocol: str = "paper", precision: str = "fp32") -> dict[int, float]:
    """seed -> the method's metric, for the seeds that have a completed record (of `precision`'s runs)."""
    values = {}
    for seed in seeds:
        config = run_config(method, scale, dataset, seed, profile, imbalance, rho, protocol, precision=precision)
        value = metric_value(records.get(config.run_id) if config else None, metric, epoch_rule)
        if value is not None:
            values[seed] = value
    return values


def mean_std(values) -> tuple[float, float, int]:
    values = list(values)
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else float("nan")
    return mean, std, len(values)


def paper_table(table, dataset: str):
    """The paper's table for a data set: the imbalance tables are 7 for CIFAR-10 (and the cpu scale), 8 for
    CIFAR-100."""
    return 8 if table == 7 and grid.RHO_COLUMN[dataset] == "cifar100" else table


def paper_value(method: str, table, dataset: str, metric: str, profile: str = "exp",
                imbalance: float = 100.0, rho: float | None = None) -> float | None:
    """A number of the paper's tables (the CIFAR-10 column stands in for the 10-class cpu scale), or of Fig. 4
    (table 'fig4', by rho)."""
    if table == "fig4":
        if rho is None or "SAM" not in method or rho == grid.table5_rho(method, dataset):
            return paper_value(method, 1, dataset, metric, profile, imbalance)
        return FIGURE4_PAPER.get(rho, {}).get(metric) if grid.RHO_COLUMN[dataset] == "cifar10" else None
    if table == "beyond":
        return None  # the paper has no such method
    rows = paper_results(table=paper_table(table, dataset), dataset=PAPER_DATASET[grid.RHO_COLUMN[dataset]],
                              imbalance="LT" if profile == "exp" else "step", beta=int(imbalance),
                              method=method.replace("+", " + "))
    return rows[0]["metrics"].get(metric) if rows else None


def judge(diffs, kind: str, paper: float | None, tolerance: float = KEEP_TOLERANCE) -> dict:
    """The numbers every verdict row shows: ours (mean of the paired differences, 95% interval), n seeds, how many
    seeds agree with the claim (raise / lower / stay within the tolerance), ours/paper, p, and the verdict."""
    mean, low, high = interval(diffs)
    sign = {"raises": lambda d: d > 0, "lowers": lambda d: d < 0, "keeps": lambda d: abs(d) <= tolerance}[kind]
    return {"ours": round(mean, 2), "low": None if math.isnan(low) else round(low, 2),
            "high": None if math.isnan(high) else round(high, 2), "seeds": len(diffs),
            "agree": sum(map(sign, diffs)),
            "ratio": round(mean / paper, 2) if paper not in (None, 0) else None,
            "size": size_word(paper, None if math.isnan(low) else low, None if math.isnan(high) else high)
            if kind != "keeps" else None,
            "margin": tolerance if kind == "keeps" else None,
            "p": p_value(diffs, kind, tolerance), "p (sign-flip)": sign_flip_p(diffs, kind),
            "verdict": verdict(diffs, kind, tolerance),
            "seeds needed": seeds_needed(diffs) if kind != "keeps" else None}


def assess(claim: Claim, scale: str, dataset: str, seeds, records: dict, epoch_rule: str = "final",
           protocol: str = "paper", precision: str = "fp32") -> dict:
    """One row of the scorecard: the paper's difference, ours paired by seed (mean, 95% interval, seeds that
    agree), and the verdict of the one rule. `seeds`: a list, or a dict from table number to list."""
    table = paper_table(claim.table, dataset)
    if isinstance(seeds, dict):
        seeds = seeds[claim.table]
    sides = ((claim.method, claim.rho), (claim.baseline, claim.baseline_rho))
    paper = [paper_value(m, table, dataset, claim.metric, claim.profile, claim.imbalance, rho) for m, rho in sides]
    paper = None if None in paper else round(paper[0] - paper[1], 2)
    row = {"id": claim.id, "claim": claim.text, "table": table, "metric": claim.metric, "kind": claim.kind,
           "paper": paper}
    a, b = (seed_values(m, scale, dataset, seeds, records, claim.metric, epoch_rule, claim.profile, claim.imbalance, rho,
                        protocol, precision) for m, rho in sides)
    paired = sorted(set(a) & set(b))
    if not paired:
        return {**row, "ours": None, "low": None, "high": None, "seeds": 0, "agree": 0, "ratio": None,
                "size": None, "margin": None, "p": math.nan, "p (sign-flip)": math.nan, "verdict": "not run here",
                "seeds needed": None}
    return {**row, **judge([a[s] - b[s] for s in paired], claim.kind, paper, claim_margin(claim))}


def claim_margin(claim: Claim) -> float:
    """A keeps claim's equivalence margin (equivalence_margin of its metric)."""
    return equivalence_margin(claim.metric)


def assess_all(claims, scale: str, dataset: str, seeds, records: dict, epoch_rule: str = "final",
               protocol: str = "paper", precision: str = "fp32") -> pd.DataFrame:
    """The claims' verdict rows, assessed together as one family: each row also carries its Holm-adjusted p and
    verdict within that family (holm_verdicts), which sentence() prints where it differs from the raw one. Both
    sides of every claim are `precision`'s runs."""
    frame = pd.DataFrame([assess(c, scale, dataset, seeds, records, epoch_rule, protocol, precision) for c in claims])
    return holm_verdicts(frame) if len(frame) else frame



def headline_variants(family: pd.DataFrame, scale: str, dataset: str, tuned_rho: float, root=None) -> pd.DataFrame:
    """The headline (SAM raises CE+DRW's tail, validated protocol) at each radius (the tuned one, then
    grid.HEADLINE_RHOS), epoch rule (final, best_val) and seed count (the 5 protocol seeds; 10 where seeds 5-9 are
    recorded), each with its raw verdict and its Holm verdict within `family` (the validated protocol's Table 1
    claims as assess_all gave them, the headline's p replaced by the variant's): how far the headline depends on
    choices a reader could have made otherwise."""
    from saddle.results import find_record

    position = list(family["id"]).index(HEADLINE_ID)
    paper = family["paper"].iloc[position]
    rows = []
    for rho in dict.fromkeys((tuned_rho, *grid.HEADLINE_RHOS)):
        for seeds in (grid.PROTOCOL_SEEDS, grid.PROTOCOL_SEEDS + grid.EXTRA_SEEDS):
            pairs = {s: (find_record(grid.protocol_config("CE+DRW+SAM", scale, seed=s, rho=rho, dataset=dataset), root),
                         find_record(grid.protocol_config("CE+DRW", scale, seed=s, dataset=dataset), root))
                     for s in seeds}
            if len(seeds) > len(grid.PROTOCOL_SEEDS) and not all(a and b for a, b in pairs.values()):
                continue  # ten seeds only where all ten are recorded
            for epoch_rule in ("final", "best_val"):
                diffs = {s: metric_value(a, "tail", epoch_rule) - metric_value(b, "tail", epoch_rule)
                         for s, (a, b) in pairs.items()
                         if metric_value(a, "tail", epoch_rule) is not None and metric_value(b, "tail", epoch_rule) is not None}
                row = claim_row("SAM raises CE+DRW's tail accuracy", diffs, "raises", paper)
                ps = [float(p) for p in family["p"]]
                ps[position] = row["p"]
                adjusted = holm_adjusted(ps)[position]
                decided = row["verdict"] in ("reproduced", "contradicted")
                rows.append({"rho": rho, "epoch": epoch_rule, "seeds": row["seeds"], "ours": row["ours"],
                             "low": row["low"], "high": row["high"], "p": row["p"], "verdict": row["verdict"],
                             "p (Holm)": adjusted,
                             "verdict (Holm)": row["verdict"] if not decided or adjusted < 0.05 else "inconclusive",
                             "validated": rho == tuned_rho})
    return pd.DataFrame(rows)

def multiplicity(verdicts: pd.DataFrame, alpha: float = 0.05) -> str:
    """One line on multiple testing: how many claims were tested, how many passed their own 5% test, and how many
    of those survive Holm's correction for the number tested."""
    tested = verdicts[~verdicts["verdict"].isin(UNTESTED)]
    decided = int(tested["verdict"].isin(("reproduced", "contradicted")).sum())
    survivors = holm_survivors(tested["p"], alpha)
    names = "; ".join(f"{c} ({v})" for c, v in tested.sort_values("p").head(survivors)[["claim", "verdict"]].values)
    return (f"{len(tested)} claims were tested (2 or more seeds) and {decided} reached a decision (reproduced or "
            f"contradicted) at 5% each; after Holm's correction for {len(tested)} tests, {survivors} "
            f"{'remains' if survivors == 1 else 'remain'} significant" + (f": {names}." if survivors else "."))


def side_by_side(methods, scale: str, dataset: str, seeds, records: dict, table: int, metrics=("acc", "head",
                 "mid", "tail"), profile: str = "exp", imbalance: float = 100.0, epoch_rule: str = "final",
                 protocol: str = "paper", rho: float | None = None, precision: str = "fp32") -> pd.DataFrame:
    """A table as the paper prints it, ours (mean +- std over seeds) next to the paper's, one row per method.
    rho: read every SAM method at this radius (paper protocol) instead of Table 5's; the paper column stays its
    own (Table 5's radius). precision: whose runs (one precision per table, never mixed)."""
    rows = []
    for method in methods:
        row = {"method": method}
        for metric in metrics:
            values = seed_values(method, scale, dataset, seeds, records, metric, epoch_rule, profile, imbalance,
                                 grid.sam_rho(method, rho), protocol, precision)
            if not values:
                ours = "not run here"
            else:
                mean, std, n = mean_std(values.values())
                ours = f"{mean:.1f}" + (f" ± {std:.1f}" if n > 1 else "")
            paper = paper_value(method, table, dataset, metric, profile, imbalance)
            row[(metric, "ours")] = ours
            row[(metric, "paper")] = "" if paper is None else f"{paper:.1f}"
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("method")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


# Each table's cells: (table, methods, metrics, profile, imbalances) and the row every other row is read against.
TABLE_LAYOUT = (
    (1, grid.METHODS, ("acc", "head", "mid", "tail"), "exp", (100,)),
    (2, grid.METHODS, ("acc", "head", "tail"), "step", (100,)),
    (4, grid.BASELINES, ("acc", "head", "mid", "tail"), "exp", (100,)),
    (7, ("CE+DRW", "CE+DRW+SAM", "LDAM+DRW", "LDAM+DRW+SAM"), ("acc", "head", "mid", "tail"), "exp", grid.IMBALANCES),
)
REFERENCE = {1: "CE", 2: "CE", 4: "CE+DRW", 7: "CE+DRW"}
NOT_RUN_TABLES = {3: "ImageNet-LT and iNaturalist 2018 (chapter 5: no large-scale run here)",
                  9: "IB loss and PaCo (not implemented here)"}
# The data file keeps the main text's Table 3 (iNaturalist 2018 and ImageNet-LT side by side); the book numbers
# ImageNet-LT's rows as the appendix's Table 6, as chapter 5 does.
APPENDIX_TABLE = {"ImageNet-LT": 6}


def cell_kind(paper_difference: float, keep_below: float = 0.5) -> str:
    """What a table cell claims about its row against the reference row: raises, lowers, or (a paper difference
    under half a point) keeps."""
    return "keeps" if abs(paper_difference) < keep_below else "raises" if paper_difference > 0 else "lowers"


def cells(scale: str, dataset: str, seeds, records: dict, epoch_rule: str = "final", protocol: str = "paper"
          ) -> pd.DataFrame:
    """Every cell of the paper's CIFAR tables beside ours, each judged by the one rule. Off the paper's data (the
    cpu scale) a cell is its row's difference from the table's reference row (CE, or CE+DRW), paired by seed, and
    claims the paper's sign (cell_kind); on the paper's own data a cell claims to stay within 1 point of the
    paper's number. `seeds`: a list, or a dict from table number to list."""
    same_data = dataset in PAPER_DATASET
    rows = []
    for table, methods, metrics, profile, imbalances in TABLE_LAYOUT:
        table_seeds = seeds[table] if isinstance(seeds, dict) else seeds
        for b in imbalances:
            for method in methods:
                for metric in metrics:
                    rows.append(_cell(table, method, metric, profile, b, scale, dataset, table_seeds, records, epoch_rule,
                                      protocol, same_data))
    for table, why in NOT_RUN_TABLES.items():
        for r in paper_results(table=table):
            for metric, value in r["metrics"].items():
                rows.append({"table": APPENDIX_TABLE.get(r["dataset"], table), "data": r["dataset"],
                             "method": r["method"].replace(" + ", "+"), "profile": r["imbalance"],
                             "imbalance": r["beta"], "metric": metric, "paper": value, "ours": None, "std": None,
                             "seeds": 0, "verdict": "not run here"})
    return pd.DataFrame(rows)


def _cell(table, method, metric, profile, b, scale, dataset, seeds, records, epoch_rule, protocol, same_data) -> dict:
    paper = paper_value(method, table, dataset, metric, profile, b)
    paper_ref = paper_value(REFERENCE[table], table, dataset, metric, profile, b)
    values = seed_values(method, scale, dataset, seeds, records, metric, epoch_rule, profile, b, protocol=protocol)
    row = {"table": paper_table(table, dataset), "data": dataset, "method": method, "profile": profile, "imbalance": b,
           "metric": metric, "paper": paper, "ours": None, "std": None, "seeds": 0, "verdict": "not run here"}
    if not values:
        return row
    mean, std, n = mean_std(values.values())
    row.update(ours=round(mean, 2), std=None if n < 2 else round(std, 2), seeds=n)
    if same_data and paper is not None:
        row["verdict"] = verdict([v - paper for v in values.values()], "keeps", tolerance=1.0)
        return row
    if method == REFERENCE[table]:
        row["verdict"] = "reference"
        return row
    claim = _stated_claim(table, method, REFERENCE[table], metric, profile, b)
    if claim is not None:  # one verdict per comparison: the claim's hypothesis, on the same paired seeds
        row["verdict"] = assess(claim, scale, dataset, seeds, records, epoch_rule, protocol)["verdict"]
        return row
    reference = seed_values(REFERENCE[table], scale, dataset, seeds, records, metric, epoch_rule, profile, b,
                            protocol=protocol)
    paired = sorted(set(values) & set(reference))
    if paper is None or paper_ref is None:
        row["verdict"] = "no paper number"
    elif paired:
        row["verdict"] = verdict([values[s] - reference[s] for s in paired], cell_kind(paper - paper_ref))
    return row


def _stated_claim(table, method: str, baseline: str, metric: str, profile: str, imbalance: float) -> Claim | None:
    """The claim (at Table 5's radii) that states this cell's comparison in words, if one does."""
    return next((c for c in CLAIMS if (c.table, c.method, c.baseline, c.metric, c.profile, c.imbalance)
                 == (table, method, baseline, metric, profile, imbalance) and c.rho is None
                 and c.baseline_rho is None), None)


def count(verdicts: pd.DataFrame) -> dict[str, int]:
    """How many claims got each verdict (all five keys, zeros included)."""
    return {v: int((verdicts["verdict"] == v).sum()) for v in VERDICTS}


def protocol_columns(claims, scale: str, dataset: str, columns) -> pd.DataFrame:
    """Each claim's interval and verdict under each column (protocol, epoch rule, records, seeds), side by side:
    one claim read on the paper protocol and on the validated one."""
    frame = pd.concat([assess_all(claims, scale, dataset, seeds, records, rule, protocol)
                       .assign(column=f"{protocol} rho, {rule}") for protocol, rule, records, seeds in columns])
    frame["ours [95% interval]"] = [interval_text(r) if r["ours"] is not None and not pd.isna(r["ours"])
                                    else "not run here" for _, r in frame.iterrows()]
    return frame.pivot_table(index="claim", columns="column", values=["ours [95% interval]", "verdict"],
                             aggfunc="first")


def verdict_changes(before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    """The claims whose verdict differs between two assessments of the same claims (assess_all frames over one
    claim list: two epoch rules, or two radii), each as 'claim (before -> after)'. A claim without an interval
    on either side is left out: 'not run here' and 'not tested' (one seed) are absences, not verdicts that changed."""
    if not before["claim"].reset_index(drop=True).equals(after["claim"].reset_index(drop=True)):
        raise ValueError("verdict_changes compares two assessments of the same claims, in the same order")
    pairs = zip(before["claim"], before["verdict"], after["verdict"])
    return [f"{claim} ({a} -> {b})" for claim, a, b in pairs if a != b and not {a, b} & set(UNTESTED)]


ORDER_CONTROL_TEXTS = ("control_calibrated", "control_natural", "calibrated_drw_tail", "control_drw_tail")


def order_control(scale: str, dataset: str | None = None) -> tuple[list[dict], dict]:
    """The class-order control of the headline (SAM raises CE+DRW's tail), on CONTROL_SEEDS: the calibrated
    order's validated runs beside the natural order's. Returns the two claim rows and the texts chapter 1 glues
    (the interval of each, CE+DRW's mean tail accuracy in each order, the natural order's run count). A
    Fashion-MNIST experiment: for other data or the paper scale, no rows and texts that say so."""
    if scale == "paper" or dataset not in (None, "fashion-mnist"):
        return [], {key: "not run at this scale" for key in ORDER_CONTROL_TEXTS} | {"control_runs": 0}
    headline = sam_claim("CE+DRW", 1, "tail")
    seeds = list(grid.CONTROL_SEEDS)
    by_order = {"calibrated": ("validated", grid.records(grid.table1_validated(scale, seeds))),
                "natural": ("control", grid.records(grid.order_control(scale)))}  # order -> (protocol, records)
    rows = [assess(headline, scale, "fashion-mnist", seeds, records, "final", protocol)
            | {"claim": f"{headline.text}, {order} class order"} for order, (protocol, records) in by_order.items()]
    texts = {f"control_{order}": interval_text(row) if row["ours"] is not None else "not run here"
             for order, row in zip(by_order, rows)}
    for key, (protocol, records) in zip(("calibrated_drw_tail", "control_drw_tail"), by_order.values()):
        tails = seed_values("CE+DRW", scale, "fashion-mnist", seeds, records, "tail", protocol=protocol)
        texts[key] = (f"{sum(tails.values()) / len(tails):.1f}% over {seeds_phrase([len(tails)])}" if tails
                      else "not run here")
    texts["control_runs"] = sum(r is not None for r in by_order["natural"][1].values())
    return rows, texts


def rho_sweep_summary(ours: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, dict]:
    """rho_sweep's own rows by data set and radius: mean accuracies and fit, the spread over seeds, the seed count;
    and the texts chapter 6 quotes (the seeds run, the tail fit by radius on `dataset`)."""
    if not len(ours):
        return pd.DataFrame(), {"seeds_run": "no runs", "fit_tail": "not run here"}
    per_rho = ours.groupby(["data", "rho"])
    mean = per_rho[["acc", "head", "tail", "train acc", "train tail"]].mean()
    table = mean.join(per_rho[["acc", "tail"]].std().add_suffix(" std")).assign(seeds=per_rho.size())
    fit = mean.xs(dataset)["train tail"] if dataset in mean.index else None
    return table, {"seeds_run": seeds_phrase(per_rho.size()),
                   "fit_tail": "; ".join(f"{v:.0f} % at rho {r:g}" for r, v in fit.items()) if fit is not None
                   else "not run here"}


def rho_sweep(sweep, rhos, dataset_names, records: dict, epoch_rule: str) -> pd.DataFrame:
    """Fig. 4's points: accuracy (all, head, tail) and training fit of every completed CE+DRW(+SAM) run of the
    sweep, by rho and seed ('ours'), with the paper's Fig. 4 values beside them ('paper')."""
    rows = []
    for name in dataset_names:
        for c in grid.unique(sweep):
            r = records[c.run_id]
            if c.dataset == name and r is not None and r["status"] == "complete":
                m = r["metrics"][epoch_rule]
                rows.append({"data": name, "rho": c.radius, "seed": c.seed, "source": "ours",
                             **{k: m[k] for k in ("acc", "head", "tail")},
                             "train acc": r["metrics"]["train_final"]["acc"],
                             "train tail": train_group_accuracy(r, "tail")})
        for rho in rhos:
            method = "CE+DRW+SAM" if rho else "CE+DRW"
            paper = {k: paper_value(method, "fig4", name, k, rho=rho or None) for k in ("acc", "head", "tail")}
            if any(v is not None for v in paper.values()):
                rows.append({"data": name, "rho": rho, "source": "paper", **paper})
    return pd.DataFrame(rows)


def imbalance_gains(methods, scale: str, dataset_names, imbalances, seeds, records: dict, epoch_rule: str
                    ) -> pd.DataFrame:
    """Tables 7-8 as gains: SAM's gain in accuracy and tail accuracy for CE+DRW and LDAM+DRW at each imbalance,
    ours (with its interval) beside the paper's, one row each; `line` names the plotted line so that the paper's
    CIFAR numbers are never labelled with our data set."""
    rows = []
    for name in dataset_names:
        paper_data = PAPER_DATASET[grid.RHO_COLUMN[name]]
        for b in imbalances:
            for method in [m for m in ("CE+DRW", "LDAM+DRW") if m in methods and f"{m}+SAM" in methods]:
                for metric in ("acc", "tail"):
                    row = assess(sam_claim(method, 7, metric, imbalance=b), scale, name, seeds, records, epoch_rule)
                    for source in ("ours", "paper"):
                        if row[source] is not None:
                            ours = source == "ours"
                            rows.append({"imbalance": b, "method": f"{method} ({name})", "metric": metric,
                                         "source": source, "gain": row[source],
                                         "low": row["low"] if ours else None, "high": row["high"] if ours else None,
                                         "line": f"{method} (ours, {name})" if ours
                                         else f"{method} (paper, {paper_data})"})
    return pd.DataFrame(rows)


def interval_text(row) -> str:
    """'+3.8 [-2.4, +10.1]' (95% interval), '+3.8 (one seed, no interval)', or 'no runs yet'."""
    if pd.isna(row["ours"]):
        return "no runs yet"
    if pd.isna(row["low"]):
        return f"{row['ours']:+.1f} (one seed, no interval)"
    return f"{row['ours']:+.1f} [{row['low']:+.1f}, {row['high']:+.1f}]"


def side_of_zero(row) -> str:
    """Where a claim row's 95% interval lies: 'lies above zero', 'lies below zero' or 'covers zero'."""
    return ("lies above zero" if (row["low"] or 0) > 0 else "lies below zero" if (row["high"] or 0) < 0
            else "covers zero")


def sentence(row) -> str:
    """A verdict row as one line of prose (markdown): the claim, the paper's difference, ours with its interval,
    how many seeds agree, the verdict, and what would move an inconclusive one."""
    paper = "the paper prints no number" if pd.isna(row["paper"]) else f"paper {row['paper']:+.1f}"
    where = {"fig4": "Fig. 4", "beyond": "beyond the paper", "abstract": "the abstract", "App. F": "App. F"}.get(
        row["table"], f"Table {row['table']}")
    data = f", {row['data']}" if "data" in row else ""
    if pd.isna(row["ours"]):
        return f"- **{row['claim']}** ({where}{data}): {paper}; no run at this scale yet: *{row['verdict']}*."
    value = (f"{row['ours']:+.1f} on one seed (no interval)" if pd.isna(row["low"]) else
             f"{interval_text(row)} (95% interval) over {seeds_phrase([row['seeds']])}")
    ours = f"ours {value}, {row['agree']} of {row['seeds']} agreeing"
    more = ""
    if row["verdict"] == "inconclusive" and not pd.isna(row.get("seeds needed")):
        against = (row["kind"] == "raises" and row["ours"] < 0) or (row["kind"] == "lowers" and row["ours"] > 0)
        more = (f" At the observed mean and spread, about {int(row['seeds needed'])} seeds would make the interval "
                "exclude zero" + (", on the side against the claim." if against else "."))
    size = f", {row['size']}" if isinstance(row.get("size"), str) else ""
    holm = row.get("verdict (Holm)")
    adjusted = (f" After Holm's correction within its family: *{holm}* (adjusted p {row['p (Holm)']:.2g})."
                if isinstance(holm, str) and holm != row["verdict"] else "")
    return (f"- **{row['claim']}** ({where}{data}): {paper}; {ours}: *{row['verdict']}*{size}.{adjusted}"
            f"{sign_flip_words(row)}{more}")


def sign_flip_words(row) -> str:
    """The exact sign-flip p beside the t-test's, in a sentence; where the seeds are too few for it to reach 0.05,
    it says the verdict rests on the t-interval's normality. '' where there is no such p (keeps, one seed)."""
    flip = row.get("p (sign-flip)")
    if flip is None or flip != flip:
        return ""
    words = f" Exact sign-flip p {flip:.2g} (t-test p {row['p']:.2g})"
    floor = sign_flip_floor(int(row["seeds"]))
    if floor > 0.05:
        return words + (f": with {int(row['seeds'])} seeds it cannot go below {floor:.3g}, so a verdict other than "
                        "inconclusive rests on the t-interval's normality.")
    return words + "."


def claim_row(text: str, diffs_by_seed: dict, kind: str, paper: float | None = None,
              tolerance: float = KEEP_TOLERANCE) -> dict:
    """A verdict row for a claim a chapter measures itself (spectra, Theorem 2's checks): `diffs_by_seed` maps each
    seed that has the measurement to its paired difference; judged by the same rule as the accuracy claims."""
    diffs = [diffs_by_seed[s] for s in sorted(diffs_by_seed)]
    if not diffs:
        return {"claim": text, "kind": kind, "paper": paper, "ours": None, "low": None, "high": None, "seeds": 0,
                "agree": 0, "ratio": None, "size": None, "margin": None, "p": math.nan, "p (sign-flip)": math.nan,
                "verdict": "not run here",
                "seeds needed": None}
    return {"claim": text, "kind": kind, "paper": paper, **judge(diffs, kind, paper, tolerance)}


class Verdicts:
    """The claims one chapter judges, in the order it judges them, each by the one rule (claim_row). frame() is the
    chapter's family with Holm's correction; it then shows each verdict in the text as verdict_<key> (`show`:
    myst_nb's glue), worded by holm_phrase, so that no sentence states a verdict Holm's correction changes without
    saying so."""

    def __init__(self, show=None):
        self.rows, self._show = [], show

    def add(self, key: str, row: dict, **extra) -> None:
        """A row judged elsewhere (e.g. mechanism.claims), with extra columns (e.g. the unit of its diffs)."""
        self.rows.append({"key": key, **extra, **row})

    def judge(self, key: str, text: str, diffs, kind: str, tolerance: float = KEEP_TOLERANCE, **extra) -> None:
        """Judge a claim: `diffs` maps each seed to its paired difference, or lists differences over other units
        (points, radii, minibatches, trials). Nothing is returned, so a cell that ends with it prints nothing."""
        by_unit = diffs if isinstance(diffs, dict) else dict(enumerate(diffs))
        self.add(key, claim_row(text, by_unit, kind, tolerance=tolerance), **extra)

    def judge_all(self, claims) -> None:
        """Judge (key, text, diffs, kind) tuples in order."""
        for key, text, diffs, kind in claims:
            self.judge(key, text, diffs, kind)

    def keys(self) -> set[str]:
        return {row["key"] for row in self.rows}

    def frame(self) -> pd.DataFrame:
        """Every row, indexed by key, with the Holm-adjusted p and verdict within this family; the first call also
        shows each row's holm_phrase."""
        family = holm_verdicts(pd.DataFrame(self.rows).set_index("key"))
        if self._show is not None:
            for key, row in family.iterrows():
                self._show(f"verdict_{key}", holm_phrase(row), display=False)
            self._show = None
        return family


def holm_phrase(row) -> str:
    """A family row's verdict, and Holm's where it differs: what prose may state of the claim."""
    return (row["verdict"] if row["verdict (Holm)"] == row["verdict"] else
            f"{row['verdict']} before Holm's correction, {row['verdict (Holm)']} after it")
