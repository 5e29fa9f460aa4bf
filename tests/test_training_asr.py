"""CTC training helpers: padding, batching by length, the loop on a toy task, the CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch

from tutorial_utils import config, ctc
from tutorial_utils.cli.train import train_recogniser
from tutorial_utils.training import asr
from tutorial_utils.models.asr import SpeechRecognizer
from tutorial_utils.data.text import Vocabulary

TONES = Vocabulary.words(["low", "high"])


@pytest.fixture(autouse=True)
def one_thread():
    """Training on a shared 2-core machine: two threads fighting other jobs run many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Tones(torch.utils.data.Dataset):
    """Sequences of 1-3 tones (label 1: 500 Hz, label 2: 1500 Hz) of 0.15 s with short gaps, 8 kHz."""

    def __init__(self, count: int, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        t = torch.arange(1200) / 8000
        self.items = []
        for _ in range(count):
            labels = torch.randint(1, 3, (int(torch.randint(1, 4, (1,), generator=generator)),), generator=generator)
            pieces = [torch.zeros(400)]
            for label in labels.tolist():
                pieces += [0.5 * torch.sin(2 * math.pi * (500 if label == 1 else 1500) * t), torch.zeros(400)]
            self.items.append((torch.cat(pieces) + 0.01 * torch.randn(len(torch.cat(pieces)), generator=generator), labels))
        self.sample_lengths = [len(w) for w, _ in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


def test_collate_pads_waveforms_and_labels():
    waveforms, lengths, targets, target_lengths = asr.collate(
        [(torch.ones(5), torch.tensor([3])), (torch.ones(3), torch.tensor([1, 2]))]
    )
    assert waveforms.shape == (2, 5) and waveforms[1, 3:].abs().sum() == 0
    assert lengths.tolist() == [5, 3] and target_lengths.tolist() == [1, 2]
    assert targets.tolist() == [[3, 0], [1, 2]]


def test_length_batches_cover_everything_once_with_little_padding():
    lengths = torch.randint(100, 10_000, (500,), generator=torch.Generator().manual_seed(0)).tolist()
    batches = asr.length_batches(lengths, 16, torch.Generator().manual_seed(1))
    assert sorted(i for b in batches for i in b) == list(range(500))
    assert max(len(b) for b in batches) == 16
    padding = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    assert padding < 0.05 * sum(lengths)
    assert asr.length_batches(lengths, 16) == asr.length_batches(lengths, 16)  # no generator: fixed


def test_training_learns_a_toy_sequence_task():
    torch.manual_seed(0)
    model = SpeechRecognizer(len(TONES), channels=32, kernels=(5, 5), dropout=0.0)
    history = asr.train_ctc(
        model, Tones(64), Tones(16, seed=1), TONES, epochs=8, batch_size=16, learning_rate=1e-2, progress=False
    )
    assert len(history.train_loss) == 8 and history.validation_wer[-1] < 0.5
    assert history.train_loss[-1] < history.train_loss[0] / 3
    test = Tones(16, seed=2)
    result = asr.evaluate(model, test, TONES, batch_size=5)
    assert result.references == [TONES.decode(labels.tolist()) for _, labels in test]  # dataset order
    assert result.wer < 0.5 and len(result.log_probs) == 16
    assert result.hypotheses[3] == TONES.decode(ctc.greedy_decode(result.log_probs[3]))


@pytest.mark.skipif(not (config.data_dir() / "fsdd" / "recordings").is_dir(), reason="FSDD is not in the data directory")
def test_cli_trains_saves_and_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    args = ["--epochs", "1", "--utterances", "2", "--beam", "2", "--device", "cpu", "--cache-dir", str(tmp_path)]
    (result,) = train_recogniser([*args, "--save", str(tmp_path / "m.pt")])
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == result
    assert result["split"] == "speaker-dependent" and 0 <= result["test_wer_greedy"]
    assert result["command"].startswith("python -m tutorial_utils.train --task asr --epochs 1 ")
    assert (tmp_path / "m.pt").exists() and result["model"] == "conv" and result["normalize"] == "band"
    (utterance,) = train_recogniser([*args, "--normalize", "utterance", "--vtlp", "--epochs", "2", "--average-last", "1"])
    assert result["vtlp"] == [1.0, 1.0] and utterance["vtlp"] == [0.9, 1.1]
    assert "average_last" not in result and utterance["average_last"] == 1 and utterance["epochs"] == 2
    assert utterance["normalize"] == "utterance" and utterance["history"]["train_loss"] != result["history"]["train_loss"]
    (rival,) = train_recogniser([*args, "--model", "transformer", "--plain"])
    assert rival["model"] == "transformer-plain" and rival["parameters"] != result["parameters"]
    with pytest.raises(SystemExit):
        train_recogniser([*args, "--leave-one-out", "--save", str(tmp_path / "m.pt")])


def test_speed_perturbation_stretches_within_its_range():
    perturb = asr.SpeedPerturbation((0.8, 1.25), sample_rate=8000, seed=0)
    lengths = {len(perturb(torch.randn(8000))) for _ in range(20)}
    assert len(lengths) > 3 and min(lengths) >= 8000 / 1.25 - 100 and max(lengths) <= 8000 / 0.8 + 100
    same = asr.SpeedPerturbation((1.0, 1.0))
    x = torch.randn(800)
    assert torch.equal(same(x), x)
    # a tone played 1.25 times faster is 1.25 times higher
    tone = torch.sin(2 * math.pi * 500 * torch.arange(8000) / 8000)
    faster = asr.SpeedPerturbation((1.25, 1.25))(tone)
    peak = torch.fft.rfft(faster).abs().argmax().item() * 8000 / len(faster)
    assert abs(peak - 625) < 10


def test_the_training_command_trains_the_recogniser_with_task_asr(monkeypatch):
    calls = []
    from tutorial_utils.cli import train

    monkeypatch.setattr(train, "train_recogniser", lambda argv: calls.append(argv) or [{"task": "asr"}])
    assert train.main(["--task", "asr", "--epochs", "3", "--leave-one-out"]) == [{"task": "asr"}]
    assert calls == [["--epochs", "3", "--leave-one-out"]]
