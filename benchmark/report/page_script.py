"""The report page's inline style sheet and script (no file, no network: the page is one file).

The script only rearranges what the HTML already holds (:mod:`benchmark.report.page_parts`):
clicking a leaderboard header sorts each family section by that column (again: the other
way; empty cells last); the filter bar hides the rows that do not match (family, dataset, fit
kind, status, part of the name) and the family headings left empty; "families as sections"
off puts every fit in one list; a fit's name opens its card; the "compare two" view renders
two fits side by side with the paired tests computed in Python and embedded as JSON.
"""

CSS = """body{font-family:sans-serif;max-width:1500px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;
padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
table.board td{white-space:nowrap}table.board .t,table.board th{text-align:left}
.wrap{overflow-x:auto}table.board thead th{cursor:pointer;background:#f3f3f3;user-select:none}
table.board thead th:hover{background:#e4e4e4}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tr.famhead th{background:#e9eef6;text-align:left}
.filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;
z-index:2;display:flex;flex-wrap:wrap;gap:.4em 1.2em;font-size:13px;align-items:center}
.figs{display:grid;grid-template-columns:1fr 1fr;gap:1em;align-items:start}
figure{margin:0}figure.wide{grid-column:1/-1}figure.wide img{max-width:1100px}
figure img{width:100%;border:1px solid #ddd}figcaption{font-size:13px;color:#444}
.headline li{margin:.2em 0}.muted{color:#777;font-size:13px}.rule{font-size:13px}
details.card{border:1px solid #ddd;border-radius:4px;margin:.3em 0;padding:.2em .6em}
details.card[open]{background:#fafcff}details summary{cursor:pointer}
.cite,.params{font-size:12px;color:#444;overflow-wrap:anywhere}.error{color:#a00;font-size:12px}
details.compare{border:1px solid #ccd;border-radius:4px;padding:.4em .8em;margin:1em 0}
.cmp-out table td:first-child{text-align:left}.verdict{font-weight:bold}"""

