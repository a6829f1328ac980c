// Lepton Stream console: renders /events (server-sent events) and /api/alerts/<fp>/series. No libraries, no
// network beyond this server; every text from the stream goes in through textContent, never as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const ui = { alerts: null, queues: null, selected: decodeURIComponent(location.hash.slice(1)) || null,
  seriesKey: null, series: null, seriesError: null };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const hhmm = (iso) => (iso ? String(iso).slice(11, 16) : "");
const day = (iso) => (iso ? String(iso).slice(0, 10) : "");
const secs = (iso) => Date.parse(iso) / 1000;
const fmt = (x, d = 2) => (typeof x === "number" ? x.toFixed(d) : "");
const KIND = { sentiment_spike: "sentiment spike", propagated_risk: "propagated risk", intent_surge: "intent surge" };

function badge(text, cls) { return el("span", { class: "badge " + (cls || text) }, text); }

// ------------------------------------------------------------------ alerts list

function renderAlerts() {
  const data = ui.alerts;
  const list = document.getElementById("alerts");
  document.getElementById("summary").textContent =
    `${data.firing} firing · ${data.resolved} resolved` + (data.skipped ? ` · ${data.skipped} unreadable records` : "");
  const feed = document.getElementById("feed");
  feed.hidden = !data.feed_error;
  feed.textContent = data.feed_error || "";
  list.replaceChildren();
  if (!data.incidents.length) list.append(el("li", { class: "empty" }, "no alerts yet"));
  if (!ui.selected || !data.incidents.some((i) => i.fingerprint === ui.selected)) {
    const first = data.incidents.find((i) => i.kind !== "propagated_risk") || data.incidents[0];
    ui.selected = first ? first.fingerprint : null;
  }
  for (const inc of data.incidents) {
    const li = el("li", {
      class: "incident" + (inc.fingerprint === ui.selected ? " selected" : ""), "data-fingerprint": inc.fingerprint,
      "data-kind": inc.kind, "data-subject": inc.subject, "data-status": inc.status, "data-severity": inc.severity,
      tabIndex: 0,
    },
    el("div", { class: "row1" }, badge(inc.severity), el("span", { class: "name" }, inc.subject_name),
      inc.status === "resolved" ? badge("resolved") : badge("firing")),
    el("div", { class: "row2" }, `${KIND[inc.kind] || inc.kind} · ${hhmm(inc.window.start)}–${hhmm(inc.window.end)}`
      + ` · score ${fmt(inc.score)}` + (inc.updates > 1 ? ` · ${inc.updates} updates` : "")));
    li.addEventListener("click", () => select(inc.fingerprint));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") select(inc.fingerprint); });
    list.append(li);
  }
  renderDetail();
}

function select(fp) {
  ui.selected = fp;
  history.replaceState(null, "", "#" + encodeURIComponent(fp));
  for (const li of document.querySelectorAll("#alerts .incident")) {
    li.classList.toggle("selected", li.dataset.fingerprint === fp);
  }
  renderDetail();
}

// ------------------------------------------------------------------ one incident

function current() { return ui.alerts && ui.alerts.incidents.find((i) => i.fingerprint === ui.selected); }

