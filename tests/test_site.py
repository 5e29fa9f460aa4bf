"""The built site as a reader's browser shows it: headless Chromium (Debian's ``chromium`` and
``chromium-driver``), driven by selenium, opens every page of the book at laptop size (1366x900) and
phone size (390x844, as a phone: mobile viewport) and fails a page on

(a) an error in the browser's console (SEVERE log entries: script errors, a resource that did not
    load, a 404), or a request the test server answered with an error;
(b) a broken image (loaded, but no pixels: ``naturalWidth == 0``);
(c) raw TeX in the visible text once MathJax has run (``$...$``, ``\\(...\\)``, ``\\frac``...),
    outside code;
(d) at phone size, a sidebar toggle (chapter menu, page contents) whose menu does not open, on a
    click or on Enter, or does not close on Escape;
(e) a solution that does not open on a click in the middle of its title, or on Enter on its
    toggle button (and close on a second click);
(f) a figure (an SVG drawn by matplotlib, text kept as text) whose smallest text is shown under
    9 CSS px: the smallest font size among its texts, in SVG units, times the image's width on the
    page over the SVG's viewBox width;
(g) a table wider than the article column that cannot scroll sideways (no ancestor up to the
    article, nor the table itself, with ``overflow-x: auto`` or ``scroll``);
(h) at phone size, a page wider than the screen (a phone then widens the layout past the screen and
    the reader scrolls sideways; the widest element that no scrolling box holds is named).

All problems of one page at one size are reported in one assertion. The site is the session's
book build (tests/conftest.py), served over http on 127.0.0.1; BOOK_SITE_DIR=.../_build/html
tests an existing build instead. Two pages are also opened from disk (file://), at laptop size. One browser per
window size serves every page; waits are for conditions, with generous limits.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.book

APT_INSTALL = "apt-get install -y --no-install-recommends chromium chromium-driver"
SIZES = {"laptop": (1366, 900, False), "phone": (390, 844, True)}
MIN_FIGURE_TEXT_PX = 9.0
WAIT_S = 30  # the longest wait for a condition (page load, MathJax, a menu, a solution)
SHOWN = 4  # examples shown per kind of problem


def _toc_pages() -> list[str]:
    """The book's pages in toc order (book/_toc.yml), as paths of the built site."""
    toc = (ROOT / "book" / "_toc.yml").read_text()
    files = re.findall(r"^root:\s*(\S+)", toc, flags=re.M) + re.findall(r"^\s*-?\s*file:\s*(\S+)", toc, flags=re.M)
    return [f"{name}.html" for name in files]


# The pages of the book, and the search page that Sphinx adds, opened with a query so that it runs a
# search (the site has no index page: html_use_index is off; test_every_linked_page_is_checked
# notices a page the site links to that is not here)
PAGES = [*_toc_pages(), "search.html?q=residual"]
FROM_DISK = ["book/intro.html", next(page for page in PAGES if page.startswith("notebooks/"))]


# --- the site, served -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def site(request: pytest.FixtureRequest) -> Path:
    """The built html: $BOOK_SITE_DIR if set, else the session's book build."""
    given = os.environ.get("BOOK_SITE_DIR")
    if given:
        path = Path(given).resolve()
        assert (path / "book" / "intro.html").is_file(), f"BOOK_SITE_DIR={given} holds no built book"
        return path
    return request.getfixturevalue("html")


@pytest.fixture(scope="session")
def linked(site: Path) -> set[str]:
    """The site's pages that its pages link to (paths in the site)."""
    found = set()
    site = site.resolve()
    for html in site.rglob("*.html"):
        if html.relative_to(site).parts[0].startswith("_"):
            continue
        for href in re.findall(r'(?:href|action)="([^"#?]+\.html)(?:[#?][^"]*)?"', html.read_text(errors="replace")):
            if re.match(r"[a-z]+:", href):
                continue
            target = (html.parent / href).resolve()
            if target.is_relative_to(site) and target.is_file():
                found.add(target.relative_to(site).as_posix())
    return found


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        code = getattr(code, "value", code)
        if str(code).isdigit() and int(code) >= 400:
            self.server.errors.append(f"{code} {self.path}")  # type: ignore[attr-defined]


