"""Listen, Attend and Spell (models/las.py, training/las.py): shapes, masking, teacher forcing, targets."""

import torch

from tutorial_utils.data.text import DIGITS
from tutorial_utils.models.asr import RecognizerConfig
from tutorial_utils.models.las import END, AttentionSpeller, ListenAttendSpell
from tutorial_utils.training.las import IGNORE, end_terminated, las_step

SMALL = RecognizerConfig(channels=16, kernels=(5,), repeats=1)  # a tiny listener, for speed


def test_end_terminated_targets():
    targets = torch.tensor([[3, 4, 5], [7, 0, 0]])
    fed, expected = end_terminated(targets, torch.tensor([3, 1]))
    assert fed.tolist() == [[3, 4, 5, END], [7, END, END, END]]
    assert expected.tolist() == [[3, 4, 5, END], [7, END, IGNORE, IGNORE]]


def test_attention_weights_are_a_distribution_that_ignores_padding():
    torch.manual_seed(0)
    speller = AttentionSpeller(len(DIGITS), 8)
    values = torch.randn(2, 6, 8)
    mask = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    logits, attention = speller(values, mask, torch.tensor([[1, 2, END], [3, END, END]]))
    assert logits.shape == (2, 3, len(DIGITS)) and attention.shape == (2, 3, 6)
    assert torch.allclose(attention.sum(-1), torch.ones(2, 3))
    assert attention[1, :, 4:].abs().max() == 0
    changed = values.clone()
    changed[1, 4:] = 100.0  # what lies in the padding cannot change the output
    assert torch.allclose(speller(changed, mask, torch.tensor([[1, 2, END], [3, END, END]]))[0][1], logits[1], atol=1e-6)


def test_teacher_forcing_feeds_the_true_previous_label():
    """The logits at step u depend on targets[:, u - 1] and not on targets[:, u]."""
    torch.manual_seed(0)
    speller = AttentionSpeller(len(DIGITS), 8).eval()
    values, mask = torch.randn(1, 5, 8), torch.zeros(1, 5, dtype=torch.bool)
    a, _ = speller(values, mask, torch.tensor([[1, 2, 3]]))
    b, _ = speller(values, mask, torch.tensor([[1, 2, 9]]))
    c, _ = speller(values, mask, torch.tensor([[1, 7, 3]]))
    assert torch.allclose(a, b)  # the last label is never fed
    assert torch.allclose(a[:, :2], c[:, :2]) and not torch.allclose(a[:, 2], c[:, 2])


def test_greedy_decoding_agrees_with_teacher_forcing_on_its_own_output():
    torch.manual_seed(0)
    speller = AttentionSpeller(len(DIGITS), 8).eval()
    values, mask = torch.randn(1, 5, 8), torch.zeros(1, 5, dtype=torch.bool)
    spelled, attention = speller.greedy(values, mask, max_labels=4)
    steps = attention.shape[1]
    fed = torch.tensor([(spelled[0] + [END] * steps)[:steps]])
    logits, forced_attention = speller(values, mask, fed)
    assert logits.argmax(-1)[0, : len(spelled[0])].tolist() == spelled[0]
    assert torch.allclose(forced_attention, attention)


def test_a_training_step_reduces_the_loss_and_reaches_the_listener():
    torch.manual_seed(0)
    model = ListenAttendSpell(len(DIGITS), SMALL)
    batch = (torch.randn(2, 4000), torch.tensor([4000, 3000]), torch.tensor([[3, 4], [5, 0]]), torch.tensor([2, 1]))
    step = las_step()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss, count, _ = step(model, batch, torch.device("cpu"), lambda: torch.autocast("cpu", enabled=False))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert count == 2 and losses[-1] < 0.5 * losses[0]
    assert next(model.listener.parameters()).grad.abs().sum() > 0


def test_transcribe_shapes():
    model = ListenAttendSpell(len(DIGITS), SMALL).eval()
    spelled, attention = model.transcribe(torch.randn(3, 4000), torch.tensor([4000, 4000, 2000]), max_labels=6)
    assert len(spelled) == 3 and all(len(s) <= 6 and END not in s for s in spelled)
    assert attention.shape[0] == 3 and attention.shape[1] <= 6
