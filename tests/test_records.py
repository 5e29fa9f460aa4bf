import json
import re
import shlex

import pytest
import torch

from tutorial_utils.book import measured, trained
from tutorial_utils.data import FSDD_SPEAKERS, FSDD_VERSION


def all_records():
    for name in measured.names():
        for record in measured.load(name):
            yield name, record
    for name in trained.names():
        yield f"trained/{name}", trained.record(name)


def test_every_measurement_says_how_and_where_it_was_run():
    assert measured.names(), "no measurement sets shipped"
    for name in measured.names():
        assert measured.load(name), name
    for name, record in all_records():
        missing = [key for key in measured.REQUIRED_KEYS if key not in record]
        assert not missing, f"{name}: a record lacks {missing}: {record}"
        assert record["command"].startswith(("python -m tutorial_utils.", "torchrun ")), record["command"]


def test_every_fsdd_record_names_its_speakers_and_repeats_them_in_its_command():
    """A normal download has six speakers and the authors' copy five: a record must say which it
    used, and its command must select exactly those, so that it reproduces on any download."""
    for name, record in all_records():
        if "fsdd" not in str(record.get("dataset", "fsdd")) and "train_clips" not in record:
            continue
        assert record.get("fsdd_version") == FSDD_VERSION, f"{name}: {record}"
        speakers = record.get("fsdd_speakers")
        assert speakers and set(speakers) <= set(FSDD_SPEAKERS), f"{name}: {record}"
        words = shlex.split(record["command"])
        if "tutorial_utils.benchmark" in words:
            continue  # throughput; the record's note says so
        assert "--speakers" in words, f"{name}: the command must repeat the speakers: {record['command']}"
        assert sorted(words[words.index("--speakers") + 1].split(",")) == sorted(speakers), name


def test_unknown_set_names_the_available_ones():
    with pytest.raises(FileNotFoundError, match="available"):
        measured.load("no-such-set")


def test_record_prints_one_json_line_with_the_command_commit_device_and_profile(capsys, monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    line = measured.record(("python", "-m", "tutorial_utils.train"), ["--limit", "4", "--save", "a b.pt"],
                           torch.device("cpu"), test_accuracy=0.5)
    printed = json.loads(capsys.readouterr().out)
    assert printed == line
    assert line["command"] == "python -m tutorial_utils.train --limit 4 --save 'a b.pt'"
    assert line["profile"] == "ci" and line["device"].startswith("CPU") and line["test_accuracy"] == 0.5
    assert line["torch"] == torch.__version__
    assert list(line)[:4] == ["command", "device", "profile", "commit"]


def test_source_version_is_a_commit_in_a_checkout_and_the_version_elsewhere(monkeypatch, tmp_path):
    version = measured.source_version()
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", version) or version.startswith("tutorial_utils "), version
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on the PATH: the installed version
    assert measured.source_version().startswith("tutorial_utils ")


def test_every_command_builds_its_record_with_the_one_writer():
    """No command line assembles a run record by hand."""
    from pathlib import Path

    import tutorial_utils

    package = Path(tutorial_utils.__file__).parent
    for path in package.rglob("*.py"):
        text = path.read_text()
        if path.name != "measured.py":
            assert "shlex.join" not in text and '"command":' not in text, f"{path}: use book.measured.record()"


def _run(speaker: str, seed: int, value: float) -> dict:
    return {"split": f"speaker-independent:{speaker}", "seed": seed, "acc": value, "train_seconds": 600}


def test_leave_one_out_table_averages_seeds_and_names_the_worst_speaker():
    recipes = {
        "two seeds": [_run("ann", 0, 0.9), _run("bob", 0, 0.7), _run("ann", 1, 0.8), _run("bob", 1, 0.9)],
        "one speaker": [_run("ann", 0, 0.5)],
    }
    table = measured.leave_one_out_table(recipes, "acc").splitlines()
    assert table[0].split()[:3] == ["recipe", "ann", "bob"]
    # ann: (0.9 + 0.8) / 2, bob: (0.7 + 0.9) / 2; seed means 80 % and 85 %; worst bob
    assert table[1].split() == ["two", "seeds", "85.0%", "80.0%", "82.5%", "80.0%", "85.0%", "bob", "80.0%", "10.0"]
    assert table[2].split() == ["one", "speaker", "50.0%", "10.0"]  # no mean without every speaker
    lower = measured.leave_one_out_table({"r": [_run("ann", 0, 0.1), _run("bob", 0, 0.3)]}, "acc", higher_is_better=False)
    assert lower.splitlines()[1].split()[-3:-1] == ["bob", "30.0%"]


def test_held_out_speaker_refuses_other_splits():
    assert measured.held_out_speaker({"split": "speaker-independent:nicolas"}) == "nicolas"
    for split in ("official", "speaker-independent:a,b", "speaker-dependent"):
        with pytest.raises(ValueError, match="not a leave-one-speaker-out run"):
            measured.held_out_speaker({"split": split})


def test_the_default_recipes_runs_cover_every_speaker_once_per_seed_and_nothing_else():
    """``is_default_spotter_run`` picks what chapters 5, 7 and 11 call the default recipe: for each
    seed, one run per held-out speaker, each run's command using no option that changes the recipe."""
    study = measured.load("kws_fsdd_speaker_study")
    chosen = [r for r in study if measured.is_default_spotter_run(r)]
    seeds = {r["seed"] for r in chosen}
    assert len(seeds) >= 2
    for seed in seeds:
        speakers = sorted(measured.held_out_speaker(r) for r in chosen if r["seed"] == seed)
        assert speakers == sorted(chosen[0]["fsdd_speakers"]), (seed, speakers)
    for run in chosen:
        assert not re.search(r"--(instance-norm|specaugment-masks|normalize|augment|average-last|synthetic-engine|model (?!res8\b)"
                             r"|epochs (?!25\b))", run["command"]), run["command"]
    assert not any(measured.is_default_spotter_run(r) for r in study if r.get("instance_norm") or r["normalize"] != "utterance"
                   or r.get("synthetic_engine"))
    assert not measured.is_default_spotter_run({**chosen[0], "synthetic_engine": "flite"})