function renderDetail() {
  const pane = document.getElementById("detail");
  const inc = current();
  if (!inc) { pane.replaceChildren(el("p", { class: "empty" }, "select an alert")); return; }
  pane.dataset.fingerprint = inc.fingerprint;
  pane.dataset.status = inc.status;
  const counts = Object.entries(inc.counts || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  const facts = el("div", { class: "facts" },
    el("span", {}, "kind ", el("b", {}, KIND[inc.kind] || inc.kind)),
    el("span", {}, "window ", el("b", {}, `${day(inc.window.start)} ${hhmm(inc.window.start)}–${hhmm(inc.window.end)}`)),
    el("span", {}, "score ", el("b", {}, fmt(inc.score))),
    el("span", {}, "baseline ", el("b", {}, fmt(inc.baseline, 1))),
    el("span", {}, "counts ", el("b", {}, counts)),
    el("span", { id: "span" }, inc.status === "resolved"
      ? ["resolved ", el("b", {}, `${hhmm(inc.starts_at)}–${hhmm(inc.ends_at)}`)]
      : ["firing since ", el("b", {}, hhmm(inc.starts_at))]));
  const parts = [
    el("h2", {}, badge(inc.severity), inc.subject_name, el("span", { class: "muted" }, inc.subject),
      inc.status === "resolved" ? badge("resolved") : badge("firing")),
    el("p", { class: "explanation" }, inc.explanation),
    facts,
    el("div", { id: "chart" }),
  ];
  const paths = pathsOf(inc);
  if (paths.length) {
    parts.push(el("h3", {}, "Graph path" + (paths.length > 1 ? "s" : "")),
      el("div", { id: "paths" }, paths.map((p) => pathView(p))));
  }
  parts.push(el("h3", {}, "Evidence"), el("ol", { id: "evidence" }, (inc.evidence || []).map(evidenceView)));
  if (!(inc.evidence || []).length) parts.push(el("p", { class: "empty" }, "none kept"));
  pane.replaceChildren(...parts);
  const key = `${inc.fingerprint}|${inc.updates}|${inc.status}`;
  if (ui.seriesKey !== key) { ui.seriesKey = key; loadSeries(inc); } else renderChart();
}

function pathsOf(inc) {
  if (inc.kind === "propagated_risk" && inc.propagated_from) {
    return [{ path: inc.propagated_from.path, weight: inc.propagated_from.weight, score: inc.score }];
  }
  return (inc.related || []).map((r) => ({ path: r.path, weight: r.weight, score: r.score, name: r.subject_name }));
}

function pathView(p) {
  const items = [];
  (p.path || []).forEach((step, i) => {
    if (i % 2 === 0) items.push(el("span", { class: "node" + (i === 0 ? " origin" : "") }, step));
    else {
      const back = step.startsWith("<-");
      const rel = step.replace(/^<-|->$/g, "");
      items.push(el("span", { class: "rel" }, back ? `←${rel}—` : `—${rel}→`));
    }
  });
  return el("div", { class: "path" }, items,
    el("span", { class: "score" }, `weight ${fmt(p.weight)} · score ${fmt(p.score)}` + (p.name ? ` · ${p.name}` : "")));
}

function evidenceView(ev) {
  const tokens = ev.explanation || [];
  return el("li", { class: "evidence", "data-id": ev.id },
    el("div", { class: "text" }, ev.text),
    tokens.length ? el("div", { class: "tokens" }, tokens.map((t) => el("span", { class: "token" }, t))) : null,
    el("div", { class: "meta" }, `${ev.id} · confidence ${fmt(ev.confidence)}`));
}

async function loadSeries(inc) {
  const fp = inc.fingerprint;
  try {
    const r = await fetch(`/api/alerts/${encodeURIComponent(fp)}/series`, { credentials: "same-origin" });
    const body = await r.json();
    if (ui.selected !== fp) return;
    ui.series = r.ok ? body : null;
    ui.seriesError = r.ok ? null : body.error || `HTTP ${r.status}`;
  } catch (e) {
    ui.series = null;
    ui.seriesError = String(e);
  }
  renderChart();
}

function renderChart() {
  const box = document.getElementById("chart");
  if (!box) return;
  const s = ui.series;
  if (!s || s.fingerprint !== ui.selected) {
    box.replaceChildren(el("p", { class: "empty" }, ui.seriesError || "loading the counts…"));
    return;
  }
  const W = 640, H = 210, L = 34, R = 8, T = 22, B = 22;
  const pts = s.points;
  const max = Math.max(1, s.baseline, ...pts.map((p) => p.value));
  const step = (W - L - R) / pts.length;
  const x = (t) => L + ((t - secs(pts[0].t)) / s.bucket_s) * step;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `${s.label === "n" ? "chats" : s.label + " mentions"} of ${s.subject} per bucket` });
  const end = secs(pts[pts.length - 1].t) + s.bucket_s;
  if (s.starts_at) {
    const a = Math.max(x(secs(s.starts_at)), L), b = Math.min(x(s.ends_at ? secs(s.ends_at) : end), W - R);
    if (b > a) g.append(svg("rect", { class: "incident-span", x: a, y: T, width: b - a, height: H - T - B }));
  }
  const ws = secs(s.window.start), we = secs(s.window.end);
  g.append(svg("rect", { class: "alert-window", x: x(ws), y: T - 4, width: Math.max(2, x(we) - x(ws)),
    height: H - T - B + 4 }));
  for (const p of pts) {
    const t = secs(p.t);
    const inWin = t >= ws && t < we;
    const bar = svg("rect", { class: "bar" + (inWin ? " in-window" : ""), x: x(t) + step * 0.12,
      y: y(p.value), width: Math.max(1, step * 0.76), height: Math.max(0, H - B - y(p.value)) });
    bar.append(svg("title", {}, `${hhmm(p.t)}  ${p.value} ${s.label === "n" ? "chats" : s.label} of ${p.n}`));
    g.append(bar);
  }
  g.append(svg("line", { class: "baseline", x1: L, x2: W - R, y1: y(s.baseline), y2: y(s.baseline) }));
  g.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  g.append(svg("text", { x: L - 4, y: T + 4, "text-anchor": "end" }, String(Math.round(max))));
  g.append(svg("text", { x: L - 4, y: H - B, "text-anchor": "end" }, "0"));
  const every = Math.max(1, Math.ceil(pts.length / 8));
  pts.forEach((p, i) => {
    if (i % every === 0) g.append(svg("text", { x: x(secs(p.t)), y: H - 6 }, hhmm(p.t)));
  });
  const what = s.label === "n" ? `'${s.subject}' chats` : `${s.label} mentions of ${s.subject}`;
  g.append(svg("text", { class: "legend", x: L, y: 12 },
    `${what} per ${Math.round(s.bucket_s / 60)} min · dashed: baseline ${fmt(s.baseline, 1)} · shaded: the alert's window`));
  box.replaceChildren(g);
}

