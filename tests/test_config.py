"""The run profile, data directory and device come from one place: tutorial_utils.config."""

from pathlib import Path

import pytest
import torch

from tutorial_utils import config


@pytest.mark.parametrize("cuda, expected", [(True, "gpu"), (False, "cpu")])
@pytest.mark.parametrize("unset", ["missing", "empty"])
def test_unset_profile_follows_the_machine(monkeypatch, cuda, expected, unset):
    if unset == "missing":
        monkeypatch.delenv(config.PROFILE_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(config.PROFILE_VARIABLE, " ")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(config, "device_name", lambda dev=None: "a test device")
    assert config.profile() == expected
    assert "chosen by this machine" in config.describe()
    assert f"%env {config.PROFILE_VARIABLE}=" in config.describe()


def test_a_set_profile_wins_over_the_machine(monkeypatch):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(config, "device_name", lambda dev=None: "a test device")
    assert config.profile() == "cpu"
    assert f"set by {config.PROFILE_VARIABLE}" in config.describe()


@pytest.mark.parametrize("name", config.PROFILES)
def test_profile_is_read_from_the_variable(monkeypatch, name):
    monkeypatch.setenv(config.PROFILE_VARIABLE, name.upper())
    assert config.profile() == name


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "laptop")
    with pytest.raises(ValueError, match="ci, cpu, gpu"):
        config.profile()


def test_by_profile_picks_the_current_value(monkeypatch):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "ci")
    assert config.by_profile(ci=1, cpu=20, gpu=40) == 1
    monkeypatch.setenv(config.PROFILE_VARIABLE, "gpu")
    assert config.by_profile(ci=1, cpu=20, gpu=40) == 40


def test_data_dir_from_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(config.DATA_DIR_VARIABLE, str(tmp_path))
    assert config.data_dir() == tmp_path.resolve()


def test_data_dir_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(config.DATA_DIR_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.data_dir() == Path(tmp_path) / "resnet-speech-book"


def test_device_is_usable():
    x = torch.ones(2, device=config.device())
    assert x.sum().item() == 2.0
    assert config.device_name()


def test_describe_names_profile_and_device(monkeypatch):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "ci")
    line = config.describe()
    assert "profile=ci" in line and "device=" in line and torch.__version__ in line


def test_only_config_reads_environment_variables():
    package = Path(config.__file__).parent
    offenders = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if p.name != "config.py" and ("os.environ" in p.read_text() or "getenv" in p.read_text())
    ]
    assert offenders == [], f"only config.py may read environment variables: {offenders}"
