/* The live keyword spotter of chapter 10: say a digit, and the chapter's model (exported to ONNX)
 * recognises it here, in the page, with ONNX Runtime Web. book/_ext/spotter_demo.py puts
 * ONNX Runtime Web, the model and the sample clips into _static/spotter/ and adds this script
 * to the page that holds <div id="spotter-demo"></div>; the demo is built inside that element.
 *
 * 1. ONNX Runtime Web (its WebAssembly build, one thread) and the model load when the demo comes
 *    near the screen (the runtime is 15 MB: readers who stop earlier do not download it).
 * 2. Audio: 1.5 s from the microphone, or a sample clip, as 8 kHz mono samples in [-1, 1].
 * 3. The second the model hears: the 8000 samples with the most energy, centred on the word.
 * 4. The model: "waveform" [1, 8000] in, "probabilities" [1, 10] out (index k is digit k).
 *
 * For tests (and styles): data-state on #spotter-demo (loading, ready, recording, running, done,
 * error), and on the result element data-source, data-top-label (the digit), data-top-probability,
 * data-inference-ms (one run) and data-median-ms (the median of RUNS more runs).
 */
(() => {
  "use strict";

  const root = document.getElementById("spotter-demo");
  if (!root) return;

  // The files sit in _static/spotter/, beside this script (_static/spotter_demo.js?v=...).
  const BASE = new URL("spotter/", document.currentScript.src);
  const MODEL = "res8-fsdd.onnx";
  const ORT = "ort.wasm.bundle.min.mjs";

  const RATE = 8000; // the model's sample rate
  const WINDOW = RATE; // one second: the model's input length
  const RECORD_S = 1.5; // recorded: a late start does not cut the word
  const RUNS = 20; // runs of the same input for the median time (the first run is slow)
  const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
  const N_FFT = 256; // the picture's spectrogram: 32 ms frames every 8 ms, 0-4 kHz
  const HOP = 64;

  // --- the page ---------------------------------------------------------------------------------

  root.innerHTML = `
    <p class="spotter-intro">Press <strong>Record</strong> and say one digit, <em>zero</em> to
      <em>nine</em>. The page records 1.5 seconds, keeps the second with the most sound in it,
      centred on the word as the training clips were (so a late start does not cut the word off),
      and runs the model on that second here, in the page: your voice never leaves your computer.</p>
    <div class="spotter-controls">
      <button type="button" class="spotter-record" disabled>Record 1.5 s</button>
      <label class="spotter-clips" hidden>or a sample clip
        <select disabled><option value="">choose a digit…</option></select></label>
    </div>
    <p class="spotter-status" role="status"></p>
    <figure class="spotter-figure">
      <canvas width="600" height="200" role="img" aria-label="No audio yet"></canvas>
      <figcaption>Log-power spectrogram, 0 to 4 kHz from bottom to top. After a recording, the
        outlined second is what the model hears.</figcaption>
    </figure>
    <div class="spotter-result" aria-live="polite"></div>
    <p class="spotter-credit"></p>`;
  const recordButton = root.querySelector(".spotter-record");
  const clipLabel = root.querySelector(".spotter-clips");
  const clipSelect = clipLabel.querySelector("select");
  const status = root.querySelector(".spotter-status");
  const canvas = root.querySelector("canvas");
  const result = root.querySelector(".spotter-result");
  const credit = root.querySelector(".spotter-credit");

  /** A problem the reader can act on: its message is shown as it is. */
  class DemoError extends Error {}

  function setState(state, message) {
    root.dataset.state = state;
    status.textContent = message;
  }

  function showError(error) {
    const message = error instanceof DemoError ? error.message : `Something went wrong: ${error}`;
    setState("error", message);
  }

  // --- loading ONNX Runtime Web, the model and the clip list ---------------------------------------

  let ort = null;
  let session = null;

  async function load() {
    if (location.protocol === "file:") {
      // Chrome refuses a page opened from disk both the ES module and the fetch() of the
      // WebAssembly binary and the model; serving the folder is the reliable way.
      throw new DemoError(
        "Opened from disk: your browser does not let a page load WebAssembly from file://. Serve the " +
          "folder: python -m http.server -d build/_build/html, then open " +
          "http://localhost:8000/notebooks/10_small_fast_in_your_browser.html");
    }
    if (typeof WebAssembly !== "object") {
      throw new DemoError("This browser cannot run WebAssembly, which the demo needs (any current " +
        "Chrome, Edge, Firefox or Safari can).");
    }
    try {
      ort = await import(new URL(ORT, BASE).href);
      ort.env.wasm.numThreads = 1; // threads need SharedArrayBuffer, which a plain static server does not enable
      // the runtime from this site, not a CDN (its JavaScript loader is bundled in ORT's module)
      ort.env.wasm.wasmPaths = { wasm: new URL("ort-wasm-simd-threaded.wasm", BASE).href };
      ort.env.logLevel = "error";
      session = await ort.InferenceSession.create(new URL(MODEL, BASE).href, { executionProviders: ["wasm"] });
    } catch (error) {
      throw new DemoError(`ONNX Runtime Web could not start, so the demo cannot run here (${error}).`);
    }
    const listing = await (await fetch(new URL("clips.json", BASE))).json();
    for (const clip of listing.clips) {
      clipSelect.add(new Option(`${clip.word} (${clip.speaker})`, clip.file));
    }
    if (listing.clips.length) {
      clipLabel.hidden = false;
      credit.textContent = `Sample clips: ${listing.credit}.`;
    }
  }

  // --- audio -----------------------------------------------------------------------------------

  // Band-limited resampling to 8 kHz of the microphone's samples (usually 48 kHz). Each new
  // sample is a weighted sum of the old samples around its time; the weights are a low-pass
  // filter (a sinc cut off just below 4 kHz, the new Nyquist frequency, tapered by a Hann window
  // 8 zero crossings to each side). Without the low-pass, everything between 4 kHz and the
  // microphone's Nyquist frequency would fold back into 0-4 kHz (aliasing) and blur the hiss of
  // "six" and "seven". (Playing the samples into an 8 kHz OfflineAudioContext converts them too,
  // but how well depends on the browser: Chrome interpolates linearly, with no such filter.)
  function resample(x, rateIn) {
    if (rateIn === RATE) return x;
    const step = rateIn / RATE; // old samples per new sample
    // the cutoff as a fraction of the old Nyquist frequency (4 kHz of 24 kHz: 1/6), 5% lower so
    // that the filter has stopped by 4 kHz; cutoff * sinc(cutoff * t) passes what is below it
    const cutoff = 0.95 * Math.min(1, 1 / step);
    const half = Math.ceil(8 / cutoff); // the filter's half-width, in old samples
    const y = new Float32Array(Math.floor(x.length / step));
    for (let n = 0; n < y.length; n++) {
      const centre = n * step;
      const first = Math.max(0, Math.ceil(centre - half));
      const last = Math.min(x.length - 1, Math.floor(centre + half));
      let sum = 0;
      for (let k = first; k <= last; k++) {
        const t = k - centre;
        const sinc = t === 0 ? 1 : Math.sin(Math.PI * cutoff * t) / (Math.PI * cutoff * t);
        sum += x[k] * cutoff * sinc * (0.5 + 0.5 * Math.cos((Math.PI * t) / half));
      }
      y[n] = sum;
    }
    return y;
  }

  // The recorder runs on the audio thread (an AudioWorklet) and hands each block of 128 samples
  // to the page; its code is this string, loaded from a blob: URL.
  const RECORDER = `registerProcessor("spotter-recorder", class extends AudioWorkletProcessor {
    process(inputs) {
      if (inputs[0].length) this.port.postMessage(inputs[0][0].slice());
      return true;
    }
  });`;
  const recorderUrl = URL.createObjectURL(new Blob([RECORDER], { type: "text/javascript" }));

  function microphoneError(error) {
    if (error.name === "NotAllowedError") {
      return new DemoError("The microphone was refused. Allow it for this page (the icon in the address " +
        "bar) and press Record again, or try a sample clip.");
    }
    if (error.name === "NotFoundError" || error.name === "OverconstrainedError") {
      return new DemoError("No microphone was found. Plug one in and press Record again, or try a sample clip.");
    }
    return new DemoError(`The microphone could not be opened (${error.name}: ${error.message}).`);
  }

  /** RECORD_S seconds from the microphone, at 8 kHz, drawn live on the canvas meanwhile. */
  async function recordMicrophone() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new DemoError(window.isSecureContext
        ? "This browser gives pages no microphone (no getUserMedia). Try a sample clip."
        : "Browsers give a microphone only to https:// pages and to http://localhost: open the book " +
          "from one of those to record, or try a sample clip.");
    }
    let stream;
    try {
      // the raw signal: no echo cancellation, noise suppression or automatic gain in between
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (error) {
      throw microphoneError(error);
    }
    const context = new AudioContext(); // at the device's rate, usually 48 kHz
    try {
      await context.audioWorklet.addModule(recorderUrl);
      const source = context.createMediaStreamSource(stream);
      const recorder = new AudioWorkletNode(context, "spotter-recorder", { numberOfOutputs: 0 });
      const analyser = new AnalyserNode(context, { fftSize: 2048, smoothingTimeConstant: 0 });
      source.connect(recorder);
      source.connect(analyser);
      const wanted = Math.round(RECORD_S * context.sampleRate);
      const recorded = new Float32Array(wanted);
      let have = 0;
      setState("recording", "Recording… say a digit now.");
      await new Promise((resolve) => {
        recorder.port.onmessage = ({ data }) => {
          recorded.set(data.subarray(0, wanted - have), have);
          have = Math.min(wanted, have + data.length);
          if (have === wanted) resolve();
        };
        drawLive(analyser, context.sampleRate, () => have / wanted);
      });
      recorder.port.onmessage = null;
      return resample(recorded, context.sampleRate);
    } finally {
      for (const track of stream.getTracks()) track.stop();
      await context.close();
    }
  }

  /** A sample clip's samples at 8 kHz. decodeAudioData converts a file to its context's sample
   * rate; the FSDD clips are 8 kHz already. (FSDD is mono: channel 0 is all of it.) */
  async function loadClip(file) {
    const response = await fetch(new URL(file, BASE));
    if (!response.ok) throw new DemoError(`The sample clip ${file} did not load (HTTP ${response.status}).`);
    const decoded = await new OfflineAudioContext(1, 1, RATE).decodeAudioData(await response.arrayBuffer());
    return decoded.getChannelData(0);
  }

  /** The audio, zero-padded on both sides to at least one second, and the start of the second
   * the model hears: the 8000 samples with the most energy, each sample's energy weighted by a
   * Hann window over the second, so that of the seconds holding the whole word the chosen one has
   * it in its middle, as in the training clips (centred, zero-padded). Tried every millisecond. */
  function loudestSecond(x) {
    const audio = new Float32Array(Math.max(WINDOW, x.length));
    audio.set(x, Math.floor((audio.length - x.length) / 2));
    const weights = hann(WINDOW);
    let best = 0;
    let bestEnergy = -1;
    for (let start = 0; start + WINDOW <= audio.length; start += RATE / 1000) {
      let energy = 0;
      for (let i = 0; i < WINDOW; i++) energy += weights[i] * audio[start + i] * audio[start + i];
      if (energy > bestEnergy) [best, bestEnergy] = [start, energy];
    }
    return { audio, start: best };
  }

  function hann(n) {
    return Float32Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  }

  // --- the spectrogram ---------------------------------------------------------------------------

  /** In-place radix-2 FFT of (re, im), whose length is a power of two. */
  function fft(re, im) {
    const n = re.length;
    for (let i = 1, j = 0; i < n; i++) { // bit-reversed order
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) {
        [re[i], re[j]] = [re[j], re[i]];
        [im[i], im[j]] = [im[j], im[i]];
      }
    }
    for (let size = 2; size <= n; size *= 2) { // butterflies
      const angle = (-2 * Math.PI) / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < size / 2; k++) {
          const wr = Math.cos(angle * k);
          const wi = Math.sin(angle * k);
          const a = start + k;
          const b = a + size / 2;
          const tr = re[b] * wr - im[b] * wi;
          const ti = re[b] * wi + im[b] * wr;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  }

  /** Power in dB of each frame (N_FFT samples, Hann-windowed, every HOP) and bin (0 to 4 kHz). */
  function logSpectrogram(x) {
    const frames = 1 + Math.floor((x.length - N_FFT) / HOP);
    const bins = N_FFT / 2 + 1;
    const window = hann(N_FFT);
    const db = new Float32Array(frames * bins);
    const re = new Float32Array(N_FFT);
    const im = new Float32Array(N_FFT);
    for (let f = 0; f < frames; f++) {
      for (let i = 0; i < N_FFT; i++) [re[i], im[i]] = [x[f * HOP + i] * window[i], 0];
      fft(re, im);
      for (let b = 0; b < bins; b++) db[f * bins + b] = 10 * Math.log10(re[b] * re[b] + im[b] * im[b] + 1e-10);
    }
    return { frames, bins, db };
  }

  // Viridis, from dark blue (quiet) to yellow (loud), as the book's figures colour spectrograms.
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function colour(level) { // level in [0, 1]
    const at = Math.min(1, Math.max(0, level)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(at));
    return VIRIDIS[i].map((c, k) => c + (VIRIDIS[i + 1][k] - c) * (at - i));
  }

  /** The whole audio's spectrogram (70 dB below its loudest point are black-blue), the second the
   * model hears outlined and the rest dimmed. */
  function drawSpectrogram(audio, start) {
    const { frames, bins, db } = logSpectrogram(audio);
    const top = db.reduce((a, b) => Math.max(a, b), -Infinity);
    const image = new ImageData(frames, bins);
    for (let f = 0; f < frames; f++) {
      for (let b = 0; b < bins; b++) {
        const [r, g, bl] = colour((db[f * bins + b] - top + 70) / 70);
        image.data.set([r, g, bl, 255], ((bins - 1 - b) * frames + f) * 4); // low frequencies at the bottom
      }
    }
    const picture = document.createElement("canvas");
    [picture.width, picture.height] = [frames, bins];
    picture.getContext("2d").putImageData(image, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(picture, 0, 0, canvas.width, canvas.height);
    const left = (start / audio.length) * canvas.width;
    const right = ((start + WINDOW) / audio.length) * canvas.width;
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.fillRect(0, 0, left, canvas.height);
    ctx.fillRect(right, 0, canvas.width - right, canvas.height);
    ctx.strokeStyle = "white";
    ctx.lineWidth = 3;
    ctx.strokeRect(left + 1.5, 1.5, right - left - 3, canvas.height - 3);
  }

  /** While recording: each animation frame, the analyser's latest spectrum (0-4 kHz) as a column,
   * at the time reached so far (`progress()`, 0 to 1). */
  function drawLive(analyser, rate, progress) {
    const ctx = canvas.getContext("2d");
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    const bins = Math.ceil((4000 / rate) * analyser.fftSize);
    ctx.fillStyle = `rgb(${VIRIDIS[0]})`;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    let drawn = 0;
    const frame = () => {
      const x = Math.round(progress() * canvas.width);
      if (x > drawn) {
        analyser.getFloatFrequencyData(spectrum);
        for (let y = 0; y < canvas.height; y++) {
          const bin = Math.floor(((canvas.height - 1 - y) / canvas.height) * bins);
          ctx.fillStyle = `rgb(${colour((spectrum[bin] + 100) / 70)})`; // -100 to -30 dB
          ctx.fillRect(drawn, y, x - drawn, 1);
        }
        drawn = x;
      }
      if (root.dataset.state === "recording") requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  // --- the model -------------------------------------------------------------------------------

  /** Run the model on the loudest second of `samples` (8 kHz) and show what it says. */
  async function classify(samples, source) {
    const { audio, start } = loudestSecond(samples);
    drawSpectrogram(audio, start);
    setState("running", "Running the model…");
    const feeds = { waveform: new ort.Tensor("float32", audio.slice(start, start + WINDOW), [1, WINDOW]) };
    let started = performance.now();
    const output = await session.run(feeds);
    const once = performance.now() - started;
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      started = performance.now();
      await session.run(feeds);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const median = (times[(RUNS - 1) >> 1] + times[RUNS >> 1]) / 2;
    const probabilities = Array.from(output.probabilities.data);
    const top = probabilities.map((p, digit) => ({ p, digit })).sort((a, b) => b.p - a.p).slice(0, 3);
    showResult(top, once, median, source);
    const heard = source === "microphone" ? "your recording" : `the sample clip ${source}`;
    canvas.setAttribute("aria-label", `Spectrogram of ${heard}; the model hears ${DIGITS[top[0].digit]}`);
    setState("done", `The model hears “${DIGITS[top[0].digit]}”.`);
  }

  function showResult(top, once, median, source) {
    const percent = (p) => `${(100 * p).toFixed(1)}%`;
    result.innerHTML = `<ol class="spotter-top">${top.map(({ p, digit }) => `
      <li><span class="spotter-word">${digit} ${DIGITS[digit]}</span>
        <span class="spotter-bar" aria-hidden="true"><span style="width: ${percent(p)}"></span></span>
        <span class="spotter-probability">${percent(p)}</span></li>`).join("")}
      </ol>
      <p class="spotter-timing">inference: ${once.toFixed(1)} ms; median of ${RUNS} more runs:
        ${median.toFixed(1)} ms (ONNX Runtime Web ${ort.env.versions.web}, WebAssembly, one thread)</p>`;
    Object.assign(result.dataset, {
      source,
      topLabel: String(top[0].digit),
      topProbability: top[0].p.toFixed(4),
      inferenceMs: once.toFixed(2),
      medianMs: median.toFixed(2),
    });
  }

  // --- wiring ----------------------------------------------------------------------------------

  // One task at a time (a recording, a clip), in the order asked for. The controls stay enabled
  // (disabling a focused control would throw the keyboard focus out of the demo).
  let queue = Promise.resolve();
  function run(task) {
    queue = queue.then(task).catch(showError);
  }

  recordButton.addEventListener("click", () => {
    if (root.dataset.state === "recording") return;
    run(async () => classify(await recordMicrophone(), "microphone"));
  });
  clipSelect.addEventListener("change", () => {
    const file = clipSelect.value;
    if (file) run(async () => classify(await loadClip(file), file));
  });

  function start() {
    setState("loading", "Loading ONNX Runtime Web and the model (15 MB, once)…");
    run(async () => {
      try {
        await load();
      } catch (error) {
        root.classList.add("spotter-unavailable"); // only the message stays
        throw error;
      }
      recordButton.disabled = clipSelect.disabled = false;
      setState("ready", "Ready: press Record, or choose a sample clip.");
    });
  }

  if (location.protocol !== "file:" && "IntersectionObserver" in window) {
    root.dataset.state = "waiting";
    const observer = new IntersectionObserver((entries) => {
      if (!entries.some((entry) => entry.isIntersecting)) return;
      observer.disconnect();
      start();
    }, { rootMargin: "800px 0px" });
    observer.observe(root);
  } else {
    start();
  }
})();
