"""Chapters 1 and 3's reading of Theorem 2's checks (saddle.theorem2 computes them): tables, verdicts and the
numbers their prose quotes."""
from __future__ import annotations

import numpy as np
import pandas as pd

from saddle.theorem2 import SaddleToy, escape_steps, toy_escape_step, toy_trajectory


def unnormalised_errors(check: dict) -> list[float]:
    """Relative error of unnormalised SAM's measured ratio against the theorem at each radius of a network check,
    relative to max(prediction, 1) (1 is SGD's own ratio)."""
    return [(row["measured"] - row["predicted"]) / max(row["predicted"], 1) for row in check["table"]
            if row["sam"] == "unnormalised"]


def holds_up_to(check: dict, tolerance: float = 0.15) -> str:
    """The largest rho up to which unnormalised SAM's measured ratio stays within `tolerance` times
    max(prediction, 1), plus two standard errors, of the theorem."""
    good = None
    for row in (x for x in check["table"] if x["sam"] == "unnormalised"):
        if abs(row["measured"] - row["predicted"]) > tolerance * max(row["predicted"], 1) + 2 * row["stderr"]:
            break
        good = row["rho"]
    return "no radius tried" if good is None else f"rho = {good}"


def replacement_error(check: dict) -> float:
    """Mean |H_z term - H term| over mean |H term|: how much replacing the minibatch Hessian H_z by H changes the
    theorem's second-order term, over a network check's minibatches."""
    p = check["projections"]
    return float(np.abs(p["hz_term"] - p["h_term"]).mean() / np.abs(p["h_term"]).mean())


# ---- What chapters 1 and 3 show of the checks: their tables and the numbers their prose quotes. ----

def quadratic_errors(check1: list[dict]) -> list[float]:
    """Check 1's relative errors (measured - predicted) / predicted in the exact setting (same batch, unnormalised):
    the identity holds sample by sample there, so these are rounding errors."""
    return [(r["measured"] - r["predicted"]) / max(r["predicted"], 1e-12) for r in check1
            if r["same_batch"] and not r["normalized"]]


def quadratic_texts(check1: list[dict]) -> dict:
    """The numbers chapter 3 quotes from check 1: points in the exact setting, the worst relative error there, and
    the measured ratio with a fresh batch at rho lambda = -1 (where the theorem predicts 0)."""
    errors = quadratic_errors(check1)
    fresh = [r for r in check1 if not r["same_batch"] and r["rho"] * r["lam"] == -1.0]
    return {"check1_points": len(errors), "check1_worst": f"{max(abs(e) for e in errors):.1e}",
            "check1_fresh": f"{fresh[0]['measured']:.2f}" if fresh else "n/a"}


def _ratio_cells(row: dict) -> dict:
    """A ratio row's measured value with its standard error, the theorem's and the Taylor-only prediction, in
    three significant digits (the ratios span 1 to 1e5)."""
    taylor = row.get("taylor_with_Hz")
    return {"rho": row["rho"], "SAM": row["sam"], "measured ± s.e.": f"{row['measured']:.3g} ± {row['stderr']:.2g}",
            "Theorem 2": f"{row['predicted']:.3g}", "Taylor only (H_z)": "" if taylor is None else f"{taylor:.3g}"}


def network_rows(check2: dict) -> pd.DataFrame:
    """Check 2's ratios at both points (name -> network_check result), one row per point, radius and SAM variant."""
    return pd.DataFrame([{"point": name.split(" (")[0], **_ratio_cells(row)}
                         for name, result in check2.items() for row in result["table"]])


def network_texts(close: dict, far: dict) -> dict:
    """The numbers chapter 3 quotes from check 2, close to the saddle and farther away."""
    texts = {}
    for key, check in (("close", close), ("far", far)):
        texts |= {f"check2_lam_{key}": f"{check['lambda_min']:.2f}", f"check2_holds_{key}": holds_up_to(check),
                  f"check2_repl_{key}": f"{100 * replacement_error(check):.0f}%"}
    return texts


def trained_directions(check3: dict) -> pd.DataFrame:
    """Check 3's directions: per loss giving v, its lambda_min and the optimised loss's curvature q = v'Hv along v."""
    return pd.DataFrame([{"loss giving v": name, "lambda_min": d["lambda_min"],
                          "q = v'Hv (optimised)": d["optimised_curvature_along_v"]}
                         for name, d in check3["directions"].items()]).set_index("loss giving v")


def trained_rows(check3: dict) -> pd.DataFrame:
    """Check 3's ratios: one row per direction, radius and SAM variant, with -2/rho beside (the regime bound)."""
    return pd.DataFrame([{"loss giving v": name, **_ratio_cells(row), "-2/rho": -2 / row["rho"]}
                         for name, d in check3["directions"].items() for row in d["table"]])


def regime_gaps(check3: dict, rho: float) -> list[float]:
    """Per minibatch z, lambda_min + 2 ||g_z|| / rho of the optimised loss: negative where normalised SAM at `rho`
    (step rho / ||g_z|| times the gradient) is in the theorem's regime lambda_min < -2 ||g_z|| / rho."""
    lam = check3["directions"]["optimised"]["lambda_min"]
    return [lam + 2 * n / rho for n in check3.get("minibatch_gradient_norms") or []]


