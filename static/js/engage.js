/* Engage: small behaviours on top of server-rendered pages. Everything works without it. */
(function () {
  "use strict";

  // On a phone the navigation is a scrolling strip: keep the current section in view.
  function revealCurrentNavItem() {
    var current = document.querySelector(".site-nav [aria-current='page']");
    var strip = document.querySelector(".site-nav");
    if (!current || !strip || strip.scrollWidth <= strip.clientWidth) {
      return;
    }
    strip.scrollLeft = current.offsetLeft - strip.clientWidth / 2 + current.offsetWidth / 2;
  }

  // Forms and buttons marked data-confirm="…" ask before they act (e.g. irreversible changes).
  function confirmBeforeSubmit(event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }

  // After htmx swaps content in, move focus to an element that asks for it (data-focus-after-swap),
  // so keyboard and screen-reader users land on what changed.
  function focusAfterSwap(event) {
    var target = event.detail && event.detail.target;
    var root = target && target.isConnected ? target : document;
    var wanted = root.querySelector ? root.querySelector("[data-focus-after-swap]") : null;
    if (wanted) {
      wanted.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", revealCurrentNavItem);
  document.addEventListener("submit", confirmBeforeSubmit, true);
  document.addEventListener("htmx:afterSettle", focusAfterSwap);
})();
