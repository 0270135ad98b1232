// The coord dashboard: plain JavaScript, no framework, talking only to this server.
// Live updates read /runs/{id}/events as server-sent events through fetch (so the bearer
// token travels in a header, never in a URL).
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { run: null, tasks: new Map(), selected: null, stream: null, notes: {}, token: sessionStorage.getItem("coord-token") || "" };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k === "text") e.textContent = v;
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

// Long text (an attempt's error, a feedback) shows its first words and the whole on demand,
// never cut mid-word without saying so.
function longText(text, limit = 280) {
  if (text.length <= limit) return document.createTextNode(text);
  let cut = text.lastIndexOf(" ", limit);
  if (cut < limit / 2) cut = limit;
  return el("details", { class: "long" }, el("summary", { text: text.slice(0, cut) + " …" }), el("div", { class: "whole", text }));
}

// A duration in seconds as a person reads it.
function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${(Math.round(seconds * 10) / 10).toFixed(1)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// A unix-ms instant in the reader's own time zone.
function when(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

// The connection badge: whether the server answers, and whether this run's events stream.
function connection(text, on) {
  const live = $("#live");
  live.textContent = text;
  live.className = "live " + (on ? "on" : "off");
}

function message(text, isError = false) {
  const m = $("#message");
  m.textContent = text;
  m.classList.toggle("error", isError);
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, Object.assign({}, options, { headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) }));
  } catch (e) {
    connection("offline", false);
    throw new Error("the server does not answer: " + e.message);
  }
  if (res.status === 401) {
    $("#auth").hidden = false;
    throw new Error("this server needs its bearer token");
  }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if ($("#live").textContent === "offline" || $("#live").textContent === "connecting") connection("connected", true);
  if (!res.ok) throw new Error((data && data.error && data.error.message) || res.statusText);
  return data;
}

// ---- runs ----------------------------------------------------------------------------

async function loadRuns(select) {
  const list = await api("/runs?limit=200");
  const sel = $("#runs");
  sel.replaceChildren();
  if (list.runs.length === 0) sel.append(el("option", { value: "", text: "(no runs yet)" }));
  for (const r of list.runs) {
    const done = r.tasks.done || 0;
    sel.append(el("option", { value: r.id, text: `${r.id} · ${r.state} · ${done}/${r.total_tasks} · ${r.objective.slice(0, 60)}` }));
  }
  const want = select || state.run || (list.runs[0] && list.runs[0].id);
  if (want) {
    sel.value = want;
    if (want !== state.run) await openRun(want);
  }
}

async function openRun(id) {
  state.run = id;
  state.selected = null;
  $("#task-panel").hidden = true;
  const plan = await api(`/runs/${id}/plan`);
  state.plan = plan;
  await refreshTasks();
  drawDag();
  await refreshRun();
  await refreshEscalations();
  follow(id);
}

async function refreshRun() {
  if (!state.run) return;
  const r = await api(`/runs/${state.run}`);
  const badge = $("#run-state");
  badge.textContent = r.state;
  badge.className = "badge state-" + r.state;
  $("#cancel-run").hidden = r.state !== "running";
  const done = r.tasks.done || 0;
  const option = [...$("#runs").options].find((o) => o.value === r.id);
  if (option) option.textContent = `${r.id} · ${r.state} · ${done}/${r.total_tasks} · ${r.objective.slice(0, 60)}`;
  $("#plan-summary").textContent = `${done}/${r.total_tasks} done · critical path ${state.plan.critical_path.join(" → ")}`;
}

async function refreshTasks() {
  const list = await api(`/runs/${state.run}/tasks?limit=1000`);
  for (const t of list.tasks) state.tasks.set(t.task_id, t);
  for (const t of list.tasks) paintTask(t);
}

// ---- the DAG --------------------------------------------------------------------------

function drawDag() {
  const groups = $("#groups");
  groups.replaceChildren();
  state.plan.groups.forEach((ids, g) => {
    const col = el("div", { class: "group", "data-group": String(g) }, el("h4", { text: `Parallel group ${g + 1}` }));
    for (const id of ids) {
      const t = state.tasks.get(id);
      const card = el("div", { class: "task", "data-task": id, tabIndex: 0 },
        el("div", { class: "id", text: id }),
        el("div", { class: "title", text: t ? t.title : id }),
        el("div", { class: "who", text: "@" + (t ? t.specialist : "?") + (t && t.automatic ? " (automatic)" : " (manual)") }),
        el("span", { class: "state" }));
      card.addEventListener("click", () => selectTask(id));
      col.append(card);
    }
    groups.append(col);
  });
  for (const t of state.tasks.values()) paintTask(t);
  requestAnimationFrame(drawEdges);
}