def regime_claim(rho: float) -> str:
    """Check 3's claim, as judged at every scale."""
    return f"the optimised loss is in the regime lambda_min < -2 ||g_z|| / rho (normalised SAM, rho {rho:g})"


def regime_row(check3: dict | None, rho: float) -> dict | None:
    """Check 3's regime claim judged by the one rule over the record's minibatches; None where the record is missing
    or keeps no minibatch gradient norms."""
    from .rule import claim_row
    gaps = regime_gaps(check3, rho) if check3 is not None else []
    return claim_row(regime_claim(rho), dict(enumerate(gaps)), "lowers") if gaps else None


def check3_elsewhere_verdict(check3: dict | None, rho: float) -> str:
    """Check 3's verdict at another scale, for the scorecard's table: the rule's word, or why there is none."""
    if check3 is None:
        return "not computed"
    row = regime_row(check3, rho)
    return row["verdict"] if row is not None else "not judged (no minibatch gradient norms kept)"


def check3_elsewhere(check3: dict | None, rho: float, scale: str, command: str) -> str:
    """A sentence on check 3 at another scale, read from its record: the optimised loss's lambda_min, the median
    minibatch gradient norm, the bound they give and the verdict (by the one rule; the check at each scale is a
    family of its own, catalog.FAMILIES); `command` computes it where it is missing."""
    from .rule import UNTESTED
    if check3 is None:
        return f"Check 3 on the {scale} scale's network is not computed yet: `{command}` computes it."
    lam = check3["directions"]["optimised"]["lambda_min"]
    opening = f"On the {scale} scale's CE+DRW network (seed 0, last epoch) the optimised loss has lambda_min {lam:.2f}"
    row = regime_row(check3, rho)
    if row is None:  # a record from before the minibatch gradient norms were kept
        return opening + ", and its record keeps no minibatch gradient norms, so the regime is not judged there."
    norm = float(np.median(check3["minibatch_gradient_norms"]))
    spread = (f"{row['ours']:+.3g} over one minibatch, no interval" if row["verdict"] in UNTESTED else
              f"{row['ours']:+.3g}, interval [{row['low']:+.3g}, {row['high']:+.3g}], over {row['seeds']} minibatches")
    return (f"{opening} and a median minibatch gradient norm of {norm:.3g}, which puts normalised SAM's bound at rho "
            f"{rho:g} at {-2 * norm / rho:.3g}. Whether this loss is in the regime: {row['verdict']} there (the gap "
            f"lambda_min + 2 ||g_z|| / rho averages {spread}).")


def check3_run(check3: dict, scale: str) -> str:
    """The trained network of check 3 in words, for the chapter: its data and scale, its length, and whether a fresh
    clone can recompute the check (the run's snapshot at that epoch committed)."""
    from saddle.checkpoints import snapshot_name
    from saddle.results import results_dir
    from .notebook import scale_words
    committed = (results_dir() / scale / "checkpoints" / check3["run_id"] / snapshot_name(check3["epoch"])).exists()
    return (f"trained for {check3['epoch']} epochs on {scale_words(scale)}, seed 0, with a validation split held "
            "out; " +
            ("its last snapshot is committed, so a fresh clone can recompute this check" if committed else
             "its snapshot is not committed, so the check needs the run trained here first"))


def trained_texts(check3: dict, rhos) -> dict:
    """The numbers chapter 3 quotes from check 3 on the trained network, at the largest of `rhos`."""
    optimised, rho = check3["directions"]["optimised"], max(rhos)
    unnormalised = {row["rho"]: row for row in optimised["table"] if row["sam"] == "unnormalised"}[rho]
    tail = {k: d for k, d in check3["directions"].items() if k != "optimised"}
    steepest = min(tail, key=lambda k: tail[k]["lambda_min"])
    norms = check3.get("minibatch_gradient_norms")
    return {"check3_lam": f"{optimised['lambda_min']:.2f}", "check3_bound": f"{-2 / rho:.2f}",
            "check3_regime": "is" if any(optimised["lambda_min"] < -2 / r for r in rhos) else "is not",
            "check3_rho": rho, "check3_measured": f"{unnormalised['measured']:.3g}",
            "check3_predicted": f"{unnormalised['predicted']:.3g}",
            "check3_taylor": f"{unnormalised['taylor_with_Hz']:.3g}", "check3_tail": steepest,
            "check3_tail_lam": f"{tail[steepest]['lambda_min']:.2f}",
            "check3_tail_q": f"{tail[steepest]['optimised_curvature_along_v']:.3g}",
            "check3_grad_norm": f"{np.median(norms):.3g}" if norms else "not recorded",
            "check3_eff_bound": f"{-2 * np.median(norms) / rho:.3g}" if norms else "not recorded"}


