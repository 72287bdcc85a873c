import numpy as np
import pytest
import torch

from saddle import theory


@pytest.mark.parametrize("lam", [-4.0, -1.0, -0.3, 0.5])
@pytest.mark.parametrize("rho", [0.1, 0.5, 1.0])
def test_theorem_holds_on_the_noisy_quadratic(lam, rho):
    """H_z = H and an exact Taylor step: the ratio must equal (1 + rho lam)^2 to Monte-Carlo error."""
    row = theory.quadratic_check(lam, rho, samples=4000, seed=1)
    assert abs(row["measured"] - row["predicted"]) <= 4 * row["stderr"] + 1e-9


def test_independent_ascent_batch_breaks_the_identity():
    """At lam = -1/rho the theorem predicts 0; with a fresh minibatch for the ascent the noise survives."""
    same = theory.quadratic_check(-2.0, 0.5, samples=4000)
    fresh = theory.quadratic_check(-2.0, 0.5, samples=4000, same_batch=False)
    assert same["measured"] < 1e-12 and fresh["measured"] > 0.1


def test_second_moment_ratio_error_shrinks_with_samples():
    rng = np.random.default_rng(0)
    small = theory.second_moment_ratio(*rng.normal(size=(2, 100)))
    large = theory.second_moment_ratio(*rng.normal(size=(2, 10000)))
    assert large[1] < small[1] / 5 and abs(large[0] - 1) < 4 * large[1]


def test_sam_perturbation_lengths():
    g = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    assert torch.allclose(theory.sam_perturbation(g, 0.5, normalized=True).norm(dim=1), torch.tensor([0.5, 0.5]))
    assert torch.allclose(theory.sam_perturbation(g, 0.5, normalized=False), 0.5 * g)


def test_saddle_network_is_a_saddle():
    flat, point, x, y = theory.saddle_network()
    assert flat.gradient(point, x, y).norm() < 1e-12
    eigenvalues = torch.linalg.eigvalsh(flat.hessian(point, x, y))
    assert eigenvalues[0] < -0.5 and eigenvalues[-1] > 0.5


def test_network_check_near_the_saddle_follows_the_theorem():
    """Close to the saddle (small offset, small rho) unnormalised SAM's ratio is the theorem's within 10%."""
    result = theory.network_check([0.1, 0.2], n_batches=60, offset=0.05)
    rows = [r for r in result["table"] if r["sam"] == "unnormalised"]
    assert result["lambda_min"] < -1
    for row in rows:
        assert abs(row["measured"] - row["predicted"]) / row["predicted"] < 0.1


def test_escape_sgd_and_trapped_unnormalised_sam():
    """On the toy, unnormalised SAM with rho > -1/lam has its drift along v reversed: it stays at the saddle."""
    toy = theory.SaddleToy()
    sgd = theory.escape_steps(toy, "sgd", trials=20, max_steps=600)
    trapped = theory.escape_steps(toy, "sam", rho=1.5, trials=20, max_steps=600)
    assert np.isfinite(sgd).all() and np.isinf(trapped).all()
    with pytest.raises(ValueError, match="unknown method 'adam'; accepted: sgd, sam, sam_normalized"):
        theory.escape_steps(toy, "adam")


def test_trained_network_check_is_stored_and_read_back(tmp_path, monkeypatch):
    from conftest import trained_tiny_run
    record = trained_tiny_run(tmp_path)
    kwargs = dict(rhos=[0.1, 0.5], tail_classes=[9], n_batches=3, batch_size=16, iters=6, root=tmp_path,
                  cache=tmp_path / "cache", progress=False)
    monkeypatch.setenv("SADDLE_READ_ONLY", "1")
    with pytest.raises(RuntimeError, match="SADDLE_READ_ONLY is set; create it with: saddle.theory"):
        theory.get_or_check_trained(record, 2, **kwargs)
    monkeypatch.delenv("SADDLE_READ_ONLY")
    result = theory.get_or_check_trained(record, 2, **kwargs)
    assert set(result["directions"]) == {"optimised", "class 9"}
    optimised = result["directions"]["optimised"]
    assert abs(optimised["optimised_curvature_along_v"] - optimised["lambda_min"]) < 0.05 * abs(optimised["lambda_min"]) + 1e-3
    assert len(optimised["table"]) == 4 and result["provenance"]["git_commit"]
    assert theory.get_or_check_trained(record, 2, **kwargs) == result


def test_theorem_check_readings_follow_the_unnormalised_rows_only():
    rows = [{"sam": "unnormalised", "rho": 0.1, "measured": 1.05, "predicted": 1.0, "stderr": 0.0},
            {"sam": "normalised", "rho": 0.1, "measured": 9.0, "predicted": 1.0, "stderr": 0.0},
            {"sam": "unnormalised", "rho": 0.5, "measured": 2.0, "predicted": 4.0, "stderr": 0.1}]
    check = {"table": rows, "projections": {"hz_term": np.array([1.0, 3.0]), "h_term": np.array([2.0, 2.0])}}
    assert theory.unnormalised_errors(check) == pytest.approx([0.05, -0.5])
    assert theory.holds_up_to(check) == "rho = 0.1"  # 0.5 is off by 2 > 0.15 * 4 + 0.2
    assert theory.holds_up_to({"table": rows[2:]}) == "no radius tried"
    assert theory.replacement_error(check) == pytest.approx(0.5)
