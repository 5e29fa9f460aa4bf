"""The training loop: it learns, resumes exactly, writes checkpoints atomically, stops early."""

from contextlib import nullcontext
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tutorial_utils import training
from tutorial_utils.training.checkpoint import load_checkpoint, save_atomically


def toy_data(n: int = 96, seed: int = 0) -> TensorDataset:
    """Three classes of (4, 6) 'spectrograms': a fixed pattern per class plus noise."""
    patterns = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(42))
    labels = torch.arange(n) % 3
    inputs = patterns[labels] + torch.randn(n, 4, 6, generator=torch.Generator().manual_seed(seed))
    return TensorDataset(inputs, labels)


def toy_model() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(24, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))


def loaders(batch_size: int = 16) -> tuple[DataLoader, DataLoader]:
    return (
        DataLoader(toy_data(), batch_size=batch_size, shuffle=True),
        DataLoader(toy_data(48, seed=1), batch_size=batch_size),
    )


def test_a_small_model_learns():
    train_loader, val_loader = loaders()
    history = training.fit(toy_model(), train_loader, val_loader=val_loader, epochs=6, lr=1e-2, progress=False)
    assert history["epoch"] == [1, 2, 3, 4, 5, 6]
    assert history["train_loss"][-1] < 0.6 * history["train_loss"][0]
    assert history["val_acc"][-1] > 0.95
    assert set(history) == {"epoch", "train_loss", "train_acc", "lr", "epoch_seconds", "epoch_cpu_seconds", "val_loss", "val_acc"}


def test_evaluate_matches_a_hand_computation():
    model = toy_model()
    data = toy_data(30)
    result = training.evaluate(model, DataLoader(data, batch_size=7))
    model.eval()
    with torch.no_grad():
        logits = model(data.tensors[0])
    assert result["loss"] == pytest.approx(nn.functional.cross_entropy(logits, data.tensors[1]).item(), rel=1e-5)
    assert result["accuracy"] == pytest.approx((logits.argmax(1) == data.tensors[1]).float().mean().item())


class Frames(nn.Module):
    """A stand-in for a feature extractor that records the device and mode it ran in."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:  # (batch, 24) -> (batch, 4, 6)
        self.modes.append(self.training)
        return waveforms.view(-1, 4, 6)


def test_features_run_in_the_models_mode():
    data = toy_data()
    waveforms = TensorDataset(data.tensors[0].flatten(1), data.tensors[1])
    features = Frames()
    training.fit(
        toy_model(), DataLoader(waveforms, batch_size=32), val_loader=DataLoader(waveforms, batch_size=96),
        features=features, epochs=1, progress=False,
    )
    assert features.modes == [True, True, True, False]


def test_bfloat16_autocast_on_the_cpu_trains():
    train_loader, _ = loaders()
    history = training.fit(toy_model(), train_loader, epochs=2, lr=1e-2, amp=True, progress=False)
    assert history["train_loss"][1] < history["train_loss"][0]


def test_no_mixed_precision_on_the_cpu_by_default():
    assert training.autocast_dtype(torch.device("cpu")) is None
    assert training.autocast_dtype(torch.device("cpu"), amp=True) == torch.bfloat16
    assert training.autocast_dtype(torch.device("cuda"), amp=False) is None


class Interrupted(Exception):
    pass


class InterruptedLoader:
    """Wraps a loader and raises (like a killed job) when epoch ``at_epoch`` begins."""

    def __init__(self, loader: DataLoader, at_epoch: int):
        self.loader, self.at_epoch, self.epochs = loader, at_epoch, 0

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        self.epochs += 1
        if self.epochs == self.at_epoch:
            raise Interrupted
        return iter(self.loader)


def fit_for_resume(train_loader, checkpoint: Path, resume: bool = False):
    model = toy_model()
    _, val_loader = loaders()
    history = training.fit(
        model, train_loader, val_loader=val_loader, epochs=4, lr=1e-2, scheduler=training.one_cycle(1e-2),
        label_smoothing=0.1, seed=3, checkpoint_path=checkpoint, resume=resume, progress=False,
    )
    return model, history


def test_resuming_reproduces_the_uninterrupted_run(tmp_path):
    full_model, full_history = fit_for_resume(loaders()[0], tmp_path / "full.pt")

    checkpoint = tmp_path / "resumed.pt"
    with pytest.raises(Interrupted):
        fit_for_resume(InterruptedLoader(loaders()[0], at_epoch=3), checkpoint)
    assert load_checkpoint(checkpoint)["epoch"] == 1  # epochs 1 and 2 (0-based 0, 1) are done
    model, history = fit_for_resume(loaders()[0], checkpoint, resume=True)

    for key in full_history:
        if key not in ("epoch_seconds", "epoch_cpu_seconds"):
            assert history[key] == full_history[key], key
    for name, tensor in full_model.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path):
    _, history = fit_for_resume(loaders()[0], tmp_path / "absent.pt", resume=True)
    assert history["epoch"] == [1, 2, 3, 4]


def test_checkpoints_load_with_weights_only_and_leave_no_temporary_files(tmp_path):
    fit_for_resume(loaders()[0], tmp_path / "run" / "checkpoint.pt")
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["checkpoint.pt"]
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 3 and len(state["history"]["train_loss"]) == 4
    assert set(state["model"]) == set(toy_model().state_dict())


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_atomically({"weights": torch.ones(3)}, path)
    with pytest.raises(Exception):
        save_atomically({"weights": lambda: None}, path)  # cannot be pickled
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.ones(3))


def test_early_stopping_stops_when_validation_stops_improving():
    train_loader, val_loader = loaders()
    history = training.fit(
        toy_model(), train_loader, val_loader=val_loader, epochs=20, lr=0.0,
        early_stopping_patience=2, progress=False,
    )
    assert history["epoch"] == [1, 2, 3]  # epoch 1 is the best; two more without improvement


def test_early_stopping_restores_the_best_weights():
    train_loader, val_loader = loaders()
    model = toy_model()
    history = training.fit(
        model, train_loader, val_loader=val_loader, epochs=8, lr=0.3, early_stopping_patience=2, progress=False,
    )
    best = min(history["val_loss"])
    assert history["val_loss"][-1] > best  # a later epoch was worse, so restoring matters
    assert training.evaluate(model, val_loader)["loss"] == pytest.approx(best)


def test_early_stopping_needs_validation_data():
    with pytest.raises(ValueError, match="val_loader"):
        training.fit(toy_model(), loaders()[0], epochs=1, early_stopping_patience=1, progress=False)


@pytest.mark.parametrize("total_steps", range(1, 12))
def test_one_cycle_runs_any_number_of_steps(total_steps):
    """Short runs too: PyTorch's OneCycleLR divides by zero when 20 % of the steps is exactly one."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = training.one_cycle(0.1)(optimizer, total_steps)
    rates = []
    for _ in range(total_steps):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert max(rates) <= 0.1 + 1e-12 and rates[-1] < 0.1