def escape_table(toy: SaddleToy, rhos, seeds, trials: int, max_steps: int) -> tuple[pd.DataFrame, dict]:
    """Check 4: median escape steps and the share of trials still trapped, for unnormalised and normalised SAM at
    each radius, every seed's trials pooled; and the steps themselves by ('sgd', 0.0) or (method, rho)."""
    def pooled(method, rho=0.0):
        return np.concatenate([escape_steps(toy, method, rho, trials=trials, max_steps=max_steps, seed=s)
                               for s in seeds])
    steps = {("sgd", 0.0): pooled("sgd")} | {(m, r): pooled(m, r) for m in ("sam", "sam_normalized") for r in rhos}
    rows = [{"method": "unnormalised SAM" if m == "sam" else "normalised SAM", "rho": r,
             "median_steps": float(np.median(s)), "trapped": float(np.isinf(s).mean())}
            for (m, r), s in steps.items() if m != "sgd"]
    return pd.DataFrame(rows), steps


def censored_differences(steps, baseline, max_steps: int) -> list[float]:
    """Trial-by-trial step differences against `baseline` (same seeds); a trial still at the saddle counts as
    max_steps, so a trapped trial is a long one rather than a missing one."""
    return (np.minimum(steps, max_steps) - np.minimum(baseline, max_steps)).tolist()


def escape_texts(escape: pd.DataFrame, sgd_median: float, max_steps: int) -> dict:
    """The numbers chapter 3 quotes from check 4: SGD's median, unnormalised SAM's slow and trapped radii, and the
    radii at which normalised SAM escapes faster than SGD."""
    unnormalised = escape[escape["method"] == "unnormalised SAM"]
    normalised = escape[escape["method"] == "normalised SAM"]
    free = unnormalised[unnormalised["trapped"] == 0]
    return {"check4_sgd": f"{sgd_median:.0f}", "check4_max": max_steps,
            "check4_unnorm_verdict": "never escapes faster" if (unnormalised["median_steps"] >= sgd_median).all()
            else "escapes faster for some radii",
            "check4_slow": ", ".join(f"{m:.0f} at rho {r}" for r, m in zip(free["rho"], free["median_steps"]))
            or "none",
            "check4_trapped": ", ".join(str(r) for r in unnormalised[unnormalised["trapped"] == 1]["rho"]) or "none",
            "check4_norm_fast": ", ".join(f"rho {r} ({m:.0f} steps)" for r, m in zip(normalised["rho"],
                                                                                    normalised["median_steps"])
                                          if m < sgd_median) or "no radius tried"}


def toy_paths(toy: SaddleToy, start, lr: float, steps: int, rhos) -> dict:
    """Chapter 1's drawn paths: gradient descent and normalised SAM at each of `rhos`, from `start`."""
    return {"gradient descent": toy_trajectory(toy, start, "sgd", lr=lr, steps=steps)} | {
        f"SAM, $\\rho$ = {r}": toy_trajectory(toy, start, "sam_normalized", r, lr, steps) for r in rhos}


def toy_texts(toy: SaddleToy, paths: dict, start, lr: float, steps: int, rhos) -> dict:
    """The numbers chapter 1 quotes about the toy and where each drawn path escapes."""
    def when(step):
        return f"at step {step:.0f}" if np.isfinite(step) else f"not within {steps} steps"
    escape = [toy_escape_step(toy, path) for path in paths.values()]  # gradient descent, then each radius
    return {"toy_def": f"a = {toy.a:g}, λ = {toy.lam:g}, c = {toy.c:g}",
            "toy_noise": f"{toy.noise_u:g} along u and {toy.noise_v:g} along v",
            "toy_start": f"(u, v) = ({start[0]:g}, {start[1]:g})", "toy_lr": lr, "toy_min": toy.minimum,
            "toy_half": toy.minimum / 2, "toy_gd_step": when(escape[0]), "toy_regime_rho": f"{-2 / toy.lam:g}",
            "toy_sam_steps": "; ".join(f"with ρ = {r:g} {when(s)}" for r, s in zip(rhos, escape[1:]))}


def escape_rates(toy: SaddleToy, rhos, lr: float, trials: int, max_steps: int) -> pd.DataFrame:
    """Chapter 1's escape table: per optimiser (gradient descent, normalised SAM at each radius) the share of
    `trials` that leave the saddle within max_steps, and their median step count."""
    runs = [("gradient descent", "sgd", 0.0)] + [(f"normalised SAM, ρ = {r}", "sam_normalized", r) for r in rhos]
    rows = []
    for label, method, rho in runs:
        steps = escape_steps(toy, method, rho, lr, trials, max_steps)
        rows.append({"method": label, "escaped (%)": 100 * float(np.isfinite(steps).mean()),
                     "median steps": float(np.median(steps))})
    return pd.DataFrame(rows).set_index("method")


def escape_phrase(table: pd.DataFrame) -> str:
    """escape_rates' table in a sentence: each optimiser's escaped share and median steps where finite."""
    return "; ".join(f"{label}: {row['escaped (%)']:.0f}% escaped"
                     + (f", median {row['median steps']:.0f} steps" if np.isfinite(row["median steps"]) else "")
                     for label, row in table.iterrows())
