// hookrelay dashboard: the little behaviour pages have beyond plain HTML. Everything works
// without it; it only adds copy buttons and confirmations. Served from this origin under the
// Content-Security-Policy (no inline script anywhere).
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent).then(function () {
      button.textContent = "Copied";
    });
  }
});
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