function drawEdges() {
  const svg = $("#edges");
  const box = $("#dag").getBoundingClientRect();
  const scroll = $("#dag").scrollLeft;
  svg.setAttribute("width", $("#groups").scrollWidth);
  svg.setAttribute("height", $("#groups").scrollHeight);
  svg.replaceChildren();
  for (const t of state.tasks.values()) {
    const to = document.querySelector(`.task[data-task="${CSS.escape(t.task_id)}"]`);
    if (!to) continue;
    for (const dep of t.depends_on) {
      const from = document.querySelector(`.task[data-task="${CSS.escape(dep)}"]`);
      if (!from) continue;
      const a = from.getBoundingClientRect(), b = to.getBoundingClientRect();
      const x1 = a.right - box.left + scroll, y1 = a.top + a.height / 2 - box.top;
      const x2 = b.left - box.left + scroll, y2 = b.top + b.height / 2 - box.top;
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      const mid = (x1 + x2) / 2;
      path.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
      svg.append(path);
    }
  }
}

function paintTask(t) {
  const card = document.querySelector(`.task[data-task="${CSS.escape(t.task_id)}"]`);
  if (!card) return;
  card.className = `task state-${t.state}` + (t.critical ? " critical" : "") + (state.selected === t.task_id ? " selected" : "");
  card.setAttribute("data-state", t.state);
  const badge = card.querySelector(".state");
  badge.textContent = t.state + (t.attempts ? ` · ${t.attempts} attempt${t.attempts > 1 ? "s" : ""}` : "") + (t.escalation_level ? ` · L${t.escalation_level}` : "");
  badge.className = "state state-" + t.state;
  card.querySelector(".who").textContent = "@" + t.specialist + (t.automatic ? " (automatic)" : " (manual)");
}

// ---- one task -------------------------------------------------------------------------

async function selectTask(id) {
  state.selected = id;
  for (const t of state.tasks.values()) paintTask(t);
  $("#task-panel").hidden = false;
  $("#outcome").textContent = "";
  await showTask();
}

async function showTask() {
  const id = state.selected;
  if (!id) return;
  const base = `/runs/${state.run}/tasks/${id}`;
  const [detail, brief, gates] = await Promise.all([api(base), api(base + "/brief"), api(base + "/gates")]);
  const t = detail.task;
  $("#task-title").textContent = `${t.task_id}: ${t.title}`;
  $("#task-meta").textContent = `${t.state} · @${t.specialist} · ${t.kind} · ${t.priority} · escalation level ${t.escalation_level}`;
  const manual = !t.automatic && ["ready", "running", "retrying"].includes(t.state);
  $("#task-actions").hidden = !manual;
  const attempts = $("#attempts");
  attempts.replaceChildren();
  for (const a of detail.attempts) {
    const took = a.finished_at ? ` in ${duration((a.finished_at - a.started_at) / 1000)}` : "";
    const li = el("li", { text: `#${a.attempt} by @${a.specialist} (${a.owner}), ${when(a.started_at)}: ${a.outcome || "running"}${took}` });
    if (a.detail) li.append(" — ", longText(a.detail));
    attempts.append(li);
  }
  // Feedback that only repeats an attempt's own error (level 1) is already above.
  const repeats = (f) => /^attempt \d+ by @/.test(f.source) && detail.attempts.some((a) => a.detail && (a.detail.includes(f.text) || f.text.includes(a.detail)));
  const feedback = $("#feedback");
  feedback.replaceChildren();
  for (const f of detail.feedback.filter((f) => !repeats(f))) {
    feedback.append(el("li", { class: "feedback" }, el("strong", { text: f.source + ": " }), longText(f.text)));
  }
  $("#feedback-title").hidden = feedback.children.length === 0;
  const g = $("#gates");
  g.replaceChildren();
  if (gates.length === 0) g.append(el("p", { text: "no gate has run on this task" }));
  for (const r of gates) {
    const findings = (r.report && r.report.findings) || [];
    g.append(el("p", { text: `attempt ${r.attempt} · ${r.gate}: ${r.passed ? "passed" : "FAILED"} (${findings.length} finding${findings.length === 1 ? "" : "s"})` }));
    for (const f of findings.slice(0, 50)) {
      g.append(el("div", { class: "finding-" + f.severity, text: `[${f.severity}] ${f.file}:${f.line} ${f.rule} — ${f.message}` }));
    }
  }
  $("#brief").textContent = brief.markdown;
  const last = detail.attempts[detail.attempts.length - 1];
  if (last) {
    const tr = await api(`${base}/attempts/${last.attempt}`);
    $("#transcript").textContent = tr.transcript ? JSON.stringify(tr.transcript, null, 2) : [tr.stdout, tr.stderr].filter(Boolean).join("\n--- stderr ---\n") || "(no output recorded)";
  } else {
    $("#transcript").textContent = "(no attempt yet)";
  }
}

