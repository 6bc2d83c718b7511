// Sortable tables (click a header; click again to reverse) and the suite selector.
// Cells sort by their data-sort value: numbers numerically, text alphabetically; cells with
// no value (n/a) always go last.
(function () {
  function key(row, column, numeric) {
    var raw = row.cells[column].getAttribute("data-sort");
    if (raw === null || raw === "") return null;
    return numeric ? parseFloat(raw) : raw.toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var column = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var numeric = th.getAttribute("data-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, column, numeric), y = key(b, column, numeric);
      if (x === null || y === null) return (x === null) - (y === null);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(th.parentNode.cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  // Hide rows whose method's card marks a use the reader ticked (data-marks on each row).
  var filters = document.querySelectorAll("input.mark-filter");
  function applyMarks() {
    var hidden = Array.prototype.filter.call(filters, function (f) { return f.checked; })
      .map(function (f) { return f.value; });
    document.querySelectorAll("tr[data-marks]").forEach(function (row) {
      var marks = (row.getAttribute("data-marks") || "").split(" ");
      row.hidden = hidden.some(function (m) { return marks.indexOf(m) >= 0; });
    });
  }
  filters.forEach(function (f) { f.addEventListener("change", applyMarks); });
  var select = document.getElementById("suite-select");
  if (!select) return;
  function show(suite) {
    document.querySelectorAll("section.suite").forEach(function (section) {
      section.hidden = section.getAttribute("data-suite") !== suite;
    });
    select.value = suite;
  }
  select.addEventListener("change", function () {
    show(select.value);
    history.replaceState(null, "", "#suite=" + encodeURIComponent(select.value));
  });
  var wanted = decodeURIComponent((location.hash.match(/suite=([^&]+)/) || [])[1] || "");
  var known = Array.prototype.map.call(select.options, function (o) { return o.value; });
  show(known.indexOf(wanted) >= 0 ? wanted : select.value);
})();