@dataclass
class Server:
    url: str
    errors: list[str]


@pytest.fixture(scope="session")
def server(site: Path):
    """The site over http on 127.0.0.1 (a free port), in a thread; `errors` collects the requests
    it answered with 4xx/5xx."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    httpd.errors = []  # type: ignore[attr-defined]
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_address[1]}/", httpd.errors)  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()
    thread.join()


# --- the browser ------------------------------------------------------------------------------

def _unavailable(why: str) -> None:
    message = f"{why}: the browser tests need selenium (requirements.txt) and Debian's headless Chromium: {APT_INSTALL}"
    if os.environ.get("CI"):  # .ci/run installs them: a skip there would hide a broken install
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """The paths of Chromium and its chromedriver, or a skip that says how to install them."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        _unavailable("selenium is not installed")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.access(p, os.X_OK)), None)
    if not browser or not driver:
        _unavailable("no chromium" if not browser else "no chromedriver")
    return browser, driver


@dataclass
class Browser:
    driver: Any
    size: str

    @property
    def label(self) -> str:
        width, height, _ = SIZES[self.size]
        return f"{self.size} {width}x{height}"


@contextlib.contextmanager
def open_chromium(chromium: tuple[str, str], size: str, arguments: tuple[str, ...] = ()) -> Iterator[Any]:
    """A headless Chromium whose viewport is SIZES[size], as a laptop's window or a phone's screen
    (mobile: the page's <meta name="viewport"> applies, as on a phone), with its console logged;
    `arguments` are added to Chromium's command line."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    width, height, mobile = SIZES[size]
    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update",
                     f"--window-size={width},{height}", *arguments):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromium[1]))
    try:
        driver.set_page_load_timeout(120)
        driver.set_script_timeout(120)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module", params=list(SIZES))
def browser(request: pytest.FixtureRequest, chromium: tuple[str, str]):
    """One headless Chromium per window size, reused for every page."""
    with open_chromium(chromium, request.param, ("--allow-file-access-from-files",)) as driver:
        yield Browser(driver, request.param)


# --- what runs in the page --------------------------------------------------------------------

WAIT_FOR_MATHJAX = r"""
const done = arguments[arguments.length - 1];
const script = [...document.scripts].find((s) => /mathjax/i.test(s.src));
// the search page typesets its results' excerpts as they arrive (site_fixes.js marks it done)
const results = document.getElementById("search-results");
const excerpts = (resolve) => {
  const started = Date.now();
  const poll = () => (!results || results.dataset.typeset === "true" || Date.now() - started > 20000
    ? resolve() : setTimeout(poll, 100));
  poll();
};
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => new Promise(excerpts)).then(() => done("typeset"), (e) => done("MathJax failed: " + e));
} else if (script) {
  done("MathJax did not load (from " + script.src + ")");
} else {
  done("the page loads no MathJax");
}
"""

IMAGES_LOADED = r"""
for (const img of document.images) if (img.loading === "lazy") img.loading = "eager";
return [...document.images].every((img) => img.complete);
"""

BROKEN_IMAGES = r"""
return [...document.images].filter((img) => img.complete && img.naturalWidth === 0)
  .map((img) => img.getAttribute("src"));
