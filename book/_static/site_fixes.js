/* A click anywhere on a collapsed block's title toggles that block. sphinx-togglebutton 0.4.5
 * handles only clicks on the title's text or chevron: a click on the link inside a solution's
 * title ("Solution to Exercise 3 (...)") jumped to the exercise, threw "button is not defined"
 * and could toggle another solution. Ctrl/Cmd/Shift-click on the link still follows it. */
document.addEventListener(
  "click",
  (event) => {
    const title = event.target.closest(".admonition.toggle > .admonition-title");
    const button = title && title.querySelector(".toggle-button");
    if (!button) return;
    event.stopPropagation();
    if (event.target.closest("a") && (event.ctrlKey || event.metaKey || event.shiftKey)) return;
    event.preventDefault();
    toggleHidden(button);
  },
  true,
);

/* Figures keep their text readable on a phone. Each figure is an SVG drawn at most 7.5 inches
 * wide with no text under 9 points (tutorial_utils.plots.use_book_style). On a laptop it fits the
 * column at more than one CSS pixel per point; on a narrower screen it is not shrunk below one
 * pixel per point (so 9-point labels stay 9 pixels) and scrolls sideways in its own strip. */
function keepFigureReadable(img) {
  const points = img.naturalWidth * 0.75; // an SVG `width="Npt"` is N * 4/3 CSS pixels wide
  if (!points) return;
  img.style.minWidth = `${points}px`;
  if (!img.parentElement.classList.contains("figure-scroll")) {
    const strip = document.createElement("div");
    strip.className = "figure-scroll";
    img.replaceWith(strip);
    strip.appendChild(img);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const img of document.querySelectorAll('.bd-article img[src$=".svg"]')) {
    if (img.complete) keepFigureReadable(img);
    else img.addEventListener("load", () => keepFigureReadable(img), { once: true });
  }
});

/* Search results quote the pages' text, formulas included, after the page has loaded: typeset
 * them as they arrive (MathJax only processes elements with one of its classes). An excerpt can
 * cut a formula in two; the cut part is dropped. `data-typeset` tells tests when it is done. */
function wholeFormulas(text) {
  const firstOpen = text.search(/\\[([]/);
  const firstClose = text.search(/\\[)\]]/);
  if (firstClose !== -1 && (firstOpen === -1 || firstClose < firstOpen)) text = "…" + text.slice(firstClose + 2);
  const lastOpen = Math.max(text.lastIndexOf("\\("), text.lastIndexOf("\\["));
  const lastClose = Math.max(text.lastIndexOf("\\)"), text.lastIndexOf("\\]"));
  return lastOpen > lastClose ? text.slice(0, lastOpen) + "…" : text;
}

document.addEventListener("DOMContentLoaded", () => {
  const results = document.getElementById("search-results");
  if (!results || !window.MathJax) return;
  results.classList.add("mathjax_process");
  let pending = null;
  const typeset = () => {
    for (const excerpt of results.querySelectorAll("p.context:not([data-checked])")) {
      excerpt.textContent = wholeFormulas(excerpt.textContent);
      excerpt.dataset.checked = "true";
    }
    results.dataset.typeset = "false";
    MathJax.startup.promise
      .then(() => MathJax.typesetPromise([results]))
      .then(() => { results.dataset.typeset = "true"; });
  };
  new MutationObserver(() => {
    clearTimeout(pending);
    pending = setTimeout(typeset, 200);
  }).observe(results, { childList: true, subtree: true });
});
