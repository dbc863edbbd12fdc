// Content pages: copy to the clipboard in one click, and count a short post's characters.
// A file, not inline script (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";

  function copyFrom(id, trigger) {
    var field = document.getElementById(id);
    if (!field) { return; }
    var text = field.value !== undefined ? field.value : field.textContent;
    var done = function () {
      var box = field.closest(".share-result__box");
      var note = box && box.querySelector(".share-result__copied");
      if (note) { note.hidden = false; }
      if (trigger) { trigger.textContent = "Copied"; }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { field.select(); });
    } else {
      field.select();
      try { if (document.execCommand("copy")) { done(); } } catch (e) { /* the text stays selected */ }
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (button) {
      event.preventDefault();
      copyFrom(button.getAttribute("data-copy-target"), button);
    }
  });

  // A share link just made: copy its text at once (the click that asked for it is recent).
  document.addEventListener("htmx:afterSwap", function (event) {
    var box = event.target.querySelector && event.target.querySelector("[data-autocopy]");
    if (box) { copyFrom(box.getAttribute("data-autocopy"), box.querySelector("[data-copy-target]")); }
  });

  function updateCounter(field) {
    var out = document.querySelector('[data-counter-for="' + field.id + '"]');
    var max = parseInt(field.getAttribute("data-count"), 10);
    if (!out || !max) { return; }
    var left = max - field.value.length;
    out.textContent = left + " characters left";
    out.classList.toggle("counter--over", left < 0);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-count]")) { updateCounter(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-count]").forEach(updateCounter);
  });
})();
