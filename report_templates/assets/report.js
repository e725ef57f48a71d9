// Sortable tables: click a header to sort by that column (numbers numerically, text by locale);
// the "Others" row stays last. No network, no globals beyond this function's scope.
(function () {
  "use strict";
  function key(cell, numeric) {
    var raw = cell ? cell.getAttribute("data-value") : "";
    if (numeric) {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return raw || "";
  }
  function sortBy(table, index, th) {
    var numeric = th.getAttribute("data-type") === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var others = rows.filter(function (r) { return r.classList.contains("others"); });
    rows = rows.filter(function (r) { return !r.classList.contains("others"); });
    rows.sort(function (a, b) {
      var x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
      var c = numeric ? x - y : String(x).localeCompare(String(y));
      return ascending ? c : -c;
    });
    rows.concat(others).forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var head = table.tHead;
    if (!head) { return; }
    Array.prototype.forEach.call(head.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () { sortBy(table, i, th); });
    });
    table.setAttribute("data-sortable-ready", "true");
  });
}());
// Copy buttons: put the full value (a sha256, a carve command) on the clipboard; where the clipboard API is not
// allowed, select the text so Ctrl-C copies it.
(function () {
  "use strict";
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy") || "";
      var target = button.previousElementSibling;
      var done = function () { button.textContent = "copied"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { if (target) { select(target); } });
      } else if (target) {
        select(target);
      }
    });
  });
}());
// Legend: click an item to show its lines alone (the others fade), click it again to show all.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("figure.timeseries"), function (figure) {
    var items = figure.querySelectorAll("ul.legend li[data-key]");
    var series = figure.querySelectorAll("svg.chart g.series");
    var shown = null;
    Array.prototype.forEach.call(items, function (li) {
      li.addEventListener("click", function () {
        var key = li.getAttribute("data-key");
        shown = shown === key ? null : key;
        Array.prototype.forEach.call(series, function (g) {
          g.classList.toggle("off", shown !== null && g.getAttribute("data-key") !== shown);
        });
        Array.prototype.forEach.call(items, function (other) {
          other.classList.toggle("off", shown !== null && other.getAttribute("data-key") !== shown);
        });
      });
    });
  });
}());
