/* Presence on the query page: marks the heartbeat (engage/_presence.html, sent by htmx every
   3 s) as "typing" while the person typed in the answer box in the last 5 seconds.
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
      flag.value = "1";
    }
  });
  window.setInterval(function () {
    if (Date.now() - lastTyped > TYPING_MS) {
      flag.value = "0";
    }
  }, 1000);
})();
