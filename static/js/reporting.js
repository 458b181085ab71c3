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
    form.addEventListener("input", function (ev) {
      dirty = true;
      var row = ev.target.closest(".report-row");
      if (row) row.classList.add("edited");
    });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (ev) {
      if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
    });
  }
});
