import pytest

from tutorial_utils.book import measured


def test_every_measurement_says_how_and_where_it_was_run():
    assert measured.names(), "no measurement sets shipped"
    for name in measured.names():
        records = measured.load(name)
        assert records, name
        for record in records:
            missing = [key for key in measured.REQUIRED_KEYS if key not in record]
            assert not missing, f"{name}: a record lacks {missing}: {record}"
            assert record["command"].startswith("python -m tutorial_utils."), record["command"]


def test_unknown_set_names_the_available_ones():
    with pytest.raises(FileNotFoundError, match="available"):
        measured.load("no-such-set")


def test_record_prints_one_json_line_with_the_command_device_and_profile(capsys, monkeypatch):
    import json

    import torch

    monkeypatch.setenv("BOOK_PROFILE", "ci")
    line = measured.record(("python", "-m", "tutorial_utils.train"), ["--limit", "4", "--save", "a b.pt"],
                           torch.device("cpu"), test_accuracy=0.5)
    printed = json.loads(capsys.readouterr().out)
    assert printed == line
    assert line["command"] == "python -m tutorial_utils.train --limit 4 --save 'a b.pt'"
    assert line["profile"] == "ci" and line["device"].startswith("CPU") and line["test_accuracy"] == 0.5
    assert list(line)[:3] == ["command", "device", "profile"]


def test_every_command_builds_its_record_with_the_one_writer():
    """No command line assembles a run record by hand."""
    from pathlib import Path

    import tutorial_utils

    package = Path(tutorial_utils.__file__).parent
    for path in package.rglob("*.py"):
        text = path.read_text()
        if path.name != "measured.py":
            assert "shlex.join" not in text and '"command":' not in text, f"{path}: use book.measured.record()"
