import numpy as np
import pytest
import torch

from saddle import theorem2
from saddle_book import theory


@pytest.mark.parametrize("lam", [-4.0, -1.0, -0.3, 0.5])
@pytest.mark.parametrize("rho", [0.1, 0.5, 1.0])
def test_theorem_holds_on_the_noisy_quadratic(lam, rho):
    """H_z = H and an exact Taylor step: the ratio must equal (1 + rho lam)^2 to Monte-Carlo error."""
    row = theorem2.quadratic_check(lam, rho, samples=4000, seed=1)
    assert abs(row["measured"] - row["predicted"]) <= 4 * row["stderr"] + 1e-9


def test_independent_ascent_batch_breaks_the_identity():
    """At lam = -1/rho the theorem predicts 0; with a fresh minibatch for the ascent the noise survives."""
    same = theorem2.quadratic_check(-2.0, 0.5, samples=4000)
    fresh = theorem2.quadratic_check(-2.0, 0.5, samples=4000, same_batch=False)
    assert same["measured"] < 1e-12 and fresh["measured"] > 0.1


def test_second_moment_ratio_error_shrinks_with_samples():
    rng = np.random.default_rng(0)
    small = theorem2.second_moment_ratio(*rng.normal(size=(2, 100)))
    large = theorem2.second_moment_ratio(*rng.normal(size=(2, 10000)))
    assert large[1] < small[1] / 5 and abs(large[0] - 1) < 4 * large[1]


def test_sam_perturbation_lengths():
    g = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    assert torch.allclose(theorem2.sam_perturbation(g, 0.5, normalized=True).norm(dim=1), torch.tensor([0.5, 0.5]))
    assert torch.allclose(theorem2.sam_perturbation(g, 0.5, normalized=False), 0.5 * g)


def test_saddle_network_is_a_saddle():
    flat, point, x, y = theorem2.saddle_network()
    assert flat.gradient(point, x, y).norm() < 1e-12
    eigenvalues = torch.linalg.eigvalsh(flat.hessian(point, x, y))
    assert eigenvalues[0] < -0.5 and eigenvalues[-1] > 0.5


def test_network_check_near_the_saddle_follows_the_theorem():
    """Close to the saddle (small offset, small rho) unnormalised SAM's ratio is the theorem's within 10%."""
    result = theorem2.network_check([0.1, 0.2], n_batches=60, offset=0.05)
    rows = [r for r in result["table"] if r["sam"] == "unnormalised"]
    assert result["lambda_min"] < -1
    for row in rows:
        assert abs(row["measured"] - row["predicted"]) / row["predicted"] < 0.1


def test_escape_sgd_and_trapped_unnormalised_sam():
    """On the toy, unnormalised SAM with rho > -1/lam has its drift along v reversed: it stays at the saddle."""
    toy = theorem2.SaddleToy()
    sgd = theorem2.escape_steps(toy, "sgd", trials=20, max_steps=600)
    trapped = theorem2.escape_steps(toy, "sam", rho=1.5, trials=20, max_steps=600)
    assert np.isfinite(sgd).all() and np.isinf(trapped).all()
    with pytest.raises(ValueError, match="unknown method 'adam'; accepted: sgd, sam, sam_normalized"):
        theorem2.escape_steps(toy, "adam")


