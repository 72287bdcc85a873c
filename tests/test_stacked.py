"""Several runs trained as one vectorised network end where each run trained alone ends."""
import pytest
import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from conftest import needs_fashion_mnist
from saddle import checkpoints, stacked, train
from saddle.config import RunConfig


def _flat(state: dict) -> torch.Tensor:
    return torch.cat([v.float().flatten() for k, v in state.items() if "num_batches" not in k])


@needs_fashion_mnist
def test_stacked_runs_track_runs_trained_alone(tmp_path):
    """Whole runs: rounding differs (vmap runs grouped convolutions) and early training amplifies it (a 1e-7
    relative change of the initial weights grows to 5e-6 after one smoke epoch and 7e-5 after two, measured), so
    runs agree to 1e-3 here (one smoke epoch); a single step agrees to 1e-6 (next test)."""
    configs = [RunConfig.at_scale("smoke", drw=True, seed=s, epochs=1) for s in (0, 1)]
    records = stacked.run_many(configs, progress=False,
                               checkpoint_dirs=[tmp_path / "checkpoints" / c.run_id for c in configs])
    for config, record in zip(configs, records):
        alone = train.run(config, progress=False, channels_last=False, checkpoint_dir=tmp_path / "alone" / config.run_id)
        assert record.keys() == alone.keys() and record["id"] == config.run_id
        for ours, theirs in zip(record["curves"], alone["curves"]):
            assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-3)
            assert ours.get("test_acc") == pytest.approx(theirs.get("test_acc"), abs=0.5)
        for epoch in record["checkpoint_epochs"]:
            mine = checkpoints.load_verified(checkpoints.checkpoint_path(config.run_id, epoch, tmp_path))
            theirs = checkpoints.load_verified(tmp_path / "alone" / config.run_id / f"epoch_{epoch:04d}.pt")
            a, b = _flat(mine["model"]), _flat(theirs["model"])
            assert ((a - b).norm() / b.norm()).item() < 1e-3, epoch
        model = train.build_model(config, train.load_data(config))
        last = checkpoints.checkpoint_path(config.run_id, record["checkpoint_epochs"][-1], tmp_path)
        checkpoints.load_checkpoint(last, config, model)  # a stacked run's snapshot loads as any run's (Hessian chapters)


@needs_fashion_mnist
@pytest.mark.parametrize("optimizer", ["sgd", "sam"])
def test_one_stacked_step_equals_each_run_alone(optimizer):
    """One step of two stacked runs (seeds 0 and 1; SAM with rho 0.05 and 0.8: per-run gradient norms and
    radii) against train.build_optimizer's SGD / optim.SAM on each run alone. The claim is exactness, so both run in
    float64: vmap's grouped convolutions sum in another order than a plain convolution, and in float32 that rounding
    alone reaches 1e-6 on some CPUs and seeds; in float64 the same reordering stays near 1e-15 (relative error of a
    sum of k terms <= k * 2.2e-16, k ~ 1e3 here), so 1e-12 leaves three orders of margin on any machine."""
    rhos = (0.05, 0.8) if optimizer == "sam" else (0.0, 0.0)
    configs = [RunConfig.at_scale("smoke", optimizer=optimizer, rho=r, seed=s) for s, r in zip((0, 1), rhos)]
    data = train.load_data(configs[0])
    x, y = data.normalize(data.train_x[:64]).double(), data.train_y[:64]
    models = [train.build_model(c, data).double().train() for c in configs]
    params, buffers = stack_module_state([train.build_model(c, data).double().train() for c in configs])
    params = {k: v.detach() for k, v in params.items()}
    together = stacked.StackedSAM(params, torch.tensor(rhos, dtype=torch.float64), configs[0])
    loss = lambda p, b: torch.nn.functional.cross_entropy(functional_call(models[0], (p, b), (x,)), y)
    gradient = vmap(grad(loss))
    if optimizer == "sam":
        together.ascend(list(gradient(params, buffers).values()))
    together.step(list(gradient(params, buffers).values()))  # at configs[0].lr, 0.1
    for i, (config, model) in enumerate(zip(configs, models)):
        alone = train.build_optimizer(config, model)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        if optimizer == "sam":
            alone.first_step(zero_grad=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            alone.second_step(zero_grad=True)
        else:
            alone.step()
        a = torch.cat([p[i].flatten() for p in params.values()])
        b = torch.cat([p.detach().flatten() for p in model.parameters()])
        assert a.dtype == torch.float64 and ((a - b).norm() / b.norm()).item() < 1e-12


def test_only_seed_and_rho_may_differ():
    base = RunConfig.at_scale("smoke", optimizer="sam", rho=0.05)
    with pytest.raises(ValueError, match="differ in seed and rho; .* also differs in loss"):
        stacked.check_stackable([base, RunConfig.at_scale("smoke", optimizer="sam", rho=0.05, loss="ldam")])
    with pytest.raises(ValueError, match="the same run is listed twice"):
        stacked.check_stackable([base, base])
    ldam = [RunConfig.at_scale("smoke", optimizer="sam", rho=0.05, loss="ldam", seed=s) for s in (0, 1)]
    with pytest.raises(ValueError, match="with the CE or VS loss, got optimizer 'sam' and loss 'ldam'"):
        stacked.check_stackable(ldam)  # LDAM's margins fail under vmap: refused before training, not during it
    with pytest.raises(ValueError, match="got optimizer 'pgd'"):
        stacked.check_stackable([RunConfig.at_scale("smoke", optimizer="pgd")])
    with pytest.raises(ValueError, match="no configs"):
        stacked.check_stackable([])