// ------------------------------------------------------------------ support

function spark(values) {
  const w = 120, h = 22, max = Math.max(1, ...values);
  const g = svg("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const pts = values.map((v, i) => `${(i * w) / Math.max(1, values.length - 1)},${h - 1 - ((h - 2) * v) / max}`);
  g.append(svg("polyline", { points: pts.join(" ") }));
  return g;
}

function renderQueues() {
  const q = ui.queues;
  document.getElementById("stream-time").textContent = q.stream_time
    ? `stream time ${day(q.stream_time)} ${hhmm(q.stream_time)} UTC` : "no routed chats yet";
  document.getElementById("queues-window").textContent = `(last ${Math.round(q.recent_s / 60)} min)`;
  const surges = document.getElementById("surges");
  surges.replaceChildren();
  if (!q.surges.length) surges.append(el("li", { class: "empty" }, "no intent surge"));
  for (const s of q.surges) {
    const li = el("li", { class: "surge", "data-intent": s.subject, "data-status": s.status },
      el("div", {}, badge(s.severity), " ", el("span", { class: "name" }, s.subject), " ",
        s.status === "resolved" ? badge("resolved") : badge("firing")),
      el("div", { class: "muted" }, `${hhmm(s.window.start)}–${hhmm(s.window.end)} · queue ${s.queue || "?"} · `
        + `${(s.counts || {}).n || 0} chats (usually ${fmt(s.baseline, 1)})`));
    li.addEventListener("click", () => select(s.fingerprint));
    surges.append(li);
  }
  const body = document.querySelector("#queues tbody");
  body.replaceChildren();
  const top = Math.max(1, ...q.queues.map((r) => r.recent));
  for (const r of q.queues) {
    const bar = el("div", { class: "bar" });
    bar.style.width = `${Math.round((70 * r.recent) / top)}px`;
    body.append(el("tr", { class: "queue-row", "data-queue": r.queue },
      el("td", {}, r.queue), el("td", {}, el("div", { class: "load" }, bar, String(r.recent))),
      el("td", {}, String(r.recent_escalated)), el("td", {}, spark(r.series))));
  }
  const esc = document.getElementById("escalations");
  esc.replaceChildren();
  if (!q.escalations.length) esc.append(el("li", { class: "empty" }, "none"));
  for (const e of q.escalations.slice(0, 8)) {
    esc.append(el("li", { class: "escalation", "data-queue": e.queue },
      el("div", {}, el("span", { class: "who" }, `${hhmm(e.sent_at)} ${e.queue} · P${e.priority}`), " ",
        `${e.out_of_scope ? "out of scope " : ""}${e.intent || ""}`),
      el("div", {}, e.text),
      el("div", { class: "why" }, (e.reasons || []).join("; "))));
  }
}

// ------------------------------------------------------------------ live updates

function connect() {
  const live = document.getElementById("live");
  const src = new EventSource("/events");
  src.onopen = () => { live.dataset.state = "open"; live.textContent = "live"; };
  src.onerror = () => { live.dataset.state = "closed"; live.textContent = "reconnecting"; };
  src.addEventListener("alerts", (ev) => { ui.alerts = JSON.parse(ev.data); renderAlerts(); });
  src.addEventListener("queues", (ev) => { ui.queues = JSON.parse(ev.data); renderQueues(); });
}

// The counts keep growing after an alert: the chart of a firing incident is read again now and then.
setInterval(() => {
  const inc = current();
  if (inc && inc.status === "firing" && !document.hidden) loadSeries(inc);
}, 10000);

connect();
