"""The book's one verdict rule, applied to differences paired by seed (same seed, same subset, same initialisation
on both sides), and how a verdict is worded.

- raises: the two-sided 95% Student-t interval of the mean difference lies above 0 -> reproduced, below 0 ->
  contradicted, else inconclusive; lowers: mirrored;
- keeps: equivalence by two one-sided tests at one level: the 90% interval lies inside +-margin -> reproduced,
  wholly outside it (either side) -> contradicted, else inconclusive; the margin is that of the claim's metric
  (equivalence_margin: half the smallest gain the paper's Table 1 reports on that metric). The margins and the 90%
  'contradicted' apply since 2026-12-02 (2c1c076), after the cpu scale's paper-protocol runs and most of its
  validated ones; until then every keeps claim had +-2 points and 'contradicted' read the 95% interval
  (saddle_book.declared dates each declaration beside its records);
- the verdict is printed raw and, within its declared family (catalog.FAMILIES: the same family on every page that
  prints the claim), after Holm's step-down correction (holm_within); a second word says whether our effect is
  smaller than, as large as, or larger than the paper's (size_word, by the same 95% interval);
- fewer than 2 seeds -> not tested (no spread, no interval); a record missing -> not run here;
- beside each t-interval, the exact sign-flip p (sign_flip_p), which assumes no normality: with n seeds it cannot go
  below 2 / 2^n (0.0625 at 5 seeds), so there a 'reproduced' rests on the t-interval's normality, and the words
  say so (sentence)."""
from __future__ import annotations

import math

import pandas as pd

from saddle.checks import check_choice


VERDICTS = ("reproduced", "contradicted", "inconclusive", "not tested", "not run here")


UNTESTED = ("not tested", "not run here")  # one seed (no interval), or no runs: no test was made


KINDS = ("raises", "lowers", "keeps")


KEEP_TOLERANCE = 2.0  # accuracy points


LEVEL = 0.95  # the two-sided Student-t interval of raises / lowers (and of every interval the book prints)


EQUIVALENCE_LEVEL = 0.90  # keeps: the interval of TOST (two one-sided tests at 5%), for reproduced and contradicted


def seeds_phrase(counts) -> str:
    """How many seeds each setting ran on, for prose: '3 seeds', or '1 to 3 seeds' when settings differ."""
    low, high = int(min(counts)), int(max(counts))
    return f"{low if low == high else f'{low} to {high}'} seed{'s' * (high > 1)}"


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
    mean, low, high = interval(diffs, LEVEL)
    if kind == "keeps":
        _, low90, high90 = interval(diffs, EQUIVALENCE_LEVEL)
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


