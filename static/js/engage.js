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

  // --- Work a person must never lose ---------------------------------------------------------
  // A field marked data-keep="key" is copied to this browser's storage as the person types, so
  // a session that ends, a refused save or a closed tab never costs the text. The copy is
  // restored when the page comes back with less, and dropped once the server holds the same.
  var KEEP_PREFIX = "engage:keep:";

  function keepStore(key, value) {
    try {
      if (value) {
        window.localStorage.setItem(KEEP_PREFIX + key, value);
      } else {
        window.localStorage.removeItem(KEEP_PREFIX + key);
      }
    } catch (error) {
      /* storage full or disabled: the server's draft is all there is */
    }
  }

  function keepRead(key) {
    try {
      return window.localStorage.getItem(KEEP_PREFIX + key);
    } catch (error) {
      return null;
    }
  }

  function notice(field, className, text, role) {
    var id = field.id + "-notice";
    var box = document.getElementById(id);
    if (!box) {
      box = document.createElement("div");
      box.id = id;
      field.insertAdjacentElement("afterend", box);
    }
    box.className = "field-notice " + className;
    box.setAttribute("role", role || "status");
    box.textContent = "";
    if (typeof text === "string") {
      box.textContent = text;
    } else {
      box.appendChild(text);
    }
    return box;
  }

  function restoreKept() {
    document.querySelectorAll("[data-keep]").forEach(function (field) {
      var key = field.getAttribute("data-keep");
      var kept = keepRead(key);
      if (kept === null || kept === field.value) {
        keepStore(key, kept === field.value ? "" : kept);
        return;
      }
      field.value = kept;
      notice(
        field,
        "field-notice--info",
        "Your text is back as you left it: it was kept in this browser and is being saved as your draft."
      );
      window.setTimeout(function () {
        field.dispatchEvent(new Event("input", { bubbles: true })); // the autosave takes it from here
      }, 0);
    });
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field && field.hasAttribute && field.hasAttribute("data-keep")) {
      keepStore(field.getAttribute("data-keep"), field.value);
    }
  });

  // The autosave (htmx) reports what happened to the field its form holds.
  function keptFieldOf(element) {
    var form = element && element.closest ? element.closest("form") : null;
    return form ? form.querySelector("[data-keep]") : null;
  }

  function sessionEnded(field) {
    var text = document.createElement("span");
    text.appendChild(
      document.createTextNode("Your session has ended, so this could not be saved. Your text is kept in this browser: ")
    );
    var link = document.createElement("a");
    link.href = "/login/?next=" + encodeURIComponent(window.location.pathname + window.location.search);
    link.textContent = "sign in again";
    text.appendChild(link);
    text.appendChild(document.createTextNode(" and you come back here with it."));
    notice(field, "field-notice--error", text, "alert");
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var field = keptFieldOf(event.detail.elt);
    if (!field || !xhr || xhr.status < 400) {
      return;
    }
    event.detail.shouldSwap = false;
    event.detail.isError = false; // told here, not in the console
    if (xhr.status === 401 || xhr.getResponseHeader("X-Engage-Session") === "expired") {
      sessionEnded(field);
    } else if (xhr.status === 409 || xhr.status === 400) {
      // Our own fragment, read as text by an inert parser (nothing in it runs).
      var reason = new DOMParser().parseFromString(xhr.responseText, "text/html").body.textContent.trim();
      notice(field, "field-notice--error", "Not saved: " + reason + " Your text is kept in this browser.", "alert");
    } else {
      notice(
        field,
        "field-notice--error",
        "Not saved (the server answered " + xhr.status + "). Your text is kept in this browser; it is saved again as you type.",
        "alert"
      );
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    var field = keptFieldOf(event.detail.elt);
    if (field) {
      notice(field, "field-notice--error", "Not saved: the server could not be reached. Your text is kept in this browser.", "alert");
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var field = keptFieldOf(event.detail.elt);
    var sent = event.detail.requestConfig && event.detail.requestConfig.parameters;
    var xhr = event.detail.xhr;
    if (!field || !sent || !xhr || xhr.status < 200 || xhr.status >= 300) {
      return;
    }
    var value = typeof sent.get === "function" ? sent.get(field.name) : sent[field.name];
    if (value === field.value) {
      keepStore(field.getAttribute("data-keep"), ""); // the server holds exactly this
      var box = document.getElementById(field.id + "-notice");
      if (box && box.classList.contains("field-notice--error")) {
        box.remove();
      }
    }
  });

  // Text pasted past a field's limit is refused with a message, never silently cut.
  document.addEventListener("paste", function (event) {
    var field = event.target;
    var limit = field && field.maxLength;
    if (!limit || limit < 0 || typeof field.value !== "string" || !event.clipboardData) {
      return;
    }
    var pasted = event.clipboardData.getData("text");
    var selected = (field.selectionEnd || 0) - (field.selectionStart || 0);
    var length = field.value.length - selected + pasted.length;
    if (length > limit) {
      event.preventDefault();
      notice(
        field,
        "field-notice--error",
        "Not pasted: that would make this " + length.toLocaleString("en") + " characters, and the limit is " +
          limit.toLocaleString("en") + ". Shorten it and paste again.",
        "alert"
      );
    }
  });

  document.addEventListener("DOMContentLoaded", restoreKept);
  document.addEventListener("DOMContentLoaded", revealCurrentNavItem);
  document.addEventListener("submit", confirmBeforeSubmit, true);
  document.addEventListener("htmx:afterSettle", focusAfterSwap);
})();