async function finishTask(kind) {
  const note = $("#note").value.trim();
  const artifacts = $("#artifacts").value.split(",").map((s) => s.trim()).filter(Boolean);
  const body = kind === "complete" ? { note, artifacts } : { note: note || "failed by hand" };
  try {
    const out = await api(`/runs/${state.run}/tasks/${state.selected}/${kind}`, { method: "POST", body });
    $("#outcome").textContent = out.accepted ? `accepted; ready now: ${out.ready.join(", ") || "none"}` : `${out.error || "refused"} — next: ${out.next.what}`;
    $("#note").value = "";
    $("#artifacts").value = "";
    await refreshTasks();
    await showTask();
  } catch (e) {
    $("#outcome").textContent = e.message;
  }
}

// ---- escalations ----------------------------------------------------------------------

async function refreshEscalations() {
  const list = await api(`/escalations${state.run ? "?run=" + encodeURIComponent(state.run) : ""}`);
  // Redraw only when the queue changed, so a button is not replaced under the pointer.
  const key = JSON.stringify(list.map((e) => [e.id, e.state]));
  if (key === state.escalationsKey) return;
  state.escalationsKey = key;
  const body = $("#escalations tbody");
  body.replaceChildren();
  const scope = state.run ? "in this run" : "in any run";
  $("#escalation-count").textContent = list.length ? `${list.length} open ${scope}` : `none open ${scope}`;
  for (const e of list) {
    const decide = el("td", { class: "decide" });
    // The note goes with whichever decision is taken: advice that joins the task's next brief
    // (a person's answer to a level-2 consultation), or why a data-loss change is approved.
    const note = el("textarea", {
      class: "note", rows: 2, maxLength: 8000, "data-note": String(e.id), value: state.notes[e.id] || "",
      placeholder: e.level === 2 ? "your advice for the next attempt" : "note (optional): advice for the next attempt, or why",
    });
    // Kept across redraws of the queue, so a note being typed survives a new escalation.
    note.addEventListener("input", () => { state.notes[e.id] = note.value; });
    const buttons = el("div", { class: "decisions" });
    for (const [d, title] of DECISIONS) {
      const b = el("button", { type: "button", class: "resolve" + (d === "abort" ? " danger" : ""), "data-id": String(e.id), "data-decision": d, title, text: d });
      b.addEventListener("click", () => resolve(e.id, d, note.value));
      buttons.append(b, " ");
    }
    const who = el("input", { placeholder: "specialist", size: 14, "data-reassign": String(e.id) });
    const re = el("button", { type: "button", class: "plain", text: "reassign", title: "try again with another specialist" });
    re.addEventListener("click", () => who.value.trim() && resolve(e.id, "reassign:" + who.value.trim(), note.value));
    buttons.append(who, re);
    decide.append(note, buttons);
    body.append(el("tr", { "data-escalation": String(e.id) },
      el("td", { text: String(e.id) }), el("td", { text: e.task_id }), el("td", { text: String(e.level) }),
      el("td", { text: e.category }), el("td", {}, longText(e.reason, 400)), decide));
  }
}

const DECISIONS = [
  ["retry", "try again with the same specialist"],
  ["approve", "accept the result as it is (a data-loss migration, a breaking contract change)"],
  ["skip", "treat the task as done without its output"],
  ["abort", "cancel the whole run"],
];

async function resolve(id, decision, note) {
  try {
    const body = { decision };
    if (note && note.trim()) body.note = note.trim();
    await api(`/escalations/${id}/resolve`, { method: "POST", body });
    message(`escalation #${id}: ${decision}${body.note ? ", with your note" : ""}`);
    delete state.notes[id];
  } catch (e) {
    message(e.message, true);
  }
  await refreshEscalations();
  await refreshTasks();
}

