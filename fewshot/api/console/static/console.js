/* Shared helpers of the console pages. Text from the pool only ever goes into the page through
   textContent (never innerHTML), so an item containing <script> shows as text. */
"use strict";
window.fewshot = {
  getJSON: async function (url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const detail = body && body.detail ? body.detail : r.status + " " + r.statusText;
      throw new Error(detail);
    }
    return body;
  },
  el: function (tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  },
  fmt: function (v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    return typeof v === "number" ? v.toFixed(digits === undefined ? 4 : digits) : String(v);
  },
  palette: ["#2f6fde", "#e8590c", "#2f9e44", "#ae3ec9", "#c92a2a", "#1098ad", "#f59f00", "#5c7cfa",
            "#d6336c", "#37b24d", "#7950f2", "#0ca678", "#fd7e14", "#15aabf", "#868e96"],
};