def holm_within(family: str, frame: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Holm's correction over the declared family `family` (catalog.FAMILIES): the one function every page corrects
    a claim through, so that a claim's adjusted p is the same wherever it is printed. `frame` holds that family's
    verdict rows, indexed by claim id or with an 'id' column; a row of a claim outside the family raises (a page
    must not correct over a mix). A claim of the family the frame lacks has no p here and weighs in the correction
    as an untested claim does: not at all (the pages that judge accuracy claims assess the whole family,
    scorecard.assess_family). Adds 'p (Holm)', 'verdict (Holm)' (holm_verdicts), 'family' (its name) and
    'tests in family' (how many of its claims have a p: Holm's m)."""
    from .catalog import FAMILIES  # catalog holds the declarations; it imports nothing of the rule

    if family not in FAMILIES:
        raise ValueError(f"no declared family {family!r}; declared: {', '.join(FAMILIES)}")
    ids = list(frame["id"]) if "id" in frame.columns else list(frame.index)
    foreign = [i for i in ids if i not in FAMILIES[family]]
    if foreign:
        raise ValueError(f"claims {foreign} are not in the declared family {family!r}: Holm's correction runs "
                         "within one declared family")
    corrected = holm_verdicts(frame, alpha) if len(frame) else frame.assign(**{"p (Holm)": [], "verdict (Holm)": []})
    return corrected.assign(family=family, **{"tests in family": int(corrected["p"].notna().sum())})


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


def multiplicity(verdicts: pd.DataFrame, alpha: float = 0.05) -> str:
    """One line on multiple testing: how many claims were tested, how many passed their own 5% test, and how many
    of those survive Holm's correction: within each row's declared family where the rows carry it (holm_within's
    columns; the page may show part of a family, whose other claims still count in m), else over the rows."""
    tested = verdicts[~verdicts["verdict"].isin(UNTESTED)]
    decided = int(tested["verdict"].isin(("reproduced", "contradicted")).sum())
    if "p (Holm)" in tested and "family" in tested:
        significant = tested[tested["p (Holm)"] < alpha].sort_values("p")
        survivors = len(significant)
        sizes = sorted({(f, int(m)) for f, m in zip(tested["family"], tested["tests in family"])})
        where = "within " + "; ".join(f"the declared family \"{f}\" ({m} tests)" for f, m in sizes)
    else:
        survivors = holm_survivors(tested["p"], alpha)
        significant = tested.sort_values("p").head(survivors)
        where = f"for {len(tested)} tests"
    names = "; ".join(f"{c} ({v})" for c, v in significant[["claim", "verdict"]].values)
    return (f"{len(tested)} claims were tested (2 or more seeds) and {decided} reached a decision (reproduced or "
            f"contradicted) at 5% each; after Holm's correction {where}, {survivors} "
            f"{'remains' if survivors == 1 else 'remain'} significant" + (f": {names}." if survivors else "."))


def keeps_rule_text() -> str:
    """How a keeps claim is judged, in words, from the rule's own levels (for prose: no level typed by hand)."""
    level = f"{EQUIVALENCE_LEVEL:.0%}"
    return (f"reproduced when its {level} interval lies inside the margin fixed for its metric, contradicted when "
            f"its {level} interval lies wholly outside it, inconclusive otherwise (two one-sided tests at "
            f"{(1 - EQUIVALENCE_LEVEL) / 2:.0%} each)")


def count(verdicts: pd.DataFrame) -> dict[str, int]:
    """How many claims got each verdict (all five keys, zeros included)."""
    return {v: int((verdicts["verdict"] == v).sum()) for v in VERDICTS}


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
    chapter's family (`family`: its declared name in catalog.FAMILIES, where it has one) with Holm's correction; it
    then shows each verdict in the text as verdict_<key> (`show`: myst_nb's glue), worded by holm_phrase, so that
    no sentence states a verdict Holm's correction changes without saying so."""

    def __init__(self, show=None, family: str | None = None):
        self.rows, self._show, self.family = [], show, family

    def add(self, key: str, row: dict, **extra) -> None:
        """A row judged elsewhere (e.g. mechanism.claims), with extra columns (e.g. the unit of its diffs)."""
        self.rows.append({"key": key, **extra, **row})

    def add_new(self, frame: pd.DataFrame) -> None:
        """The rows of a frame of claims judged elsewhere, indexed by key, that this chapter has not judged yet: a
        claim measured two ways enters the family once, as first judged."""
        for key, row in frame.drop(index=list(self.keys()), errors="ignore").iterrows():
            self.add(key, row.to_dict())

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
        """Every row, indexed by key, with the Holm-adjusted p and verdict within this family: the declared family
        `family` (holm_within, as every other page that prints these claims corrects them), or, where the chapter
        runs at a scale without a declared family, the chapter's claims; the first call also shows each row's
        holm_phrase."""
        rows = pd.DataFrame(self.rows).set_index("key")
        family = holm_within(self.family, rows) if self.family else holm_verdicts(rows)
        if self._show is not None:
            for key, row in family.iterrows():
                self._show(f"verdict_{key}", holm_phrase(row), display=False)
            self._show = None
        return family


def holm_phrase(row) -> str:
    """A family row's verdict, and Holm's where it differs: what prose may state of the claim."""
    return (row["verdict"] if row["verdict (Holm)"] == row["verdict"] else
            f"{row['verdict']} before Holm's correction, {row['verdict (Holm)']} after it")
