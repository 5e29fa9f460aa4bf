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