"""

RAW_TEX = r"""
const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
const skip = "code, pre, kbd, samp, script, style, textarea, mjx-container, mjx-assistive-mml";
const tex = /\$\$|\\\(|\\\)|\\\[|\\\]|\\[A-Za-z]{2,}|\$[^$\s][^$]*\$/;
const found = [];
const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const match = tex.exec(node.data);
  if (!match) continue;
  const parent = node.parentElement;
  if (!parent || parent.closest(skip)) continue;
  if (!parent.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
  const at = Math.max(0, match.index - 20);
  found.push(node.data.slice(at, match.index + match[0].length + 40).replace(/\s+/g, " ").trim());
}
const errors = [...article.querySelectorAll("mjx-merror")].map((e) => e.getAttribute("data-mjx-error") || e.textContent);
return {found: found, typeset: document.querySelectorAll("mjx-container").length, errors: errors};
"""

WIDE_TABLES = r"""
const article = document.querySelector("article.bd-article") || document.querySelector("main");
if (!article) return [];
const column = article.getBoundingClientRect().width;
const stuck = [];
for (const table of article.querySelectorAll("table")) {
  if (!table.checkVisibility()) continue;
  const width = Math.max(table.scrollWidth, table.getBoundingClientRect().width);
  if (width <= column + 1) continue;
  let scrolls = false;
  for (let el = table; el && el !== article; el = el.parentElement) {
    const overflow = getComputedStyle(el).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && el.getBoundingClientRect().width <= column + 1) {
      scrolls = true;
      break;
    }
  }
  if (!scrolls) {
    const caption = table.querySelector("caption");
    const head = (caption || table.querySelector("th, td") || table).textContent.trim().slice(0, 40);
    stuck.push(`a table ${Math.round(width)} px wide in a ${Math.round(column)} px column ("${head}...")`);
  }
}
return stuck;
"""

# Each SVG figure's smallest text: the SVG is parsed and laid out off-screen at one CSS px per SVG
# unit (width and height = its viewBox), and its texts' computed font sizes are scaled by their
# transforms; measured once per SVG (arguments[0]: those measured on earlier pages), as well as the
# image's width on the page.
FIGURE_TEXT = r"""
const known = new Set(arguments[0]);
const done = arguments[arguments.length - 1];
const article = document.querySelector("article.bd-article") || document.body;
const images = [...article.querySelectorAll("img")].filter((img) => /\.svg$/i.test(new URL(img.src).pathname));
const scale = (m) => Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
async function measure(img, index) {
  const figure = img.closest("figure");
  const number = figure && figure.querySelector(".caption-number");
  const path = new URL(img.src).pathname;
  const name = (number ? number.textContent.trim() : `figure ${index + 1} of ${images.length}`)
    + " (" + path.split("/").pop() + ")";
  const shown = img.getBoundingClientRect().width;
  if (shown === 0 || known.has(path)) return {name, path, shown};
  const text = await (await fetch(img.src)).text();
  const svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
  const box = (svg.getAttribute("viewBox") || "").trim().split(/[\s,]+/).map(Number);
  if (box.length !== 4 || !(box[2] > 0)) return {name, path, shown, error: "no viewBox"};
  const holder = document.createElement("div");
  holder.style.cssText = "position:absolute;left:-100000px;top:0;visibility:hidden;";
  // only the texts and the groups around them are laid out (the drawing itself is slow to lay out)
  for (const el of svg.querySelectorAll("path, image, use, rect, circle, ellipse, line, polyline, polygon, clipPath, mask, pattern, metadata, style")) el.remove();
  const node = document.importNode(svg, true);
  node.setAttribute("width", box[2]);
  node.setAttribute("height", box[3]);
  holder.appendChild(node);
  document.body.appendChild(holder);
  let units = null, sample = "";
  try {
    const root = scale(node.getScreenCTM());
    for (const t of node.querySelectorAll("text, tspan")) {
      if (!t.textContent.trim()) continue;
      const size = parseFloat(getComputedStyle(t).fontSize) * scale(t.getScreenCTM()) / root;
      if (units === null || size < units) { units = size; sample = t.textContent.trim().slice(0, 24); }
    }
  } finally {
    holder.remove();
  }
  return {name, path, shown, svg: {units, viewbox: box[2], sample}};
}
Promise.all(images.map((img, i) => measure(img, i).catch((e) => ({name: img.getAttribute("src"), error: String(e)}))))
  .then(done, (e) => done([{name: "?", error: String(e)}]));
"""

SOLUTION_OPEN = r"""
const solution = arguments[0];
if (solution.tagName === "DETAILS" && !solution.open) return false;
const body = [...solution.children].filter((el) => !el.matches(".admonition-title, summary"));
return body.some((el) => el.checkVisibility({visibilityProperty: true, opacityProperty: true})
  && el.getBoundingClientRect().height > 0);
