"""The CSS and JavaScript inlined into ``index.html``, so the page needs no network and no files
besides its plots (kept in Python so that an installed package needs no data files)."""

PAGE_CSS = """\
:root { --fg: #1d2330; --muted: #5c6577; --line: #dde2ea; --stripe: #f6f8fb; --accent: #2457c5; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header, main { max-width: 1280px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; border-bottom: 1px solid var(--line); padding-bottom: 12px; }
h1 { font-size: 26px; margin: 0 0 8px; }
h2 { font-size: 19px; margin: 32px 0 10px; }
h2 small { color: var(--muted); font-weight: normal; font-size: 13px; margin-left: 6px; }
.legend { color: var(--muted); font-size: 13px; max-width: 980px; margin: 4px 0; }
nav { display: flex; flex-wrap: wrap; gap: 6px 14px; margin-top: 10px; font-size: 13px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table.lb { border-collapse: collapse; width: 100%; font-size: 13.5px; }
table.lb th, table.lb td { padding: 6px 10px; border-bottom: 1px solid var(--line);
  text-align: left; white-space: nowrap; }
table.lb td:nth-child(2), table.lb td:nth-last-child(2) { white-space: normal; min-width: 120px; }
table.lb tbody tr:nth-child(even) { background: var(--stripe); }
table.lb tbody tr:hover { background: #eaf0fb; }
table.lb thead th { position: sticky; top: 0; background: #eef1f6; }
table.lb th button { all: unset; cursor: pointer; font-weight: 600; }
table.lb th button:focus-visible { outline: 2px solid var(--accent); }
table.lb th[aria-sort="ascending"] button::after { content: " \\25B2"; font-size: 10px; }
table.lb th[aria-sort="descending"] button::after { content: " \\25BC"; font-size: 10px; }
table.lb th[data-type="num"], td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr[data-verified="false"] td.num { color: var(--muted); font-style: italic; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; }
.badge.ok { background: #dff3e4; color: #17612e; }
.badge.warn { background: #fff1d6; color: #7a4b00; }
.badge.repro { background: #e1ebff; color: #1b3f8f; }
.badge.mine { background: #eee5fb; color: #4b2a86; }
h2.custom-head { border-top: 2px dashed var(--line); padding-top: 18px; color: var(--muted); }
section.custom h2 { color: var(--muted); }
.note-ref { color: var(--muted); cursor: help; }
.caveat { color: #7a4b00; font-size: 13px; margin: -4px 0 8px; }
ol.notes { color: var(--muted); font-size: 12.5px; margin: 8px 0 0; padding-left: 22px; }
figure { margin: 16px 0; }
figure img { max-width: min(100%, 620px); border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 12.5px; }
"""

PAGE_JS = """\
(function () {
  "use strict";
  // Empty cells (a score the source does not give) sort last in both directions.
  function cellValue(row, index, numeric) {
    var raw = row.cells[index] ? row.cells[index].getAttribute("data-value") : null;
    if (raw === null || raw === "") return null;
    return numeric ? parseFloat(raw) : raw;
  }
  function sortTable(th) {
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-type") === "num";
    var current = th.getAttribute("aria-sort");
    // Scores sort best first on the first click, text A to Z; a second click reverses.
    var dir = current === "descending" ? "ascending"
      : current === "ascending" ? "descending" : (numeric ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var position = new Map(rows.map(function (r, i) { return [r, i]; }));
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
      if (x === null || y === null) {
        return ((x === null) - (y === null)) || position.get(a) - position.get(b);
      }
      var c = numeric ? x - y : x.localeCompare(y);
      return (dir === "ascending" ? c : -c) || position.get(a) - position.get(b);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) {
      h.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", dir);
  }
  document.querySelectorAll("table.lb th[data-type]").forEach(function (th) {
    th.addEventListener("click", function () { sortTable(th); });
  });
  // "#sort=TABLE-ID:COLUMN[:ascending|descending]" opens the page with a table sorted, through
  // the same click handler (shareable links; the browser test relies on it).
  var m = /^#sort=([A-Za-z0-9._-]+):([A-Za-z0-9._-]+)(?::(ascending|descending))?$/
    .exec(window.location.hash);
  var table = m && document.getElementById(m[1]);
  var th = table && table.querySelector('th[data-key="' + m[2] + '"]');
  if (th) {
    th.click();
    if (m[3] && th.getAttribute("aria-sort") !== m[3]) th.click();
  }
})();
"""
