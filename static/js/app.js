// Small progressive enhancements; every page works without them. No inline scripts (CSP).
document.addEventListener("DOMContentLoaded", function () {
  // Confirm buttons: <button data-confirm="确定要…？">
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (!window.confirm(el.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });
  // Auto-submit selects in filter bars: <select data-autosubmit>
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // Print buttons: <button data-print>
  document.querySelectorAll("[data-print]").forEach(function (el) {
    el.addEventListener("click", function () { window.print(); });
  });
});