"""

DIALOG_OPEN = r"""
const dialog = document.getElementById(arguments[0]);
if (!dialog || !dialog.open || !dialog.checkVisibility({visibilityProperty: true, opacityProperty: true})) return false;
const box = dialog.getBoundingClientRect();
if (box.width < 50 || box.height < 50 || box.right <= 0 || box.left >= window.innerWidth) return false;
return [...dialog.querySelectorAll("a")].some((a) => a.checkVisibility() && a.getBoundingClientRect().width > 0);
"""


# --- the checks -------------------------------------------------------------------------------

PAGE_WIDTH = r"""
const width = Math.max(window.innerWidth, document.documentElement.scrollWidth);
let widest = null, right = arguments[0];
for (const el of document.querySelectorAll("body *")) {
  const box = el.getBoundingClientRect();
  if (box.right <= right + 1 || getComputedStyle(el).position === "fixed") continue;
  let held = false;  // inside a box that scrolls or clips sideways (or a fixed one, such as a drawer)
  for (let p = el.parentElement; p && !held; p = p.parentElement) {
    const style = getComputedStyle(p);
    held = style.overflowX !== "visible" || style.position === "fixed";
  }
  if (!held) {
    right = box.right;
    widest = `${el.tagName.toLowerCase()}.${[...el.classList].join(".")} ("${el.textContent.trim().slice(0, 50)}")`;
  }
}
return [width, widest];
"""


def _examples(items: list[str]) -> str:
    more = f" (and {len(items) - SHOWN} more)" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


SETTLED = r"""
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 0)));
"""

_TIMED_OUT: set[str] = set()  # the kinds of wait that have timed out in this session


def _wait(driver: Any, condition, kind: str, timeout: float = WAIT_S) -> bool:
    """Whether `condition(driver)` comes true within `timeout` seconds. A kind of wait (e.g. "a
    solution opens on a click") that has timed out once in the session is not given the time
    again: it gets the condition once the page has handled its events and drawn two frames, so
    that a thing broken on every page costs its timeout once, not once a page."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    if kind in _TIMED_OUT:
        driver.execute_async_script(SETTLED)
        return bool(condition(driver))
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)
        return True
    except TimeoutException:
        _TIMED_OUT.add(kind)
        return False


def _click_center(driver: Any, element: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})", element)
    ActionChains(driver, duration=0).move_to_element(element).click().perform()


def _press(driver: Any, element: Any, key: str) -> bool:
    """Focus `element` and press `key` (a selenium Keys value) as a keyboard would; False if the
    element cannot take the focus."""
    from selenium.webdriver.common.action_chains import ActionChains

    focused = driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();"
        "return document.activeElement === arguments[0]", element)
    if focused:
        ActionChains(driver, duration=0).send_keys(key).perform()
    return bool(focused)


SOLUTIONS = r"""
return [...document.querySelectorAll("div.solution.dropdown, details.solution")].map((solution, i) => {
  const details = solution.tagName === "DETAILS";
  const title = solution.querySelector(details ? ":scope > summary" : ":scope > .admonition-title");
  const toggle = details ? title : solution.querySelector(":scope > .admonition-title .toggle-button");
  const name = title ? title.textContent.replace(/\s+/g, " ").trim() : "";
  return [solution, title, toggle, name || `solution ${i + 1}`];
});
"""


