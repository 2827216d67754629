// gwtap node page: live record count and instant filtering of the rows on
// this page. Everything from traffic is only ever read and written as text
// (textContent), never as HTML.
"use strict";

(function () {
  const total = document.getElementById("records-total");
  if (total && total.dataset.stats) {
    const fmt = new Intl.NumberFormat("en-US");
    const refresh = async function () {
      try {
        const resp = await fetch(total.dataset.stats, { headers: { Accept: "application/json" }, cache: "no-store" });
        if (!resp.ok) return;
        const stats = await resp.json();
        if (typeof stats.records === "number") total.textContent = fmt.format(stats.records);
        const rebuilding = document.getElementById("rebuilding");
        if (rebuilding && stats.rebuilding === false) rebuilding.hidden = true;
      } catch (e) {
        // The node is restarting or unreachable; try again on the next tick.
      }
    };
    refresh();
    setInterval(refresh, 2000);
  }

  const form = document.getElementById("filters");
  if (form) {
    for (const el of form.querySelectorAll("[data-autosubmit]")) {
      el.addEventListener("change", function () { form.requestSubmit(); });
    }
  }

  const search = document.getElementById("search");
  const table = document.getElementById("inventory");
  if (search && table) {
    const rows = Array.from(table.tBodies[0].rows);
    const shown = document.getElementById("shown");
    const none = document.getElementById("no-match");
    const apply = function () {
      const needle = search.value.trim().toLowerCase();
      let n = 0;
      for (const row of rows) {
        const hit = needle === "" || row.dataset.text.toLowerCase().includes(needle);
        row.hidden = !hit;
        if (hit) n++;
      }
      if (shown) shown.textContent = String(n);
      if (none) none.hidden = n !== 0;
    };
    search.addEventListener("input", apply);
  }
})();
