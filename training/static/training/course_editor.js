// The course editor's choices: buttons to add a choice row and remove one. Without script
// the editor offers empty rows instead (a blank row is dropped when saved), so this only
// adds convenience. Field names are renumbered after each change, so the server reads
// rows 0 to choice_count - 1 (training/forms.py).
(function () {
  "use strict";

  var MIN_ROWS = 2;

  function renumber(question) {
    var rows = question.querySelectorAll("[data-choice-row]");
    var prefix = question.getAttribute("data-question");
    Array.prototype.forEach.call(rows, function (row, n) {
      var name = prefix + "-c-" + n;
      var text = row.querySelector(".choice-row__text");
      var label = row.querySelector("label[for]");
      var box = row.querySelector("input[type=checkbox]");
      text.id = name + "-text";
      text.name = name + "-text";
      text.placeholder = "Choice " + (n + 1);
      label.htmlFor = text.id;
      label.textContent = "Choice " + (n + 1);
      box.name = name + "-correct";
      row.querySelector(".choice-row__right .visually-hidden").textContent = "Choice " + (n + 1) + " is ";
      row.querySelector("[data-remove-choice] .visually-hidden").textContent = " choice " + (n + 1);
      row.querySelector("[data-remove-choice]").disabled = rows.length <= MIN_ROWS;
    });
    question.querySelector("[data-choice-count]").value = String(rows.length);
  }

  function setUp(question) {
    var list = question.querySelector("[data-choice-rows]");
    var add = question.querySelector("[data-add-choice]");
    question.querySelectorAll("[data-remove-choice]").forEach(function (button) { button.hidden = false; });
    add.hidden = false;

    add.addEventListener("click", function () {
      var rows = list.querySelectorAll("[data-choice-row]");
      var row = rows[rows.length - 1].cloneNode(true);
      row.querySelector(".choice-row__text").value = "";
      row.querySelector("input[type=checkbox]").checked = false;
      list.appendChild(row);
      renumber(question);
      row.querySelector(".choice-row__text").focus();
    });

    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove-choice]");
      if (!button) { return; }
      var row = button.closest("[data-choice-row]");
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber(question);
      // Keep the keyboard where it was: on the row that took the removed one's place.
      if (next) { next.querySelector(".choice-row__text").focus(); } else { add.focus(); }
    });
    renumber(question);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-question]").forEach(setUp);
  });
})();