def _check_solutions(driver: Any, keyboard: bool) -> list[str]:
    """(e) Each solution opens on a click in the middle of its title; with `keyboard`, a second
    click closes it and Enter on its toggle opens it again. Each is left open, so that its content
    is checked too. (Where the middle of a title falls depends on the window's width; the rest
    does not, and is checked at one size.)"""
    from selenium.webdriver.common.keys import Keys

    problems = []
    for solution, title, toggle, name in driver.execute_script(SOLUTIONS):
        is_open = lambda d: d.execute_script(SOLUTION_OPEN, solution)  # noqa: E731
        if title is None:
            problems.append(f"(e) '{name}' has no title to click")
            continue
        if is_open(driver):
            problems.append(f"(e) '{name}' is open before any click")
            continue
        _click_center(driver, title)
        if not _wait(driver, is_open, "solution opens on a click"):
            problems.append(f"(e) '{name}' does not open on a click in the middle of its title")
        elif not keyboard:
            continue
        else:
            _click_center(driver, title)
            if not _wait(driver, lambda d: not is_open(d), "solution closes on a click"):
                problems.append(f"(e) '{name}' does not close on a second click on its title")
                continue
        if toggle is None:
            problems.append(f"(e) '{name}' has no toggle button to reach by keyboard")
        elif not _press(driver, toggle, Keys.ENTER):
            problems.append(f"(e) '{name}': its toggle cannot take the keyboard focus")
        elif not _wait(driver, is_open, "solution opens on Enter"):
            problems.append(f"(e) '{name}' does not open on Enter on its toggle")
    return problems


def _check_menus(driver: Any) -> list[str]:
    """(d) On a phone, each sidebar toggle opens its menu (pydata-sphinx-theme's <dialog>) on a
    click and on Enter, and Escape closes it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    problems = []
    for kind, menu in (("primary", "chapter menu"), ("secondary", "page contents")):
        dialog = f"pst-{kind}-sidebar-modal"
        toggles = [b for b in driver.find_elements(By.CSS_SELECTOR, f".{kind}-toggle") if b.is_displayed()]
        has_dialog = bool(driver.find_elements(By.ID, dialog))
        if kind == "secondary" and not toggles and not has_dialog:
            continue  # a page without contents
        if not toggles:
            problems.append(f"(d) no visible {kind} sidebar toggle ({menu})")
            continue
        if not has_dialog:
            problems.append(f"(d) the {kind} sidebar toggle ({menu}) has no #{dialog} to open")
            continue
        is_open = lambda d: d.execute_script(DIALOG_OPEN, dialog)  # noqa: E731
        closed = lambda d: not d.execute_script(f"return document.getElementById('{dialog}').open")  # noqa: E731
        for how in ("a click", "Enter"):
            if how == "a click":
                _click_center(driver, toggles[0])
            elif not _press(driver, toggles[0], Keys.ENTER):
                problems.append(f"(d) the {kind} sidebar toggle ({menu}) cannot take the keyboard focus")
                continue
            if not _wait(driver, is_open, f"{kind} menu opens on {how}"):
                problems.append(f"(d) the {menu} (#{dialog}) does not open, with its links visible, on {how} on its toggle")
                driver.execute_script(f"document.getElementById('{dialog}').close()")
                continue
            ActionChains(driver, duration=0).send_keys(Keys.ESCAPE).perform()
            if not _wait(driver, closed, f"{kind} menu closes on Escape"):
                problems.append(f"(d) the {menu} (#{dialog}) does not close on Escape")
                driver.execute_script(f"document.getElementById('{dialog}').close()")
    return problems


_SVG_TEXT: dict[str, dict] = {}  # an SVG's path on the site: its smallest text, in SVG units


def _check_figures(driver: Any) -> list[str]:
    """(f) every SVG figure's smallest text is at least 9 CSS px as shown."""
    problems = []
    for figure in driver.execute_async_script(FIGURE_TEXT, list(_SVG_TEXT)):
        if figure.get("error"):
            problems.append(f"(f) {figure['name']}: could not measure its text ({figure['error']})")
            continue
        if figure.get("svg"):
            _SVG_TEXT[figure["path"]] = figure["svg"]
        svg = _SVG_TEXT.get(figure["path"])
        if not svg or svg["units"] is None or not figure["shown"]:
            continue  # no text, or not shown (in a closed block)
        px = svg["units"] * figure["shown"] / svg["viewbox"]
        # one CSS px of the image's width allowed for rounding (an image's naturalWidth is whole
        # pixels: a 538.1-unit SVG held at 1 px per unit may be laid out 537.75 px wide)
        if svg["units"] * (figure["shown"] + 1) / svg["viewbox"] < MIN_FIGURE_TEXT_PX:
            problems.append(
                f"(f) {figure['name']}: text '{svg['sample']}' shown at {px:.1f} px "
                f"({svg['units']:.3g} units in a {svg['viewbox']:.0f}-unit-wide SVG shown "
                f"{figure['shown']:.0f} px wide; {MIN_FIGURE_TEXT_PX:g} px needs "
                f"{svg['viewbox'] * MIN_FIGURE_TEXT_PX / svg['units']:.0f} px)")
    return problems


