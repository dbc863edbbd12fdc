// The course editor's audience: a list of checkboxes (works without script), made searchable.
// A file, not inline script (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";

  function setUp(picker) {
    var search = picker.querySelector(".audience-picker__search");
    var filter = picker.querySelector("[data-audience-filter]");
    var count = picker.querySelector("[data-audience-count]");
    var items = Array.prototype.slice.call(picker.querySelectorAll("[data-audience-name]"));
    if (!search || !filter) { return; }
    search.hidden = false;

    function update() {
      var term = filter.value.trim().toLowerCase();
      var shown = 0;
      items.forEach(function (item) {
        var box = item.querySelector("input[type=checkbox]");
        var match = !term || item.getAttribute("data-audience-name").indexOf(term) !== -1 || box.checked;
        item.hidden = !match;
        if (match) { shown += 1; }
      });
      var chosen = picker.querySelectorAll("input[name=audience]:checked").length;
      count.textContent = (chosen ? chosen + " chosen" : "None chosen: everyone") +
        (term ? " · " + shown + " shown" : "");
    }

    filter.addEventListener("input", update);
    // Enter in the search box ticks the only match instead of submitting the form.
    filter.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var visible = items.filter(function (item) { return !item.hidden; });
      var unticked = visible.filter(function (item) { return !item.querySelector("input").checked; });
      if (unticked.length === 1) { unticked[0].querySelector("input").checked = true; filter.value = ""; update(); }
    });
    picker.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-audience-picker]").forEach(setUp);
  });
})();
