/* Presence on the query page: marks the heartbeat (engage/_presence.html, sent by htmx every
   3 s, and at once when typing starts) as "typing" while the person typed in the answer box in
   the last 5 seconds.
   No inline script (CSP). */
(function () {
  "use strict";

  var TYPING_MS = 5000;
  var flag = document.getElementById("presence-typing");
  if (!flag) {
    return;
  }
  var lastTyped = 0;
  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "id_body" && event.isTrusted) {
      lastTyped = Date.now();
      if (flag.value !== "1") {
        flag.value = "1";
        // Say so now rather than at the next beat, so colleagues see it within one of theirs.
        flag.form.dispatchEvent(new CustomEvent("typing-started"));
      }
    }
  });
  window.setInterval(function () {
    if (Date.now() - lastTyped > TYPING_MS) {
      flag.value = "0";
    }
  }, 1000);
  // A heartbeat refused because the session has ended (401) or the query is no longer the
  // person's to see (404) is not an error of the page: the heartbeat stops (htmx stops polling
  // an element that has left the page) and the answer box keeps its own session-ended notice.
  var form = document.getElementById("presence-form");
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (event.detail.elt !== form && !form.contains(event.detail.elt)) {
      return;
    }
    if (status === 401 || status === 403 || status === 404) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      form.remove();
    }
  });
})();
