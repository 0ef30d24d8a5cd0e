/* Starts the rule builder on every [data-builder] section of the page: on load, on
   content HTMX swaps in, and on a page restored from htmx's history cache (its
   builder was drawn by a script run that is gone). */

import { Builder } from "./builder.js";

function init(root) {
  (root || document).querySelectorAll("[data-builder]").forEach((section) => {
    if (section.kithBuilder) return;
    section.kithBuilder = new Builder(section);
    section.kithBuilder.boot();
  });
}

if (!window.KithBuilder) {
  window.KithBuilder = { init };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => { init(document); });
  } else {
    init(document);
  }
  document.addEventListener("htmx:load", (event) => { init(event.detail.elt); });
  document.addEventListener("htmx:historyRestore", () => { init(document); });
}
