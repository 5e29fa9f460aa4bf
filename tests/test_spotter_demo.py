"""The live keyword spotter at the end of chapter 10, as a reader uses it: headless Chromium opens
the chapter at laptop and phone size, with a fake microphone that plays an FSDD clip (Chrome's
``--use-file-for-fake-audio-capture``), presses Record with the keyboard and checks that the model
hears the clip's digit; then it picks a sample clip from the demo's list and checks that digit
too. A test fails on an error in the browser's console (SEVERE), a request the server answered
with an error, or a demo wider than the screen. The in-page median inference time (ONNX Runtime
Web, WebAssembly, one thread) is printed and recorded as a property of the test.

The site is the session's book build, or BOOK_SITE_DIR (tests/test_site.py's fixtures); FSDD must
be in the data directory (BOOK_DATA_DIR). What the build put into ``_static/spotter/`` is checked
too (book/_ext/spotter_demo.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from book_ext import load
from test_site import SIZES, Server, _press, chromium, open_chromium, server, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.book

PAGE = "notebooks/10_small_fast_in_your_browser.html"
# Said into the fake microphone: the shipped model hears "three" in it (p = 0.94 in the page).
# theo is not the speaker of the sample clips, whose take 0 is in FSDD's test set as this take 1 is.
MIC_CLIP, MIC_DIGIT = "3_theo_1.wav", 3
SAMPLE_CLIP, SAMPLE_DIGIT = "7_jackson_0.wav", 7
# Chrome plays the file in a loop from the start when the page opens the microphone: the word a
# quarter of a second in, then silence up to 2 s, so that the 1.5 s recorded hold the whole word once.
LEAD_S, LOOP_S = 0.25, 2.0
WAIT_S = 60  # the longest wait: ONNX Runtime Web (15 MB) and the model load, a recording, 21 runs

DEMO = "document.getElementById('spotter-demo')"
STATE = f"return {DEMO}.dataset.state"
RESULT = f"return {{...{DEMO}.querySelector('.spotter-result').dataset}}"
STATUS = f"return {DEMO}.querySelector('.spotter-status').textContent"
# The page wider than the screen, or the demo wider than its box: the widths that give it away.
OVERFLOW = f"""
const demo = {DEMO};
const page = document.documentElement.scrollWidth, screen = window.innerWidth;
return page > screen || demo.scrollWidth > demo.clientWidth || demo.getBoundingClientRect().right > screen
  ? `page ${{page}} px, screen ${{screen}} px, demo ${{demo.scrollWidth}} px in ${{demo.clientWidth}} px` : null;
"""


@pytest.fixture(scope="session")
def recordings() -> Path:
    """FSDD's recordings in the data directory, or a skip."""
    from tutorial_utils import config

    folder = config.data_dir() / "fsdd" / "recordings"
    if not (folder / MIC_CLIP).is_file():
        pytest.skip(f"FSDD is not in the data directory ({folder}; set BOOK_DATA_DIR): the spotter demo's "
                    f"test speaks {MIC_CLIP} into a fake microphone")
    return folder


@pytest.fixture(scope="session")
def microphone_wav(recordings: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone plays, in a loop: MIC_CLIP in LOOP_S seconds of silence, as the
    16-bit PCM WAV that Chrome reads."""
    clip, rate = soundfile.read(recordings / MIC_CLIP, dtype="float32")
    audio = np.zeros(round(LOOP_S * rate), dtype=np.float32)
    start = round(LEAD_S * rate)
    audio[start:start + len(clip)] = clip
    path = tmp_path_factory.mktemp("microphone") / "microphone.wav"
    soundfile.write(path, audio, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="module", params=list(SIZES))
def demo_browser(request: pytest.FixtureRequest, chromium: tuple[str, str], microphone_wav: Path):  # noqa: F811
    """Headless Chromium at one of test_site's sizes, whose microphone plays `microphone_wav`
    (the permission granted without asking)."""
    with open_chromium(chromium, request.param, (
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone_wav}")) as driver:
        yield driver


def _wait_for_state(driver, states: tuple[str, ...], also=lambda driver: True) -> str:
    """The demo's data-state once it is one of `states` and `also` holds; fails after WAIT_S
    with the demo's status line."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, WAIT_S, poll_frequency=0.1).until(
            lambda d: d.execute_script(STATE) in states and also(d))
    except TimeoutException:
        pytest.fail(f"the demo is '{driver.execute_script(STATE)}' after {WAIT_S} s, not {' or '.join(states)}: "
                    f"{driver.execute_script(STATUS)}", pytrace=False)
    return driver.execute_script(STATE)


