// Sorting for every table with class "sortable", and the sample filter of run pages. No dependencies.
function value(cell) {  // a cell's data-value, else its text ("-" for none sorts last)
  var given = cell.getAttribute("data-value");
  if (given !== null) { return given; }
  var text = cell.textContent.trim();
  return text === "-" ? "" : text;
}
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = value(a.cells[column]), y = value(b.cells[column]);
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
        if (x === "" && y !== "") { return 1; }
        if (y === "" && x !== "") { return -1; }
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
document.querySelectorAll(".filters").forEach(function (bar) {
  var list = document.getElementById(bar.getAttribute("data-for"));
  bar.querySelectorAll("button").forEach(function (button) {
    button.addEventListener("click", function () {
      bar.querySelectorAll("button").forEach(function (other) { other.classList.remove("active"); });
      button.classList.add("active");
      var wanted = button.getAttribute("data-status");
      list.querySelectorAll(".sample").forEach(function (sample) {
        var statuses = sample.getAttribute("data-status").split(" ");
        sample.hidden = wanted !== "all" && statuses.indexOf(wanted) < 0;
      });
    });
  });
});