@pytest.mark.parametrize("make_optimizer, cycles", [
    (lambda p: torch.optim.SGD(p, lr=0.1), False),
    (lambda p: torch.optim.Adagrad(p, lr=0.1), False),
    (lambda p: torch.optim.RMSprop(p, lr=0.1), False),
    (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), True),
    (lambda p: torch.optim.AdamW(p, lr=0.1), True),
])
def test_one_cycle_cycles_momentum_only_where_there_is_some(make_optimizer, cycles):
    optimizer = make_optimizer(nn.Linear(2, 1).parameters())
    scheduler = training.one_cycle(0.1)(optimizer, 10)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    group = optimizer.param_groups[0]
    momentum = group["betas"][0] if "betas" in group else group.get("momentum", 0.0)
    assert (momentum != 0.0) == cycles
    assert scheduler.cycle_momentum == cycles


@pytest.mark.parametrize("capability, dtype", [((7, 5), torch.float16), ((8, 0), torch.bfloat16), ((9, 0), torch.bfloat16)])
def test_cuda_uses_bfloat16_only_where_the_gpu_computes_it_natively(monkeypatch, capability, dtype):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert training.autocast_dtype(torch.device("cuda")) == dtype
    assert training.autocast_dtype(torch.device("cuda"), amp=False) is None


def test_the_loop_takes_a_pluggable_step_clipping_and_a_validation_function():
    """One loop for every model: a step that counts no correct answers, clipped gradients, and a
    custom validation value that early stopping monitors (lower is better for non-accuracies)."""
    train_loader, val_loader = loaders()
    seen_norms = []

    def step(forward, batch, device, autocast):
        inputs, labels = batch
        with autocast():
            loss = nn.functional.cross_entropy(forward(inputs.to(device)), labels.to(device))
        return loss * 100, len(labels), None  # a loss with large gradients

    def after_backward():
        seen_norms.append(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]).item())

    model = toy_model()
    history = training.fit(
        model, train_loader, epochs=3, lr=1e-2, loss_step=step, clip_grad_norm=0.5, after_backward=after_backward,
        validate=lambda m: {"error": 1 - training.evaluate(m, val_loader)["accuracy"]},
        early_stopping_patience=5, monitor="val_error", progress=False,
    )
    assert "train_acc" not in history and len(history["val_error"]) == 3
    assert max(seen_norms) > 0.5  # before clipping; the step then used at most norm 0.5
    with pytest.raises(ValueError, match="validation value"):
        training.fit(toy_model(), train_loader, epochs=1, monitor="loss", progress=False)


def test_mix_batch_mixes_each_example_with_its_partner():
    from tutorial_utils.training.loop import mix_batch

    x = torch.arange(12.0).reshape(3, 2, 2)
    mixed = mix_batch(x, 0.7, torch.tensor([2, 0, 1]))
    torch.testing.assert_close(mixed[0], 0.7 * x[0] + 0.3 * x[2])
    torch.testing.assert_close(mix_batch(x, 1.0, torch.tensor([1, 2, 0])), x)


def test_mixup_loss_is_the_mix_of_both_labels_losses():
    from tutorial_utils.training.loop import classification_step, mix_batch

    model = torch.nn.Linear(4, 3)
    inputs, labels = torch.randn(8, 4, generator=torch.Generator().manual_seed(0)), torch.arange(8) % 3
    torch.manual_seed(1)
    loss, examples, _ = classification_step(mixup=0.4)(model, (inputs, labels), torch.device("cpu"), nullcontext)
    torch.manual_seed(1)  # the same draws, by hand
    weight = torch.distributions.Beta(torch.tensor(0.4), torch.tensor(0.4)).sample().item()
    permutation = torch.randperm(8)
    logits = model(mix_batch(inputs, weight, permutation))
    expected = (weight * torch.nn.functional.cross_entropy(logits, labels)
                + (1 - weight) * torch.nn.functional.cross_entropy(logits, labels[permutation]))
    assert examples == 8 and 0 < weight < 1
    torch.testing.assert_close(loss, expected)
    plain, _, _ = classification_step()(model, (inputs, labels), torch.device("cpu"), nullcontext)
    torch.testing.assert_close(plain, torch.nn.functional.cross_entropy(model(inputs), labels))
