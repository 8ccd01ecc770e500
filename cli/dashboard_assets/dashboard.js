// batchline dashboard: polls GET /api/summary and redraws. Plain JS, no libraries, no network but this
// server. Every value is written with textContent (company ids are user data, never parsed as HTML).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let refreshMs = 5000;

function $(testid) {
  return document.querySelector(`[data-testid="${testid}"]`);
}

function setText(testid, value) {
  const el = $(testid);
  if (el) el.textContent = String(value);
  return el;
}

// The same form as `batchline stats` prints: 2h00m05s, 4m09s.
function ageText(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}h${pad(m)}m${pad(sec)}s` : `${m}m${pad(sec)}s`;
}

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

function drawBars(svg, counts) {
  clear(svg);
  const entries = Object.entries(counts);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const rowH = 26, labelW = 190, width = 440, barMax = width - labelW - 60;
  svg.setAttribute("viewBox", `0 0 ${width} ${entries.length * rowH + 6}`);
  entries.forEach(([status, n], i) => {
    const y = i * rowH + 4;
    svg.appendChild(svgEl("text", { x: 0, y: y + 15, class: "label" }, status.toLowerCase()));
    const w = Math.max(n ? 2 : 0, (n / max) * barMax);
    svg.appendChild(svgEl("rect", { x: labelW, y, width: w, height: rowH - 8, class: "bar" }));
    svg.appendChild(svgEl("text", { x: labelW + w + 6, y: y + 15, class: "label" }, n));
  });
}

function drawThroughput(svg, points) {
  clear(svg);
  const W = 900, H = 220, left = 40, bottom = 24, top = 10;
  const max = Math.max(1, ...points.map((p) => Math.max(p.completed, p.failed)));
  const n = Math.max(1, points.length - 1);
  const x = (i) => left + (i / n) * (W - left - 8);
  const y = (v) => H - bottom - (v / max) * (H - bottom - top);
  svg.appendChild(svgEl("line", { x1: left, y1: H - bottom, x2: W - 8, y2: H - bottom, class: "axis" }));
  svg.appendChild(svgEl("line", { x1: left, y1: top, x2: left, y2: H - bottom, class: "axis" }));
  svg.appendChild(svgEl("text", { x: 2, y: top + 10, class: "label" }, max));
  svg.appendChild(svgEl("text", { x: 2, y: H - bottom, class: "label" }, 0));
  const line = (key) => points.map((p, i) => `${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
  if (points.length) {
    const area = `${x(0)},${y(0)} ${line("completed")} ${x(points.length - 1)},${y(0)}`;
    svg.appendChild(svgEl("polygon", { points: area, class: "area-ok" }));
    svg.appendChild(svgEl("polyline", { points: line("completed"), class: "line-ok" }));
    svg.appendChild(svgEl("polyline", { points: line("failed"), class: "line-bad" }));
  }
  const step = Math.max(1, Math.round(points.length / 6));
  for (let i = 0; i < points.length; i += step) {
    const at = new Date(points[i].minute);
    const label = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    svg.appendChild(svgEl("text", { x: x(i) - 14, y: H - 6, class: "label" }, label));
  }
}

function cell(row, value, testid) {
  const td = document.createElement("td");
  td.textContent = String(value);
  if (testid) td.dataset.testid = testid;
  row.appendChild(td);
  return td;
}

function companyRow(body, name, doc, prefix, cls) {
  const tr = document.createElement("tr");
  if (cls) tr.className = cls;
  cell(tr, name);
  cell(tr, doc.sessions, `${prefix}.sessions`);
  cell(tr, doc.requests_total, `${prefix}.requests_total`);
  cell(tr, doc.pending_requests, `${prefix}.pending_requests`);
  const age = cell(tr, ageText(doc.oldest_pending_age_s), `${prefix}.oldest_pending_age`);
  age.dataset.requestedAt = doc.oldest_pending_requested_at || "";
  cell(tr, doc.requests.PROCESSING_COMPLETE, `${prefix}.requests.PROCESSING_COMPLETE`);
  cell(tr, doc.requests.PROCESSING_FAILED, `${prefix}.requests.PROCESSING_FAILED`);
  cell(tr, doc.batches_total, `${prefix}.batches_total`);
  cell(tr, doc.batch_cost_usd, `${prefix}.batch_cost_usd`);
  cell(tr, doc.realtime_cost_usd, `${prefix}.realtime_cost_usd`);
  cell(tr, doc.savings_usd, `${prefix}.savings_usd`);
  cell(tr, doc.duplicate_cost_usd, `${prefix}.duplicate_cost_usd`);
  cell(tr, doc.unpriced_models.join(", ") || "-", `${prefix}.unpriced_models`);
  body.appendChild(tr);
}

function render(summary) {
  const stats = summary.stats, totals = stats.totals;
  for (const key of ["requests_total", "pending_requests", "in_progress_requests", "batches_total",
                     "batch_cost_usd", "savings_usd"]) {
    setText(`totals.${key}`, totals[key]);
  }
  setText("totals.requests_total.copy", totals.requests_total);
  setText("totals.requests.PROCESSING_COMPLETE", totals.requests.PROCESSING_COMPLETE);
  setText("totals.requests.PROCESSING_FAILED", totals.requests.PROCESSING_FAILED);
  const age = setText("totals.oldest_pending_age", ageText(totals.oldest_pending_age_s));
  age.dataset.requestedAt = totals.oldest_pending_requested_at || "";

  const companies = document.getElementById("companies");
  clear(companies);
  const names = Object.keys(stats.companies);
  setText("company-count", names.length);
  for (const name of names) companyRow(companies, name, stats.companies[name], `company.${name}`);
  companyRow(companies, "total", totals, "totals.row", "total");

  drawBars(document.getElementById("requests-chart"), totals.requests);
  drawBars(document.getElementById("batches-chart"), totals.batches);
  drawThroughput(document.getElementById("throughput"), summary.throughput);
  setText("window-hours", summary.window_hours);
  setText("throughput-completed", summary.throughput.reduce((a, p) => a + p.completed, 0));
  setText("throughput-failed", summary.throughput.reduce((a, p) => a + p.failed, 0));

  const dlq = document.getElementById("dlq");
  clear(dlq);
  if (summary.dlq === null) {
    setText("dlq-total", "?");
  } else {
    let total = 0;
    for (const [topic, n] of Object.entries(summary.dlq)) {
      const tr = document.createElement("tr");
      cell(tr, topic);
      cell(tr, n === null ? "no topic" : n, `dlq.${topic}`);
      dlq.appendChild(tr);
      total += n || 0;
    }
    setText("dlq-total", total);
  }
  refreshMs = summary.refresh_s * 1000;
  setText("refresh-s", summary.refresh_s);
  setText("updated-at", new Date(stats.generated_at).toLocaleTimeString());
  document.body.dataset.generatedAt = stats.generated_at;
}

function showProblem(text) {
  const el = $("problem");
  el.textContent = text || "";
  el.hidden = !text;
}

async function refresh() {
  try {
    const response = await fetch("/api/summary", { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) {
      showProblem(body.error || `HTTP ${response.status}`);
    } else {
      render(body);
      showProblem(body.dlq_error);
    }
  } catch (err) {
    showProblem(`dashboard server unreachable (${err.name})`);
  } finally {
    setTimeout(refresh, refreshMs);
  }
}

document.addEventListener("DOMContentLoaded", refresh);
