/* Keyboard shortcuts of the queue and the query page (listed in engage/_shortcuts.html):
   j/k move through the queue, c claims, r goes to the answer box, e to the escalation form,
   / to the search, ? opens the list. Never while the person types in a field, nor with Ctrl,
   Alt or Cmd held (those are the browser's). After a claim the query page opens at #answer:
   the answer box gets the focus, scrolled so the customer's latest message quoted above it
   stays in view.
   No inline script (CSP). */
(function () {
  "use strict";

  var dialog = document.getElementById("shortcuts");
  var list = document.getElementById("queue-list");

  function typing(target) {
    if (!target || !target.closest) {
      return false;
    }
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  function rows() {
    return list ? Array.prototype.slice.call(list.querySelectorAll(":scope > li")) : [];
  }

  function currentRow() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("#queue-list > li") : null;
    return row || (list ? list.querySelector(":scope > li.qrow--current") : null);
  }

  function pick(row) {
    rows().forEach(function (other) {
      other.classList.toggle("qrow--current", other === row);
    });
    var link = row.querySelector("a.qrow__text");
    if (link) {
      link.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) {
      return;
    }
    var index = all.indexOf(currentRow());
    var next = index === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    pick(all[next]);
  }

  function openRow(hash) {
    var row = currentRow();
    var link = row && row.querySelector("a.qrow__text");
    if (link) {
      window.location.assign(link.getAttribute("href") + hash);
      return true;
    }
    return false;
  }

  function press(button) {
    if (button && !button.disabled) {
      button.click();
      return true;
    }
    return false;
  }

  // The answer box, scrolled so the question above it stays in view when both fit.
  function toAnswerBox() {
    var box = document.getElementById("id_body");
    if (!box) {
      return false;
    }
    var question = document.querySelector(".answer-form__question") || document.querySelector(".query__text");
    if (question) {
      var top = question.getBoundingClientRect().top + window.scrollY - 12;
      var bottom = box.getBoundingClientRect().bottom + window.scrollY + 12;
      window.scrollTo(0, bottom - top <= window.innerHeight ? top : bottom - window.innerHeight);
    }
    box.focus({ preventScroll: true });
    return true;
  }

  function toEscalation() {
    var field = document.getElementById("escalate-department");
    if (!field) {
      return false;
    }
    field.scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
    return true;
  }

  function openHelp() {
    if (dialog && !dialog.open && dialog.showModal) {
      dialog.showModal();
      return true;
    }
    return false;
  }

  var actions = {
    j: function () {
      move(1);
      return Boolean(list);
    },
    k: function () {
      move(-1);
      return Boolean(list);
    },
    c: function () {
      if (list) {
        var row = currentRow();
        return press(row && row.querySelector("button[aria-label^='Claim query']"));
      }
      return press(document.querySelector("[data-shortcut-claim]"));
    },
    r: function () {
      return list ? openRow("#answer") : toAnswerBox();
    },
    e: function () {
      return list ? openRow("#escalate") : toEscalation();
    },
    "/": function () {
      var search = document.getElementById("filter-q");
      if (search) {
        search.focus();
        search.select();
        return true;
      }
      return false;
    },
    "?": openHelp,
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    if (dialog && dialog.open) {
      return; // the dialog has the keyboard (Esc, Tab, its button)
    }
    var action = Object.prototype.hasOwnProperty.call(actions, event.key) ? actions[event.key] : null;
    if (action && action()) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-open-shortcuts]")) {
      openHelp();
    }
  });

  // Picking a row with the mouse or Tab makes it the one j/k move from.
  if (list) {
    list.addEventListener("focusin", function (event) {
      var row = event.target.closest("#queue-list > li");
      if (row) {
        rows().forEach(function (other) {
          other.classList.toggle("qrow--current", other === row);
        });
      }
    });
  }

  function arrived() {
    if (window.location.hash === "#answer") {
      toAnswerBox();
    } else if (window.location.hash === "#escalate") {
      toEscalation();
    }
  }
  if (document.readyState === "complete") {
    arrived();
  } else {
    window.addEventListener("load", arrived);
  }
})();
