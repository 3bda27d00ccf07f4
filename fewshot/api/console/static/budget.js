/* Budget page: draw the coverage / similarity / influence curve with uPlot; hovering a point shows
   the budget, the values and the marginal gain of coverage from the previous budget. */
"use strict";
(function () {
  const box = document.getElementById("budget");
  const status = document.getElementById("budget-status");
  const tip = document.getElementById("budget-tip");
  const F = window.fewshot;

  function draw(data) {
    const rows = data.rows;
    const budgets = rows.map((r) => r.budget);
    const cov = rows.map((r) => r.coverage);
    const sim = rows.map((r) => r.mean_similarity);
    const infl = rows.map((r) => (r.influence === null ? null : r.influence));
    const costs = rows.map((r) => (r.cost === undefined ? null : r.cost));
    const hasCost = costs.some((c) => c !== null);
    const hasInfl = infl.some((v) => v !== null);
    const gain = cov.map((c, i) => (i === 0 ? c : c - cov[i - 1]));
    const series = [
      { label: "budget" },
      { label: "coverage", stroke: "#2f6fde", width: 2, points: { show: true, size: 7 } },
      { label: "mean similarity", stroke: "#2f9e44", width: 1.5, points: { show: true, size: 5 } },
    ];
    const columns = [budgets, cov, sim];
    if (hasInfl) {
      series.push({ label: "influence", stroke: "#ae3ec9", width: 1.5, scale: "infl", points: { show: true, size: 5 } });
      columns.push(infl);
    }
    const axes = [
      { label: hasCost ? "items (cost on the table)" : "budget (items)" },
      { label: "coverage / similarity" },
    ];
    if (hasInfl) axes.push({ side: 1, scale: "infl", label: "influence", grid: { show: false } });
    const width = Math.min(box.clientWidth - 32, 1100);
    const opts = {
      width: width, height: 380,
      scales: { x: { time: false, distr: 3 } },
      series: series, axes: axes,
      cursor: { points: { size: 9 } },
      hooks: {
        setCursor: [function (u) {
          const i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) { tip.hidden = true; return; }
          const lines = ["budget " + budgets[i] + (budgets[i] === data.recommended ? " (recommended)" : ""),
            "coverage " + F.fmt(cov[i]), "marginal gain " + F.fmt(gain[i]), "mean similarity " + F.fmt(sim[i])];
          if (hasInfl) lines.push("influence " + F.fmt(infl[i]));
          if (hasCost) lines.push("cost " + F.fmt(costs[i], 2));
          tip.textContent = lines.join("\n");
          tip.hidden = false;
          tip.style.left = (u.cursor.left + 60) + "px";
          tip.style.top = (u.cursor.top + 40) + "px";
          box.dataset.hover = String(budgets[i]);
        }],
      },
    };
    const chart = new uPlot(opts, columns, document.getElementById("budget-chart"));
    box.dataset.points = String(budgets.length);
    box.dataset.recommended = String(data.recommended);
    status.textContent = budgets.length + " budgets, method " + data.method + ", coverage threshold cos ≥ " + F.fmt(data.threshold, 2);
    window.fewshotBudgetChart = chart;

    const r = budgets.indexOf(data.recommended);
    const reason = document.getElementById("budget-reason");
    let why = "Recommended budget: " + data.recommended + " items, the knee of the coverage curve";
    if (r >= 0) {
      why += ": coverage reaches " + F.fmt(cov[r], 3);
      if (r + 1 < budgets.length) {
        why += "; going on to " + budgets[r + 1] + " items adds only " + F.fmt(cov[r + 1] - cov[r], 3) +
          " coverage (" + F.fmt((cov[r + 1] - cov[r]) / Math.max(1, budgets[r + 1] - budgets[r]) * 100, 3) + " per 100 items)";
      }
      if (r > 0) {
        why += ", against " + F.fmt(gain[r], 3) + " for the step before (" + F.fmt(gain[r] / Math.max(1, budgets[r] - budgets[r - 1]) * 100, 3) + " per 100 items)";
      }
    }
    reason.textContent = why + ".";
    const tbody = document.querySelector("#budget-table tbody");
    rows.forEach(function (row, i) {
      const tr = document.createElement("tr");
      if (row.budget === data.recommended) tr.className = "recommended";
      [row.budget, hasCost ? F.fmt(costs[i], 2) : "–", F.fmt(cov[i]), F.fmt(gain[i]), F.fmt(sim[i]), F.fmt(infl[i])].forEach(function (v) {
        tr.appendChild(F.el("td", v));
      });
      tbody.appendChild(tr);
    });
    document.getElementById("budget-advice").hidden = false;
  }

  F.getJSON(box.dataset.url).then(draw).catch(function (err) {
    status.textContent = "Could not compute the curve: " + err.message;
    status.className = "error";
    box.dataset.error = err.message;
  });
})();
