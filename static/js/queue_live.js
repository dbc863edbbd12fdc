/* The live queue: every few seconds ask the feed whether this page of the queue changed
   (If-None-Match with the page's ETag; the usual answer is an empty 304). When it did, put
   the rows in the new order: rows that did not change stay the very same elements (focus,
   selection and scroll stay), rows that changed or joined come as HTML from the server,
   rows that left are removed and, if one held the focus, the focus moves to its neighbour.
   Paused while the tab is hidden. No inline script (CSP). */
(function () {
  "use strict";

  var POLL_MS = 2500;
  var list = document.getElementById("queue-list");
  if (!list || !list.getAttribute("data-feed-url") || !window.fetch) {
    return;
  }
  var empty = document.getElementById("queue-empty");
  var announce = document.getElementById("queue-announce");
  var etag = list.getAttribute("data-etag") || "";
  var timer = null;
  var busy = false;
  var failures = 0;

  function rowId(element) {
    return element.id && element.id.indexOf("q-") === 0 ? element.id.slice(2) : null;
  }

  function feedUrl() {
    var url = list.getAttribute("data-feed-url");
    var parts = [];
    Array.prototype.forEach.call(list.children, function (row) {
      var id = rowId(row);
      if (id) {
        parts.push("have=" + encodeURIComponent(id + "." + (row.getAttribute("data-sig") || "")));
      }
    });
    return parts.length ? url + (url.indexOf("?") === -1 ? "?" : "&") + parts.join("&") : url;
  }

  function fromHtml(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  // Which control of a row held the focus, so its replacement can take it back.
  function focusKey(row) {
    var active = document.activeElement;
    if (!active || !row.contains(active)) {
      return null;
    }
    if (active.matches("button")) {
      return "button";
    }
    if (active.matches("a.qrow__text")) {
      return "a.qrow__text";
    }
    return "row";
  }

  function focusIn(row, key) {
    var target = key && key !== "row" ? row.querySelector(key) : null;
    target = target || row.querySelector("a.qrow__text") || row;
    target.focus({ preventScroll: true });
  }

  function apply(data) {
    var hadFocus = document.activeElement;
    var current = {};
    Array.prototype.forEach.call(list.children, function (row) {
      var id = rowId(row);
      if (id) {
        current[id] = row;
      }
    });
    var wanted = {};
    var order = [];
    data.rows.forEach(function (pair) {
      var id = String(pair[0]);
      var row = current[id];
      var html = data.html[id];
      if (html) {
        var fresh = fromHtml(html);
        if (row) {
          var key = focusKey(row);
          row.replaceWith(fresh);
          if (key) {
            focusIn(fresh, key);
          }
        }
        row = fresh;
      }
      if (row) {
        wanted[id] = true;
        order.push(row);
      }
    });
    // Rows that left: if one held the focus, give it to the row after it (or before it).
    var refocus = null;
    Object.keys(current).forEach(function (id) {
      if (wanted[id]) {
        return;
      }
      var row = current[id];
      if (focusKey(row)) {
        refocus = { next: row.nextElementSibling, previous: row.previousElementSibling };
      }
      row.remove();
    });
    // Put the rows in order, moving only those out of place (an unchanged row stays put).
    var cursor = list.firstElementChild;
    order.forEach(function (row) {
      if (row === cursor) {
        cursor = cursor.nextElementSibling;
      } else {
        list.insertBefore(row, cursor);
      }
    });
    // A row moved into place keeps the focus it held (moving an element can drop it).
    if (hadFocus && hadFocus !== document.activeElement && document.activeElement === document.body && list.contains(hadFocus)) {
      hadFocus.focus({ preventScroll: true });
    }
    if (refocus) {
      var near = [refocus.next, refocus.previous].filter(function (row) {
        return row && row.parentNode === list;
      })[0];
      if (near) {
        focusIn(near, "a.qrow__text");
      }
    }
    var none = order.length === 0;
    list.hidden = none;
    if (empty) {
      empty.hidden = !none;
    }
    if (announce && data.announce) {
      announce.textContent = data.announce;
    }
    list.dispatchEvent(new CustomEvent("queue:updated", { bubbles: true }));
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, delay);
  }

  function poll() {
    if (document.hidden || busy) {
      return; // visibilitychange polls again when the tab is shown
    }
    busy = true;
    window
      .fetch(feedUrl(), {
        cache: "no-store",
        credentials: "same-origin",
        headers: { "If-None-Match": etag, Accept: "application/json" },
      })
      .then(function (response) {
        if (response.status === 304) {
          return null;
        }
        if (!response.ok) {
          throw new Error("feed answered " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (data) {
          etag = data.etag;
          list.setAttribute("data-etag", etag);
          apply(data);
        }
      })
      .catch(function () {
        failures += 1;
      })
      .then(function () {
        busy = false;
        // After failures, wait longer (up to a minute) so a struggling server is not pressed.
        schedule(failures ? Math.min(60000, POLL_MS * Math.pow(2, failures)) : POLL_MS);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      schedule(0);
    }
  });
  schedule(POLL_MS);
})();