def _check_page(built: Path) -> None:
    page = built / PAGE
    assert page.is_file(), f"the site has no {PAGE} (chapter 10, book/_toc.yml)"
    assert 'id="spotter-demo"' in page.read_text(), f'{PAGE} holds no <div id="spotter-demo"></div>'


# `recordings` first in each test's arguments: without FSDD the test skips before the book is built.
def test_the_build_ships_the_demo_files(recordings: Path, site: Path):  # noqa: F811
    """ONNX Runtime Web's files, its LICENSE, the model and one clip per digit of one speaker
    are in _static/spotter/, and only the chapter's page loads the demo's script."""
    _check_page(site)
    spotter_demo = load("spotter_demo")
    spotter = site / "_static" / "spotter"
    for name in (*spotter_demo.ORT_FILES, "LICENSE", f"{spotter_demo.MODEL}.onnx"):
        assert (spotter / name).is_file(), f"_static/spotter/{name} is missing"
    clips = json.loads((spotter / "clips.json").read_text())["clips"]
    assert [clip["digit"] for clip in clips] == list(range(10))
    assert {clip["speaker"] for clip in clips} == {spotter_demo.CLIP_SPEAKER}
    assert all((spotter / clip["file"]).is_file() for clip in clips)
    loading = {page.relative_to(site).as_posix() for page in site.rglob("*.html")
               if re.search(r'src="[^"]*spotter_demo\.js', page.read_text(errors="replace"))}
    assert loading == {PAGE}, f"pages that load spotter_demo.js: {sorted(loading)}"


def test_the_model_hears_the_digit(recordings: Path, site: Path, demo_browser, server: Server,  # noqa: F811
                                   record_property):
    """Record (the fake microphone says "three"), then a sample clip ("seven"), with no console error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    _check_page(site)
    driver = demo_browser
    driver.get_log("browser")  # drop what an earlier test left
    server.errors.clear()
    driver.get(server.url + PAGE)
    demo = driver.find_element(By.ID, "spotter-demo")
    # the runtime loads when the demo comes near the screen
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", demo)
    assert _wait_for_state(driver, ("ready", "error")) == "ready", driver.execute_script(STATUS)

    record = demo.find_element(By.CSS_SELECTOR, ".spotter-record")
    assert _press(driver, record, Keys.ENTER), "the Record button cannot take the keyboard focus"
    assert _wait_for_state(driver, ("done", "error")) == "done", driver.execute_script(STATUS)
    heard = driver.execute_script(RESULT)
    assert heard["source"] == "microphone"
    assert heard["topLabel"] == str(MIC_DIGIT), f"the model heard {heard} in {MIC_CLIP}"

    Select(demo.find_element(By.CSS_SELECTOR, ".spotter-clips select")).select_by_value(SAMPLE_CLIP)
    _wait_for_state(driver, ("done",), lambda d: d.execute_script(RESULT).get("source") == SAMPLE_CLIP)
    clip = driver.execute_script(RESULT)
    assert clip["topLabel"] == str(SAMPLE_DIGIT), f"the model heard {clip} in the sample clip {SAMPLE_CLIP}"

    overflow = driver.execute_script(OVERFLOW)
    assert overflow is None, f"the demo does not fit the screen: {overflow}"
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, "console errors:\n  " + "\n  ".join(errors)
    assert not server.errors, f"the server answered {server.errors}"

    median = float(clip["medianMs"])
    record_property("median_inference_ms", median)
    print(f"in-page inference, median of the runs on {SAMPLE_CLIP}: {median:.2f} ms "
          f"(the first run on the recording: {float(heard['inferenceMs']):.1f} ms)")
