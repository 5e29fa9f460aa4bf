"""The live keyword spotter at the end of chapter 10: the reader says a digit into their
microphone and the chapter's model, exported to ONNX, recognises it in the page itself, with
ONNX Runtime Web (WebAssembly). Nothing is fetched from another site when the page is read: at
``builder-inited`` (html builders only, not the PDF) this extension puts into the site's
``_static/spotter/``

* ONNX Runtime Web's WebAssembly build (the npm package ``onnxruntime-web``, the version pinned
  below): ``ort.wasm.bundle.min.mjs`` (the JavaScript API with Emscripten's loader bundled in, an
  ES module) and ``ort-wasm-simd-threaded.wasm`` (the runtime itself: the CPU execution provider,
  the only one the page uses), with ONNX Runtime's LICENSE. The package's tarball is downloaded
  once into ``build/vendor/`` and checked against npm's sha512 before anything is taken from it;
* the model, ``res8-fsdd.onnx`` (``_write_model``);
* ten sample clips, one per digit, all said by one FSDD speaker, and ``clips.json`` listing them
  (an empty list when FSDD is not in the data directory: the page then hides its clip picker).

The page that holds ``<div id="spotter-demo"></div>`` (raw HTML in the chapter's markdown) gets
``_static/spotter_demo.js`` and ``.css`` (``html-page-context``); no other page loads them. The
script builds the demo inside that element (see its header).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import SphinxError

ROOT = Path(__file__).resolve().parents[2]  # the repository
VENDOR = ROOT / "build" / "vendor"  # downloads kept between builds

ORT_VERSION = "1.31.1"
ORT_URL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{ORT_VERSION}.tgz"
# npm's "integrity" of that tarball (`npm view onnxruntime-web@1.31.1 dist.integrity`)
ORT_INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
# From the package's dist/: the WebAssembly CPU build as one ES module (its loader for the .wasm
# bundled in) and the runtime it loads. Single-threaded use needs no other file.
ORT_FILES = ("ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm")
# The npm package carries no LICENSE file (its README points to the repository's): this is the
# LICENSE of github.com/microsoft/onnxruntime, as the onnxruntime wheel also ships it.
ORT_LICENSE = """\
MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

MODEL = "res8-fsdd"
# The sample clips: take 0 (FSDD's test takes are 0-4, which the model never trained on) of each
# digit by one speaker, chosen once so that every build ships the same ten files.
CLIP_SPEAKER, CLIP_TAKE = "jackson", 0
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FSDD_CREDIT = "Free Spoken Digit Dataset v1.0.10 (CC BY-SA 4.0)"

DEMO_ELEMENT = 'id="spotter-demo"'


class SpotterDemoError(SphinxError):
    category = "Spotter demo error"


def _integrity_matches(data: bytes) -> bool:
    algorithm, _, expected = ORT_INTEGRITY.partition("-")
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == expected


def _ort_tarball() -> Path:
    """The onnxruntime-web tarball in build/vendor/, downloaded (and checked) if not there yet."""
    cached = VENDOR / Path(ORT_URL).name
    if cached.is_file() and _integrity_matches(cached.read_bytes()):
        return cached
    try:
        with urllib.request.urlopen(ORT_URL, timeout=120) as response:
            data = response.read()
    except OSError as error:  # URLError, a timeout, a refused connection
        raise SpotterDemoError(
            f"could not download {ORT_URL} ({error}): check that this machine reaches registry.npmjs.org "
            f"and build again, or download that file on another machine and copy it to {cached}") from None
    if not _integrity_matches(data):
        raise SpotterDemoError(
            f"{ORT_URL} does not match its pinned sha512 ({ORT_INTEGRITY}): something between this machine "
            f"and registry.npmjs.org altered it; build again on another network, or download that file "
            f"on another machine, check it (npm view onnxruntime-web@{ORT_VERSION} dist.integrity) and "
            f"copy it to {cached}")
    VENDOR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(cached)  # all at once: an interrupted build leaves no half file behind
    return cached


def _write_ort(spotter: Path) -> None:
    """ONNX Runtime Web's files the page needs, and its LICENSE, into `spotter`."""
    with tarfile.open(_ort_tarball()) as tar:
        for name in ORT_FILES:
            source = tar.extractfile(f"package/dist/{name}")
            with source, open(spotter / name, "wb") as target:
                shutil.copyfileobj(source, target)
    (spotter / "LICENSE").write_text(ORT_LICENSE)


def _write_model(static_dir: Path) -> Path:
    """The shipped keyword spotter as ONNX: `static_dir`/spotter/res8-fsdd.onnx."""
    from tutorial_utils.compression.export import export_shipped_spotter

    return export_shipped_spotter(MODEL, static_dir / "spotter" / f"{MODEL}.onnx")


def _write_clips(spotter: Path) -> None:
    """One FSDD clip per digit, all by CLIP_SPEAKER, and clips.json listing them (no clips, and an
    empty list, without FSDD in the data directory)."""
    from tutorial_utils import config

    recordings = config.data_dir() / "fsdd" / "recordings"
    clips = []
    for digit, word in enumerate(DIGITS):
        source = recordings / f"{digit}_{CLIP_SPEAKER}_{CLIP_TAKE}.wav"
        if source.is_file():
            shutil.copyfile(source, spotter / source.name)
            clips.append({"file": source.name, "digit": digit, "word": word, "speaker": CLIP_SPEAKER})
    listing = {"credit": FSDD_CREDIT, "clips": clips}
    (spotter / "clips.json").write_text(json.dumps(listing, indent=1) + "\n")


def _vendor(app: Sphinx) -> None:
    """Fill <outdir>/_static/spotter/. Sphinx copies html_static_path into _static/ later, file
    by file, and removes nothing: what is written here stays."""
    if app.builder.format != "html":
        return
    static_dir = Path(app.outdir) / "_static"
    spotter = static_dir / "spotter"
    spotter.mkdir(parents=True, exist_ok=True)
    _write_ort(spotter)
    _write_model(static_dir)
    _write_clips(spotter)


def _add_assets(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """The demo's script and stylesheet, on the page that holds the demo only (Sphinx adds an
    asset registered during html-page-context to that page)."""
    if DEMO_ELEMENT in context.get("body", ""):
        app.add_js_file("spotter_demo.js", loading_method="defer")
        app.add_css_file("spotter_demo.css")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _vendor)
    app.connect("html-page-context", _add_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
