import pytest

from tutorial_utils import measured


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