SCRIPT = r"""(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var filters = document.getElementById("filters");
  var grouped = function () {
    var box = document.getElementById("group-families");
    return !box || box.checked;
  };
  var cellValue = function (tr, idx) {
    var td = tr.cells[idx];
    return td ? td.getAttribute("data-v") || "" : "";
  };
  function sortRows(table, idx, dir) {
    var th = table.tHead.rows[0].cells[idx];
    var numeric = th.getAttribute("data-type") === "num";
    var sign = dir === "ascending" ? 1 : -1;
    each(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    each(table.tBodies, function (tb) {
      var rows = Array.prototype.slice.call(tb.querySelectorAll("tr.fit"));
      rows.sort(function (a, b) {
        var x = cellValue(a, idx), y = cellValue(b, idx);
        if (x === "" || y === "") { return (x === "" ? 1 : 0) - (y === "" ? 1 : 0); }
        if (numeric) { return sign * (parseFloat(x) - parseFloat(y)); }
        return sign * x.localeCompare(y);
      });
      rows.forEach(function (r) { tb.appendChild(r); });
    });
  }
  function onHeader(table, th) {
    var now = th.getAttribute("aria-sort");
    var dir = now === "ascending" ? "descending" : now === "descending" ? "ascending"
      : (th.getAttribute("data-first") === "desc" ? "descending" : "ascending");
    sortRows(table, th.cellIndex, dir);
  }
  function regroup() {
    each(document.querySelectorAll("table.board"), function (table) {
      var all = table.querySelector("tbody.all");
      if (!all) {
        all = document.createElement("tbody");
        all.className = "all";
        table.insertBefore(all, table.querySelector("tbody.none"));
      }
      each(table.querySelectorAll("tr.fit"), function (tr) {
        var home = grouped() ? table.querySelector(
          "tbody.fam[data-family=\"" + tr.getAttribute("data-family") + "\"]") : all;
        home.appendChild(tr);
      });
      var sorted = table.querySelector("thead th[aria-sort]");
      if (sorted) { sortRows(table, sorted.cellIndex, sorted.getAttribute("aria-sort")); }
    });
    applyFilters();
  }
  function applyFilters() {
    var f = {};
    if (filters) {
      each(filters.querySelectorAll("[data-filter]"), function (el) {
        f[el.getAttribute("data-filter")] = el.value.trim();
      });
    }
    var text = (f.text || "").toLowerCase();
    var shown = 0, total = 0;
    each(document.querySelectorAll("table.board"), function (table) {
      var visible = 0;
      each(table.querySelectorAll("tr.fit"), function (tr) {
        var d = tr.dataset;
        var ok = (!f.family || d.family === f.family) && (!f.dataset || d.dataset === f.dataset)
          && (!f.kind || d.kind.split("|").indexOf(f.kind) >= 0)
          && (!f.status || d.status === f.status)
          && (!text || d.fit.toLowerCase().indexOf(text) >= 0);
        tr.hidden = !ok;
        total += 1;
        if (ok) { shown += 1; visible += 1; }
      });
      each(table.querySelectorAll("tbody.fam"), function (tb) {
        var head = tb.querySelector("tr.famhead");
        if (head) { head.hidden = !grouped() || !tb.querySelector("tr.fit:not([hidden])"); }
      });
      var none = table.querySelector("tbody.none");
      if (none) { none.hidden = visible > 0; }
    });
    var count = document.getElementById("shown");
    if (count) { count.textContent = shown + " of " + total + " fits shown"; }
  }
  var f3 = function (x) { return x === null || x === undefined ? "\u2014" : x.toFixed(3); };
  var fp = function (x) {
    if (x === null || x === undefined) { return "\u2014"; }
    return x < 0.001 ? x.toExponential(1) : x.toPrecision(2);
  };
  var ci = function (fit, m) {
    var lo = fit[m + "_lo"], hi = fit[m + "_hi"];
    var range = lo === null || lo === undefined ? "" : " [" + f3(lo) + ", " + f3(hi) + "]";
    return f3(fit[m]) + range;
  };
  var esc = function (s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  };
  function compareView(box) {
    var data = JSON.parse(box.querySelector("script.cmp-data").textContent);
    var a = box.querySelector(".cmp-a"), b = box.querySelector(".cmp-b");
    var out = box.querySelector(".cmp-out");
    if (!a || !b || !a.options.length) { return; }
    if (b.options.length > 1 && b.selectedIndex === a.selectedIndex) { b.selectedIndex = 1; }
    function render() {
      var i = parseInt(a.value, 10), j = parseInt(b.value, 10);
      var fa = data.fits[i], fb = data.fits[j];
      var rows = [["fit", fa.fit, fb.fit], ["family", fa.family, fb.family],
        ["status", fa.status, fb.status], ["rank", fa.rank === null ? "\u2014" : fa.rank,
          fb.rank === null ? "\u2014" : fb.rank],
        ["ROC-AUC [95% CI]", ci(fa, "roc_auc"), ci(fb, "roc_auc")],
        ["accuracy (tuned) [95% CI]", ci(fa, "accuracy_tuned"), ci(fb, "accuracy_tuned")],
        ["EER", f3(fa.eer), f3(fb.eer)],
        ["ms/image", f3(fa.infer_ms_per_image), f3(fb.infer_ms_per_image)]];
      Object.keys(fa.per_family).forEach(function (k) {
        rows.push(["ROC-AUC " + k, f3(fa.per_family[k]), f3(fb.per_family[k])]);
      });
      var html = "<table><tr><th></th><th>A</th><th>B</th></tr>" + rows.map(function (r) {
        return "<tr><td>" + r.map(esc).join("</td><td>") + "</td></tr>";
      }).join("") + "</table>";
      var t = data.tests, ti = t.fits.indexOf(i), tj = t.fits.indexOf(j);
      var verdict;
      if (i === j) {
        verdict = "Choose two different fits.";
      } else if (ti < 0 || tj < 0 || t.delong[ti][tj] === null) {
        verdict = "No paired test: per-image scores on shared test images are missing.";
      } else {
        var holm = t.delong_holm[ti][tj];
        html += "<p class='tests'>DeLong p = <span class='p-delong'>" + fp(t.delong[ti][tj])
          + "</span> (Holm-adjusted over the ranked fits: <span class='p-holm'>" + fp(holm)
          + "</span>) \u00b7 McNemar p = <span class='p-mcnemar'>" + fp(t.mcnemar[ti][tj])
          + "</span> \u00b7 on " + t.n_shared[ti][tj] + " shared test images</p>";
        if (holm !== null && holm < data.alpha) {
          var better = fa.roc_auc > fb.roc_auc ? fa : fb;
          verdict = better.fit + " is significantly better (Holm-adjusted DeLong p < "
            + data.alpha + "): it ranks strictly ahead.";
        } else {
          verdict = "No significant difference in ROC-AUC (\u03b1 = " + data.alpha
            + ", Holm-adjusted): read their order as a tie.";
        }
      }
      out.innerHTML = html + "<p class='verdict'>" + esc(verdict) + "</p>";
    }
    a.addEventListener("change", render);
    b.addEventListener("change", render);
    render();
  }
  each(document.querySelectorAll("table.board"), function (table) {
    each(table.tHead.rows[0].cells, function (th) {
      th.addEventListener("click", function () { onHeader(table, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onHeader(table, th); }
      });
    });
  });
  if (filters) {
    each(filters.querySelectorAll("[data-filter]"), function (el) {
      el.addEventListener(el.tagName === "INPUT" ? "input" : "change", applyFilters);
    });
    var box = document.getElementById("group-families");
    if (box) { box.addEventListener("change", regroup); }
  }
  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a.fitlink") : null;
    if (!link) { return; }
    var card = document.getElementById(link.getAttribute("href").slice(1));
    if (card) { card.open = true; }
  });
  each(document.querySelectorAll("details.compare"), compareView);
  applyFilters();
}());"""
