/* Pool map page: every point of the (server-side downsampled) map drawn on one <canvas>, coloured
   by status or label, the latest round's items joined in selection order; hovering a point fetches
   its text (shown with textContent, never as HTML). A uniform grid finds the point under the mouse. */
"use strict";
(function () {
  const F = window.fewshot;
  const box = document.getElementById("map");
  const canvas = document.getElementById("map-canvas");
  const status = document.getElementById("map-status");
  const tip = document.getElementById("map-tip");
  const legend = document.getElementById("map-legend");
  const colorBy = document.getElementById("color-by");
  const showOrder = document.getElementById("show-order");
  const STATUS_COLORS = { unlabeled: "#9aa4b2", selected: "#f08c00", labeled: "#2f9e44" };
  const PAD = 14, GRID = 64;
  let data = null, px = null, py = null, grid = null;
  const texts = new Map();

  function colorOf(i) {
    if (colorBy.value === "label") {
      const l = data.label[i];
      return l < 0 ? "#c5cbd3" : F.palette[l % F.palette.length];
    }
    return STATUS_COLORS[data.statuses[data.status[i]]] || "#9aa4b2";
  }

  function layout() {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 900, h = Math.round(w * 0.66);
    canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
    canvas.style.height = h + "px";
    const n = data.x.length;
    px = new Float32Array(n); py = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      px[i] = PAD + data.x[i] * (w - 2 * PAD);
      py[i] = h - PAD - data.y[i] * (h - 2 * PAD);
    }
    grid = new Map();
    for (let i = 0; i < n; i++) {
      const key = Math.floor(px[i] / w * GRID) * GRID + Math.floor(py[i] / h * GRID);
      let cell = grid.get(key);
      if (!cell) { cell = []; grid.set(key, cell); }
      cell.push(i);
    }
    return { w: w, h: h, ratio: ratio };
  }

  function draw() {
    const g = layout();
    const ctx = canvas.getContext("2d");
    ctx.setTransform(g.ratio, 0, 0, g.ratio, 0, 0);
    ctx.clearRect(0, 0, g.w, g.h);
    const n = data.x.length;
    const small = n > 20000 ? 1.2 : n > 5000 ? 1.8 : 2.6;
    for (let i = 0; i < n; i++) {
      const chosen = data.statuses[data.status[i]] !== "unlabeled";
      ctx.fillStyle = colorOf(i);
      ctx.globalAlpha = chosen ? 1 : 0.55;
      const r = chosen ? 3.6 : small;
      ctx.fillRect(px[i] - r / 2, py[i] - r / 2, r, r);
    }
    ctx.globalAlpha = 1;
    if (showOrder.checked) drawOrder(ctx);
    drawLegend();
    canvas.dataset.drawn = String(n);
  }

  function drawOrder(ctx) {
    let last = -1;
    for (let i = 0; i < data.round.length; i++) last = Math.max(last, data.round[i]);
    if (last < 0) return;
    const idx = [];
    for (let i = 0; i < data.round.length; i++) if (data.round[i] === last) idx.push(i);
    idx.sort((a, b) => data.position[a] - data.position[b]);
    ctx.strokeStyle = "rgba(29,35,48,0.45)"; ctx.lineWidth = 1;
    ctx.beginPath();
    idx.forEach((i, k) => (k === 0 ? ctx.moveTo(px[i], py[i]) : ctx.lineTo(px[i], py[i])));
    ctx.stroke();
    ctx.fillStyle = "#1d2330"; ctx.font = "10px system-ui, sans-serif";
    idx.slice(0, 30).forEach((i) => ctx.fillText(String(data.position[i] + 1), px[i] + 4, py[i] - 4));
  }

  function drawLegend() {
    legend.textContent = "";
    const entries = colorBy.value === "label"
      ? data.labels.map((l, k) => [l, F.palette[k % F.palette.length]]).concat([["no label", "#c5cbd3"]])
      : data.statuses.map((s) => [s + " (" + data.counts[s] + ")", STATUS_COLORS[s]]);
    entries.forEach(function (e) {
      const li = F.el("li", e[0]);
      li.style.setProperty("--c", e[1]);
      legend.appendChild(li);
    });
  }

  function nearest(x, y) {
    const w = canvas.clientWidth, h = canvas.clientHeight;
    const cx = Math.floor(x / w * GRID), cy = Math.floor(y / h * GRID);
    let best = -1, bestD = 64;  // within 8 px
    for (let gx = cx - 1; gx <= cx + 1; gx++) {
      for (let gy = cy - 1; gy <= cy + 1; gy++) {
        const cell = grid.get(gx * GRID + gy);
        if (!cell) continue;
        for (const i of cell) {
          const d = (px[i] - x) ** 2 + (py[i] - y) ** 2;
          if (d < bestD || (d === bestD && data.status[i] > data.status[best])) { best = i; bestD = d; }
        }
      }
    }
    return best;
  }

  function showTip(i, x, y) {
    const id = data.ids[i];
    const head = [data.statuses[data.status[i]]];
    if (data.label[i] >= 0) head.push("label " + data.labels[data.label[i]]);
    if (data.round[i] >= 0) head.push("round " + data.round[i] + ", #" + (data.position[i] + 1));
    const known = texts.get(id);
    tip.textContent = head.join(" · ") + "\n" + (known ? known.external_id + ": " + known.text : "…");
    tip.hidden = false;
    tip.style.left = Math.min(x + 30, canvas.clientWidth - 200) + "px";
    tip.style.top = (y + 50) + "px";
    box.dataset.hover = String(id);
    if (!known) {
      F.getJSON(box.dataset.texts + "?ids=" + id).then(function (got) {
        const t = got[String(id)];
        if (t) { texts.set(id, t); if (box.dataset.hover === String(id)) showTip(i, x, y); }
      }).catch(function () {});
    }
  }

  canvas.addEventListener("mousemove", function (ev) {
    if (!data) return;
    const rect = canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    const i = nearest(x, y);
    if (i < 0) { tip.hidden = true; delete box.dataset.hover; return; }
    showTip(i, x, y);
  });
  canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
  colorBy.addEventListener("change", function () { if (data) draw(); });
  showOrder.addEventListener("change", function () { if (data) draw(); });
  window.addEventListener("resize", function () { if (data) draw(); });

  // where a point is drawn, in CSS pixels of the canvas (for tests and debugging): [x, y] or null
  window.fewshotMap = {
    point: function (id) {
      const i = data ? data.ids.indexOf(id) : -1;
      return i < 0 ? null : [px[i], py[i]];
    },
  };

  const started = performance.now();
  F.getJSON(box.dataset.url).then(function (got) {
    data = got;
    draw();
    box.dataset.points = String(data.shown);
    box.dataset.total = String(data.total);
    status.textContent = data.shown + " of " + data.total + " items drawn (" + data.method + ", every selected and labeled item kept" +
      (data.missing ? "; " + data.missing + " without a vector yet" : "") + "); projection " +
      (data.cached ? "from the cache" : "computed now") + ", vector version " + data.vector_version + ", " +
      Math.round(performance.now() - started) + " ms";
  }).catch(function (err) {
    status.textContent = "Could not draw the map: " + err.message;
    status.className = "error";
    box.dataset.error = err.message;
  });
})();