// ---- live updates ---------------------------------------------------------------------

let pending = null;
function soon() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    try {
      await refreshTasks();
      await refreshRun();
      await refreshEscalations();
      if (state.selected) await showTask();
      await refreshCharts();
    } catch (e) { message(e.message, true); }
  }, 150);
}

async function follow(id) {
  if (state.stream) state.stream.abort();
  const ctrl = new AbortController();
  state.stream = ctrl;
  let after = 0;
  while (!ctrl.signal.aborted && state.run === id) {
    try {
      const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
      const res = await fetch(`/runs/${id}/events?after=${after}`, { headers, signal: ctrl.signal });
      if (!res.ok) throw new Error("events: " + res.status);
      connection("live", true);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = text.indexOf("\n\n")) >= 0) {
          const block = text.slice(0, cut);
          text = text.slice(cut + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
          const idLine = block.split("\n").find((l) => l.startsWith("id:"));
          if (idLine) after = Number(idLine.slice(3).trim()) || after;
          if (data) soon();
        }
      }
    } catch (e) {
      if (ctrl.signal.aborted) return;
    }
    connection("reconnecting", false);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---- metric charts --------------------------------------------------------------------

const CHARTS = [
  ["tasks_completed", "backend_tasks_completed"],
  ["success_rate", "backend_success_rate"],
  ["avg_completion_time", "average completion time", duration],
  ["queue_depth", "queue depth"],
  ["running", "running tasks"],
  ["escalations_open", "open escalations (all runs)"],
  ["tokens", "LLM tokens"],
];

async function refreshCharts() {
  let history;
  try { history = await api("/metrics/history"); } catch (e) { return; }
  const box = $("#charts");
  box.replaceChildren();
  for (const [key, label, format] of CHARTS) {
    const values = history.samples.map((s) => s[key]).filter((v) => v !== null && v !== undefined);
    const canvas = el("canvas", { width: 220, height: 60 });
    const last = values.length ? values[values.length - 1] : null;
    box.append(el("div", { class: "chart", "data-metric": key },
      el("div", { class: "label", text: label }),
      el("div", { class: "value", text: last === null ? "—" : format ? format(last) : String(Math.round(last * 1000) / 1000) }), canvas));
    const ctx = canvas.getContext("2d");
    if (values.length < 2) continue;
    const max = Math.max(...values), min = Math.min(...values), span = max - min || 1;
    ctx.strokeStyle = "#3b5bdb";
    ctx.lineWidth = 2;
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = (i / (values.length - 1)) * (canvas.width - 4) + 2;
      const y = canvas.height - 4 - ((v - min) / span) * (canvas.height - 8);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

// ---- wiring ---------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#runs").addEventListener("change", (e) => e.target.value && openRun(e.target.value).catch((err) => message(err.message, true)));
  $("#new-run-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const objective = $("#objective").value.trim();
    if (!objective) return message("write an objective first", true);
    try {
      const workflows = $("#workflows").checked;
      const created = await api("/runs", { method: "POST", body: { objective, workflows } });
      message(`run ${created.run.id}: ${created.run.total_tasks} tasks in ${created.groups.length} parallel groups`);
      $("#objective").value = "";
      await loadRuns(created.run.id);
    } catch (err) { message(err.message, true); }
  });
  $("#cancel-run").addEventListener("click", async () => {
    try { await api(`/runs/${state.run}/cancel`, { method: "POST" }); soon(); } catch (err) { message(err.message, true); }
  });
  $("#complete").addEventListener("click", () => finishTask("complete"));
  $("#fail").addEventListener("click", () => finishTask("fail"));
  $("#auth-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("#token").value;
    sessionStorage.setItem("coord-token", state.token);
    $("#auth").hidden = true;
    loadRuns().catch((err) => message(err.message, true));
  });
  // The edges are redrawn whenever the DAG's columns change size (window resized, scrollbar
  // shown, task panel opened), so the drawing never keeps an old, wider size.
  new ResizeObserver(() => requestAnimationFrame(drawEdges)).observe($("#groups"));
  connection("connecting", false);
  loadRuns().catch((err) => message(err.message, true));
  refreshCharts();
  setInterval(refreshCharts, 5000);
});