@pytest.mark.slow  # trains a run, then the trained-network check (10 s of one core measured)
def test_trained_network_check_is_stored_and_read_back(tmp_path, monkeypatch):
    from conftest import trained_tiny_run
    record = trained_tiny_run(tmp_path)
    kwargs = dict(rhos=[0.1, 0.5], tail_classes=[9], n_batches=3, batch_size=16, iters=6, root=tmp_path,
                  cache=tmp_path / "cache", progress=False)
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    with pytest.raises(RuntimeError, match=r"SADDLE_READ_ONLY is set; create it with: python -m saddle analyse chapter3 "
                                           r"--scale smoke --table5-rhos 0.1,0.5 \(settings: "):
        theorem2.get_or_check_trained(record, 2, **kwargs)
    assert theorem2.get_or_check_trained(record, 2, compute=False, **kwargs) is None  # read, never computed
    assert theorem2.check3("cpu", [0.5], compute=False, root=tmp_path) is None  # no such run in this results folder
    monkeypatch.delenv("SADDLE_READ_ONLY")
    result = theorem2.get_or_check_trained(record, 2, **kwargs)
    assert set(result["directions"]) == {"optimised", "class 9"}
    optimised = result["directions"]["optimised"]
    assert abs(optimised["optimised_curvature_along_v"] - optimised["lambda_min"]) < 0.05 * abs(optimised["lambda_min"]) + 1e-3
    assert len(optimised["table"]) == 4 and result["provenance"]["git_commit"]
    assert theorem2.get_or_check_trained(record, 2, **kwargs) == result
    monkeypatch.setenv("SADDLE_RESULTS", str(tmp_path))
    assert theory.check3_run(result, "smoke").endswith("its snapshot is not committed, so the check needs the run "
                                                       "trained here first")
    kept = tmp_path / "smoke" / "checkpoints" / result["run_id"]
    kept.mkdir(parents=True)
    (kept / "epoch_0002.pt").write_bytes(b"")
    assert theory.check3_run(result, "smoke") == ("trained for 2 epochs on Fashion-MNIST-LT, smoke scale, seed 0, with "
                                                  "a validation split held out; its last snapshot is committed, so a "
                                                  "fresh clone can recompute this check")


def test_theorem_check_readings_follow_the_unnormalised_rows_only():
    rows = [{"sam": "unnormalised", "rho": 0.1, "measured": 1.05, "predicted": 1.0, "stderr": 0.0},
            {"sam": "normalised", "rho": 0.1, "measured": 9.0, "predicted": 1.0, "stderr": 0.0},
            {"sam": "unnormalised", "rho": 0.5, "measured": 2.0, "predicted": 4.0, "stderr": 0.1}]
    check = {"table": rows, "projections": {"hz_term": np.array([1.0, 3.0]), "h_term": np.array([2.0, 2.0])}}
    assert theory.unnormalised_errors(check) == pytest.approx([0.05, -0.5])
    assert theory.holds_up_to(check) == "rho = 0.1"  # 0.5 is off by 2 > 0.15 * 4 + 0.2
    assert theory.holds_up_to({"table": rows[2:]}) == "no radius tried"
    assert theory.replacement_error(check) == pytest.approx(0.5)


