"""Stochastic weight averaging: the running mean equals PyTorch's AveragedModel, BatchNorm is
measured again as torch's update_bn does, and fit ends with the mean of the last epochs' weights,
resuming exactly in the middle of the averaging."""

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn
from torch.utils.data import DataLoader, TensorDataset

from tutorial_utils import training
from tutorial_utils.training.averaging import WeightAverage, recompute_batch_norm
from tutorial_utils.training.checkpoint import load_checkpoint

from test_training_loop import Interrupted, InterruptedLoader, loaders, toy_data


def normed_model() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(24, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))


def test_the_average_equals_pytorchs_averaged_model():
    model = normed_model()
    reference = AveragedModel(model)
    average = WeightAverage()
    for step in range(4):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter) * (step + 1))
        reference.update_parameters(model)
        average.add(model)
    averaged = normed_model()
    average.copy_to(averaged)
    for mine, theirs in zip(averaged.parameters(), reference.module.parameters()):
        torch.testing.assert_close(mine, theirs)
    assert average.count == 4


def test_copying_before_any_snapshot_is_refused():
    with pytest.raises(ValueError, match="no weights have been averaged"):
        WeightAverage().copy_to(normed_model())


def test_batch_norm_is_measured_again_like_pytorchs_update_bn():
    inputs = toy_data(40).tensors[0] * 3 + 1
    mine, theirs = normed_model(), normed_model()
    mine.eval()
    recompute_batch_norm(mine, DataLoader(TensorDataset(inputs), batch_size=16), lambda batch: mine(batch[0]))
    update_bn(DataLoader(TensorDataset(inputs), batch_size=16), theirs)
    torch.testing.assert_close(mine[2].running_mean, theirs[2].running_mean)
    torch.testing.assert_close(mine[2].running_var, theirs[2].running_var)
    assert mine[2].momentum == 0.1 and not mine.training  # the layer's momentum and the model's mode are restored
    assert not torch.allclose(mine[2].running_mean, torch.zeros(16))


def fit_averaging(train_loader, model: nn.Module, snapshots: list | None = None, **options) -> dict:
    """Five epochs, the last two averaged; ``snapshots`` collects the weights after every epoch."""
    def validate(forward: nn.Module) -> dict[str, float]:
        if snapshots is not None:
            snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return {"nothing": 0.0}

    return training.fit(model, train_loader, epochs=5, lr=1e-2, scheduler=training.one_cycle(1e-2), seed=3,
                        validate=validate, average_last=2, average_lr=1e-3, progress=False, **options)


def test_fit_ends_with_the_mean_of_the_last_epochs_weights_at_a_constant_rate():
    model, snapshots = normed_model(), []
    history = fit_averaging(loaders()[0], model, snapshots)
    assert history["lr"][-2:] == [1e-3, 1e-3] and history["lr"][2] < 2e-4  # the schedule annealed by epoch 3
    for name, value in model.state_dict().items():
        if name.endswith(("running_mean", "running_var", "num_batches_tracked")):
            continue
        torch.testing.assert_close(value, (snapshots[3][name] + snapshots[4][name]) / 2, msg=name)
    last = snapshots[4]["2.running_mean"]
    assert not torch.allclose(model.state_dict()["2.running_mean"], last)  # measured again for the average


def test_resuming_in_the_middle_of_the_averaging_reproduces_the_run(tmp_path):
    full = normed_model()
    fit_averaging(loaders()[0], full)
    checkpoint = tmp_path / "run.pt"
    with pytest.raises(Interrupted):
        fit_averaging(InterruptedLoader(loaders()[0], at_epoch=5), normed_model(), checkpoint_path=checkpoint)
    assert load_checkpoint(checkpoint)["average"]["count"] == 1  # epoch 4 was averaged, epoch 5 was not run
    resumed = normed_model()
    fit_averaging(loaders()[0], resumed, checkpoint_path=checkpoint, resume=True)
    for name, value in full.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name


@pytest.mark.parametrize("options, message", [
    ({"average_last": 5, "average_lr": 1e-3}, "0 < average_last < epochs"),
    ({"average_last": 2}, "positive average_lr"),
    ({"average_last": 2, "average_lr": 1e-3, "early_stopping_patience": 1, "val_loader": loaders()[1]},
     "cannot be combined with early stopping"),
])
def test_impossible_averaging_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        training.fit(normed_model(), loaders()[0], epochs=5, progress=False, **options)