def _open_and_check(browser: Browser, url: str, server: Server | None) -> list[str]:
    """Every problem of the page at `url` at the browser's size, each a line starting (a)..(g)."""
    from selenium.common.exceptions import TimeoutException

    driver = browser.driver
    driver.get_log("browser")  # drop what earlier pages left
    if server:
        server.errors.clear()
    driver.get(url)
    problems: list[str] = []
    if not _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete", "page load", 120):
        problems.append("the page did not finish loading")
    try:
        mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX)
    except TimeoutException:
        mathjax = "MathJax did not finish typesetting in 120 s"
        problems.append(f"(c) {mathjax}")
    solutions = _check_solutions(driver, keyboard=browser.size == "laptop")  # first: it opens
    # every solution, whose content is checked next
    if not _wait(driver, lambda d: d.execute_script(IMAGES_LOADED), "images load"):
        problems.append("(b) images still loading after %d s" % WAIT_S)
    broken = driver.execute_script(BROKEN_IMAGES)
    problems += [f"(b) broken image {src}" for src in broken]
    tex = driver.execute_script(RAW_TEX)
    if tex["found"]:
        problems.append(f"(c) raw TeX in the text at {len(tex['found'])} places "
                        f"({'MathJax ran' if mathjax == 'typeset' else mathjax}; "
                        f"{tex['typeset']} formulas typeset), e.g.: " + _examples(tex["found"]))
    problems += [f"(c) MathJax could not typeset a formula: {error}" for error in tex["errors"]]
    if url.startswith("http"):  # fetch() of a file:// URL is refused
        problems += _check_figures(driver)
    problems += [f"(g) {table} cannot scroll sideways" for table in driver.execute_script(WIDE_TABLES)]
    problems += solutions
    if browser.size == "phone":
        problems += _check_menus(driver)
        screen = SIZES["phone"][0]
        width, widest = driver.execute_script(PAGE_WIDTH, screen)
        if width > screen:
            problems.append(f"(h) the page is {width} px wide on a {screen} px screen; widest: {widest}")
    # (a) last, so that it includes what the clicks set off
    errors = [f"{e['message']}" for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    problems += [f"(a) console error: {message}" for message in errors]
    if server:
        problems += [f"(a) the server answered {request}" for request in server.errors]
    return sorted(problems, key=lambda problem: problem[:3])  # (a) to (g), each in page order


def _report(where: str, problems: list[str]) -> None:
    """One failure for all the problems of a page at a size."""
    if problems:
        pytest.fail(f"{where}: {len(problems)} problem(s)\n  " + "\n  ".join(problems), pytrace=False)


# --- the tests --------------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(browser: Browser, server: Server, page: str):
    _report(f"{page} at {browser.label}", _open_and_check(browser, server.url + page, server))


@pytest.mark.parametrize("browser", ["laptop"], indirect=True)
@pytest.mark.parametrize("page", FROM_DISK)
def test_page_opened_from_disk(browser: Browser, site: Path, page: str):
    """The site works opened as files, without a server (figures' text is measured over http only)."""
    _report(f"file://.../{page} at {browser.label}", _open_and_check(browser, (site / page).as_uri(), None))


def test_every_linked_page_is_checked(linked: set[str]):
    """The pages above are all the site's pages a reader can reach by its links (index.html only
    redirects to the first page)."""
    missing = linked - {page.split("?")[0] for page in PAGES} - {"index.html"}
    assert not missing, f"pages linked from the site but not checked here: {sorted(missing)}"
