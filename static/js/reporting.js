// Reporting pages: small enhancements only; every form works without JavaScript. No inline scripts (CSP).
document.addEventListener("DOMContentLoaded", function () {
  // Opening a period: the due date follows year/quarter (20th of the quarter's last month) until edited by hand.
  var openForm = document.getElementById("period-open-form");
  if (openForm) {
    var year = openForm.querySelector("[name=year]");
    var quarter = openForm.querySelector("[name=quarter]");
    var due = openForm.querySelector("[name=due_date]");
    var touched = false;
    due.addEventListener("input", function () { touched = true; });
    var update = function () {
      if (touched || !year.value) return;
      var month = String(Number(quarter.value) * 3).padStart(2, "0");
      due.value = year.value + "-" + month + "-20";
    };
    year.addEventListener("input", update);
    quarter.addEventListener("change", update);
  }

  // The quarterly form: warn before leaving with unsaved changes; mark rows that were edited.
  var form = document.getElementById("report-form");
  if (form) {
    var dirty = false;
    var markEdited = function (row) {
      if (!row) return;
      row.classList.add("edited");
      var item = document.querySelector('.index-list li[data-task="' + row.id.slice(5) + '"]');
      if (item) item.classList.add("edited");
    };
    form.addEventListener("input", function (ev) {
      dirty = true;
      markEdited(ev.target.closest(".report-row"));
    });
    // After saving, the page comes back at the card that was in view (the server redirects to #task-N).
    form.addEventListener("submit", function (ev) {
      dirty = false;
      var anchor = form.querySelector("input[name=anchor]");
      var from = ev.submitter && ev.submitter.closest(".report-row");
      if (!from) {
        var cards = form.querySelectorAll(".report-row");
        for (var i = 0; i < cards.length; i++) {
          if (cards[i].offsetParent !== null && cards[i].getBoundingClientRect().bottom > 80) { from = cards[i]; break; }
        }
      }
      if (anchor && from) anchor.value = from.id;
    });
    window.addEventListener("beforeunload", function (ev) {
      if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
    });

    // The first faulty field of a save that was partly refused gets the focus.
    var focusName = form.getAttribute("data-focus");
    if (focusName) {
      var target = form.querySelector('[name="' + focusName + '"]');
      if (target) {
        target.focus({ preventScroll: true });
        target.scrollIntoView({ block: "center" });
      }
    }

    // Reuse last quarter's text: fills only the fields that are still empty.
    form.querySelectorAll(".js-reuse").forEach(function (button) {
      button.addEventListener("click", function () {
        var prefix = button.getAttribute("data-prefix");
        button.closest("details").querySelectorAll("[data-reuse]").forEach(function (dd) {
          var field = form.querySelector('[name="' + prefix + "-" + dd.getAttribute("data-reuse") + '"]');
          if (field && !field.value.trim() && dd.textContent.trim()) field.value = dd.textContent.trim();
        });
        dirty = true;
        markEdited(button.closest(".report-row"));
      });
    });
  }

  // The review queue: select all / a group, and show how many are selected.
  var queue = document.getElementById("queue-form");
  if (queue) {
    var boxes = queue.querySelectorAll("input[name=report]");
    var count = queue.querySelector(".js-selected-count");
    var recount = function () {
      var n = 0;
      boxes.forEach(function (b) { if (b.checked) n++; });
      if (count) count.textContent = n;
      var button = queue.querySelector("[data-testid=accept-selected]");
      if (button) button.setAttribute("data-confirm", "通过所选的 " + n + " 份报告？通过后报告锁定，只能说明原因后重新打开。");
    };
    queue.querySelectorAll(".js-check-group").forEach(function (g) {
      g.addEventListener("change", function () {
        g.closest(".queue-group").querySelectorAll("input[name=report]").forEach(function (b) { b.checked = g.checked; });
        recount();
      });
    });
    var all = queue.querySelector(".js-check-all");
    if (all) all.addEventListener("change", function () {
      queue.querySelectorAll("input[type=checkbox]").forEach(function (b) { b.checked = all.checked; });
      recount();
    });
    boxes.forEach(function (b) { b.addEventListener("change", recount); });
  }

  // The task index: open beside the cards on wide screens, folded on phones; filters by state and role.
  var index = document.getElementById("form-index");
  if (index) {
    if (window.matchMedia("(min-width: 900px)").matches) index.open = true;
    var filters = document.querySelectorAll("[data-filter]");
    var apply = function () {
      var want = {};
      filters.forEach(function (f) { want[f.getAttribute("data-filter")] = f.value; });
      var shown = 0;
      document.querySelectorAll(".report-row[data-state], .index-list li[data-state]").forEach(function (el) {
        var ok = (!want.state || el.getAttribute("data-state") === want.state) &&
                 (!want.share || el.getAttribute("data-share") === want.share);
        el.hidden = !ok;
        if (ok && el.classList.contains("report-row")) shown++;
      });
      var empty = document.querySelector(".filter-empty");
      if (empty) empty.hidden = shown > 0;
    };
    filters.forEach(function (f) { f.addEventListener("change", apply); });
    // On phones, following a link in the folded index folds it again.
    index.querySelectorAll(".index-list a").forEach(function (a) {
      a.addEventListener("click", function () {
        if (!window.matchMedia("(min-width: 900px)").matches) index.open = false;
      });
    });
  }
});