def test_chapter_readings_of_checks_1_3_and_4():
    check1 = [{"lam": -1.0, "rho": 1.0, "same_batch": True, "normalized": False, "measured": 1.0, "predicted": 1.0},
              {"lam": -1.0, "rho": 0.5, "same_batch": True, "normalized": False, "measured": 0.26, "predicted": 0.25},
              {"lam": -1.0, "rho": 1.0, "same_batch": False, "normalized": False, "measured": 0.7, "predicted": 0.0},
              {"lam": -1.0, "rho": 1.0, "same_batch": True, "normalized": True, "measured": 9.0, "predicted": 0.0}]
    assert theory.quadratic_errors(check1) == pytest.approx([0.0, 0.04])
    assert theory.quadratic_texts(check1) == {"check1_points": 2, "check1_worst": "4.0e-02", "check1_fresh": "0.70"}
    row = {"sam": "unnormalised", "rho": 0.5, "measured": 190438.602, "predicted": 4.0, "stderr": 35153.642,
           "taylor_with_Hz": 3.5}
    check3 = {"directions": {"optimised": {"lambda_min": -3.0, "optimised_curvature_along_v": -3.0, "table": [row]},
                             "class 9": {"lambda_min": -8.0, "optimised_curvature_along_v": -0.5, "table": [row]}},
              "minibatch_gradient_norms": [1.0, 2.0]}
    rows = theory.trained_rows(check3)
    assert rows.loc[0, "measured ± s.e."] == "1.9e+05 ± 3.5e+04" and len(rows) == 2  # large numbers stay short
    assert list(theory.trained_directions(check3).index) == ["optimised", "class 9"]
    assert theory.regime_gaps(check3, 0.5) == pytest.approx([1.0, 5.0])  # -3 + 2 * ||g|| / 0.5: not in the regime
    assert theory.check3_elsewhere(check3, 0.5, "r8-n5000", "CMD") == (
        "On the r8-n5000 scale's CE+DRW network (seed 0, last epoch) the optimised loss has lambda_min -3.00 and a "
        "median minibatch gradient norm of 1.5, which puts normalised SAM's bound at rho 0.5 at -6. Whether this loss "
        "is in the regime: inconclusive there (the gap lambda_min + 2 ||g_z|| / rho averages +3, interval "
        "[-22.4, +28.4], over 2 minibatches).")  # t interval on 1 degree of freedom: 3 -+ 12.7 * 2
    one = dict(check3, minibatch_gradient_norms=[1.0])
    assert theory.check3_elsewhere(one, 0.5, "cpu", "CMD").endswith("not tested there (the gap lambda_min + 2 ||g_z|| "
                                                                     "/ rho averages +1 over one minibatch, no interval).")
    unkept = {k: v for k, v in check3.items() if k != "minibatch_gradient_norms"}
    assert theory.check3_elsewhere(unkept, 0.5, "cpu", "CMD").endswith("so the regime is not judged there.")
    assert theory.check3_elsewhere(None, 0.5, "cpu", "CMD") == ("Check 3 on the cpu scale's network is not computed "
                                                                "yet: `CMD` computes it.")
    assert theory.check3_elsewhere_verdict(check3, 0.5) == "inconclusive"
    assert theory.check3_elsewhere_verdict(dict(check3, minibatch_gradient_norms=[3.0, 3.1, 3.2]), 0.5) == "contradicted"
    assert theory.check3_elsewhere_verdict(unkept, 0.5).startswith("not judged")
    assert theory.check3_elsewhere_verdict(None, 0.5) == "not computed"
    texts = theory.trained_texts(check3, [0.2, 0.5])
    assert texts["check3_regime"] == "is not" and texts["check3_tail"] == "class 9" and texts["check3_eff_bound"] == "-6"
    toy = theorem2.SaddleToy()
    escape, steps = theory.escape_table(toy, [0.5, 1.5], [0, 1], trials=5, max_steps=400)
    assert len(steps[("sgd", 0.0)]) == 10 and set(escape["method"]) == {"unnormalised SAM", "normalised SAM"}
    texts = theory.escape_texts(escape, float(np.median(steps[("sgd", 0.0)])), 400)
    assert "1.5" in texts["check4_trapped"]  # unnormalised SAM past -1/lambda stays at the saddle
    assert theory.censored_differences(np.array([np.inf, 3.0]), np.array([10.0, 5.0]), 400) == [390.0, -2.0]


def test_chapter1_toy_paths_and_escape_rates():
    toy = theorem2.SaddleToy()
    paths = theory.toy_paths(toy, (1.0, 0.01), 0.05, 50, [0.5])
    assert list(paths) == ["gradient descent", "SAM, $\\rho$ = 0.5"] and paths["gradient descent"].shape == (51, 2)
    texts = theory.toy_texts(toy, paths, (1.0, 0.01), 0.05, 50, [0.5])
    assert texts["toy_start"] == "(u, v) = (1, 0.01)" and texts["toy_sam_steps"].startswith("with ρ = 0.5 ")
    table = theory.escape_rates(toy, [0.5], 0.05, trials=4, max_steps=300)
    assert list(table.index) == ["gradient descent", "normalised SAM, ρ = 0.5"]
    assert theory.escape_phrase(table).startswith("gradient descent: ")
