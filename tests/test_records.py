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
