// Keyboard shortcuts for moderators (progressive enhancement: everything works without it).
// Queue: j/k move, x select, Enter open, a/r/e approve/remove/escalate the selected (or current) case.
// Case page: a/r/e pick the decision and focus the reason (r and e need a reason or confirmation).
(function () {
  "use strict";
  function typing(ev) {
    var t = ev.target.tagName;
    return t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || ev.metaKey || ev.ctrlKey || ev.altKey;
  }
  var table = document.querySelector('[data-shortcuts="queue"]');
  var decide = document.querySelector('[data-shortcuts="case"]');
  var rows = table ? Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-case]")) : [];
  var current = -1;
  var pending = null; // the decision r/e asked a reason for; Enter in the reason field applies it
  function focusRow(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle("current", j === current); });
    rows[current].scrollIntoView({block: "nearest"});
  }
  function bulk(decision) {
    var form = document.getElementById("bulk-form");
    var checked = form.querySelectorAll('input[name="case"]:checked');
    if (!checked.length && current >= 0) rows[current].querySelector('input[name="case"]').checked = true;
    var reason = form.querySelector('input[name="reason"]');
    if (decision === "remove" && !reason.value) {
      pending = decision;
      reason.focus();
      return;
    }
    var button = form.querySelector('button[value="' + decision + '"]');
    if (button) button.click();
  }
  var bulkReason = document.querySelector('#bulk-form input[name="reason"]');
  if (bulkReason) {
    bulkReason.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter") return;
      ev.preventDefault(); // never the form's first button (approve) by accident
      if (pending && bulkReason.value.trim()) bulk(pending);
    });
  }
  document.addEventListener("keydown", function (ev) {
    if (typing(ev)) return;
    var keys = {a: "approve", r: "remove", e: "escalate"};
    if (table) {
      if (ev.key === "j") focusRow(current + 1);
      else if (ev.key === "k") focusRow(current - 1);
      else if (ev.key === "x" && current >= 0) {
        var box = rows[current].querySelector('input[name="case"]');
        box.checked = !box.checked;
      } else if (ev.key === "Enter" && current >= 0) window.location = rows[current].dataset.url;
      else if (keys[ev.key]) bulk(keys[ev.key]);
      else return;
      ev.preventDefault();
    } else if (decide && keys[ev.key]) {
      decide.querySelector('select[name="decision"]').value = keys[ev.key];
      var reason = decide.querySelector('textarea[name="reason"]');
      if (ev.key === "a") decide.submit(); else reason.focus();
      ev.preventDefault();
    }
  });
})();
