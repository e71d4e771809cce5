// The application form's live eligibility panel. Progressive enhancement only: without this file the
// "Check eligibility" button re-renders the page with the panel.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var form = document.getElementById("application-form");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-eligibility-url");
  var timer = null;
  var latest = 0;

  function refresh() {
    var mine = ++latest;
    var panel = document.getElementById("eligibility-panel");
    fetch(url, {
      method: "POST",
      body: new FormData(form),  // carries csrf_token like any POST of the form
      credentials: "same-origin",
      headers: {"X-Requested-With": "fetch"}
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null || mine !== latest || !panel) {
        return;  // a later request is on its way, or the check failed: keep what is shown
      }
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var fresh = holder.querySelector("#eligibility-panel");
      if (fresh) {
        // Replace the contents, not the element: it is the live region screen readers watch.
        panel.innerHTML = fresh.innerHTML;
        panel.setAttribute("data-updated", String(mine));
      }
    }).catch(function () { /* offline or logged out: the button still works */ });
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
});
