// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // Forms marked data-confirm ask once more before an irreversible step.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
  // A group of checkboxes with a "select all" button: the button ticks every box of its group, or clears them
  // when all are ticked already (the button is shown only when this script runs).
  document.querySelectorAll("button[data-select-all]").forEach(function (button) {
    var group = button.closest("[data-unit-group]");
    if (!group) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var boxes = group.querySelectorAll("input[type=checkbox]");
      var all = Array.prototype.every.call(boxes, function (box) { return box.checked; });
      boxes.forEach(function (box) { box.checked = !all; });
    });
  });
  // 常用组合: choosing a saved set ticks exactly its member units (without this script the 应用 button reloads the
  // form with them ticked); ticking a box by hand afterwards shows that the choice is no longer the set.
  document.querySelectorAll("select[data-unit-preset]").forEach(function (select) {
    var field = document.querySelector("[data-unit-field='" + select.getAttribute("data-unit-preset") + "']");
    if (!field) {
      return;
    }
    var boxes = field.querySelectorAll("input[type=checkbox]");
    document.querySelectorAll("button[data-unit-preset-apply]").forEach(function (button) { button.hidden = true; });
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      if (!option || !option.value) {
        return;
      }
      var ids = (option.getAttribute("data-unit-ids") || "").split(",").filter(Boolean);
      boxes.forEach(function (box) { box.checked = ids.indexOf(box.value) !== -1; });
    });
    boxes.forEach(function (box) {
      box.addEventListener("change", function () { select.value = ""; });
    });
  });
  // The 全选 buttons change the boxes too.
  document.querySelectorAll("button[data-select-all]").forEach(function (button) {
    button.addEventListener("click", function () {
      document.querySelectorAll("select[data-unit-preset]").forEach(function (select) { select.value = ""; });
    });
  });
  // The expert table: each row's total is the sum of its scores, shown as they are typed (the server counts
  // the same sum when the form is sent).
  document.querySelectorAll("table[data-expert-table] tbody tr").forEach(function (row) {
    var cell = row.querySelector("[data-total]");
    var inputs = row.querySelectorAll("input[data-max]");
    function count() {
      var sum = 0;
      var any = false;
      inputs.forEach(function (input) {
        var value = parseFloat(input.value);
        if (!isNaN(value)) {
          sum += value;
          any = true;
        }
      });
      cell.textContent = any ? String(Math.round(sum * 100) / 100) : "";
    }
    inputs.forEach(function (input) { input.addEventListener("input", count); });
  });

  // On a narrow screen the menu folds behind a button (without this script it simply stays open).
  var toggle = document.querySelector(".menu-toggle");
  var menu = document.getElementById("main-menu");
  if (toggle && menu) {
    document.documentElement.classList.add("js-menu");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("open", open);
    });
  }

  // The print button prints the page (a case as a clean record: see @media print in app.css).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // A folded diagram is printed too: open it for the printout, fold it again afterwards.
  var reopened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.diagram:not([open])").forEach(function (details) {
      details.open = true;
      reopened.push(details);
    });
  });
  window.addEventListener("afterprint", function () {
    reopened.forEach(function (details) { details.open = false; });
    reopened = [];
  });
});
