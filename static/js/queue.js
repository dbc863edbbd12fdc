/* The query page: "use this message" puts an approved message into the answer and records
   which one it was; Ctrl+Enter (or Cmd+Enter) sends the answer. Without script the button
   still works: it submits the draft, and the server adds the message. No inline script (CSP). */
(function () {
  "use strict";

  // Where the person last put the cursor in the answer; until they do, text goes at the end.
  var caretPlaced = false;
  document.addEventListener("focusin", function (event) {
    if (event.target && event.target.id === "id_body") {
      caretPlaced = true;
    }
  });

  function insertAtCursor(field, text) {
    var start = caretPlaced ? field.selectionStart || 0 : field.value.length;
    var end = caretPlaced ? field.selectionEnd || 0 : field.value.length;
    var before = field.value.slice(0, start);
    var after = field.value.slice(end);
    var gapBefore = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
    var gapAfter = after && !/^\n/.test(after) ? "\n\n" : "";
    field.value = before + gapBefore + text + gapAfter + after;
    var caret = (before + gapBefore + text).length;
    field.setSelectionRange(caret, caret);
    // Tell listeners (the draft's autosave) that the text changed.
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function recordMessage(list, id, title) {
    if (list.querySelector('[data-message-id="' + id + '"]')) {
      return;
    }
    var item = document.createElement("li");
    item.className = "chip";
    item.setAttribute("data-message-id", id);
    item.textContent = title;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "message_ids";
    input.value = id;
    item.appendChild(input);
    list.appendChild(item);
    var box = document.getElementById("used-messages");
    if (box) {
      box.hidden = false;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-use-message]");
    if (!button) {
      return;
    }
    var field = document.getElementById("id_body");
    var list = document.getElementById("used-messages-list");
    if (!field || !list) {
      return; // no answer form here: let the button do its plain job
    }
    event.preventDefault();
    insertAtCursor(field, button.getAttribute("data-insert-text") || "");
    recordMessage(list, button.getAttribute("data-use-message"), button.getAttribute("data-message-title") || "");
    var suggestion = button.closest(".suggestion");
    if (suggestion) {
      suggestion.classList.add("suggestion--used");
    }
    button.textContent = "Used: add again";
    field.focus();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) {
      return;
    }
    var field = event.target;
    if (!field || field.id !== "id_body" || !field.form) {
      return;
    }
    event.preventDefault();
    if (field.form.requestSubmit) {
      field.form.requestSubmit();
    } else {
      field.form.submit();
    }
  });
})();
