// orbitstore web page: plain JS over the daemon's HTTP API (/api/v0), no build step.
// Data is only ever written into the page with textContent, never as HTML.
"use strict";

const state = {
  token: null,
  node: null,
  selected: null,   // DatabaseInfo of the open database
  cursor: null,     // next page of entries
  live: null,       // AbortController of the event stream
  generation: 0,    // bumped whenever the entry list is rebuilt: late pages of an older list are dropped
  schema: null,     // the selected dataset's schema
  estimators: [],   // what /api/v0/estimators lists
  model: null,      // ModelInfo shown in the card, provenance and predict panels
};

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function say(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

// -- the API --------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? `${body.error}: ${body.message}` : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body, extra = {}) {
  const headers = { Authorization: `Bearer ${state.token}`, ...(extra.headers || {}) };
  const init = { method, headers };
  if (body !== undefined) {
    if (body instanceof Blob) {
      init.body = body;
    } else {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  const response = await fetch(path, init);
  const type = response.headers.get("Content-Type") || "";
  const data = type.startsWith("application/json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const dbPath = (address) => `/api/v0/db/${encodeURIComponent(address.replace(/^\/orbitdb\//, ""))}`;
const show = (value) => (value === undefined ? "" : JSON.stringify(value));

// -- connecting -----------------------------------------------------------------------------------

function takeTokenFromFragment() {
  const match = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (match) {
    sessionStorage.setItem("orbitstore-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);  // the token leaves the address bar and history
  }
  return sessionStorage.getItem("orbitstore-token");
}

async function connect(token) {
  state.token = token;
  try {
    state.node = await api("GET", "/api/v0/node");
  } catch (err) {
    state.token = null;
    sessionStorage.removeItem("orbitstore-token");
    const box = $("login-error");
    box.textContent = err.status === 401 ? "wrong token" : String(err.message || err);
    box.hidden = false;
    return;
  }
  sessionStorage.setItem("orbitstore-token", token);
  $("login").hidden = true;
  $("app").hidden = false;
  $("node").textContent = `${state.node.identity_id.slice(0, 16)}… · ${state.node.storage} · v${state.node.version}`;
  applyFeatures(state.node.features);
  if (state.node.features.models) state.estimators = (await api("GET", "/api/v0/estimators")).estimators;
  fillEstimators();
  await loadDatabases();
  say("connected");
}

function applyFeatures(features) {
  for (const panel of document.querySelectorAll(".panel[data-feature]")) {
    const on = Boolean(features[panel.dataset.feature]);
    panel.classList.toggle("disabled", !on);
    for (const control of panel.querySelectorAll("input, select, textarea, button")) control.disabled = !on;
  }
  for (const option of document.querySelectorAll("option[data-feature]")) {
    option.disabled = !features[option.dataset.feature];
  }
}

// -- databases ------------------------------------------------------------------------------------

async function loadDatabases() {
  const { databases } = await api("GET", "/api/v0/db");
  const list = $("databases");
  list.replaceChildren();
  for (const db of databases) {
    const item = el("li", { dataset: { address: db.address } }, el("span", {}, db.name), el("span", { class: "type" }, db.type));
    if (state.selected && state.selected.address === db.address) item.classList.add("selected");
    item.addEventListener("click", () => select(db.address));
    list.append(item);
  }
  if (!databases.length) list.append(el("li", { class: "muted" }, "none yet: create one"));
}

async function select(address) {
  stopLive();
  const info = await api("POST", `${dbPath(address)}/open`);
  const access = await api("GET", `${dbPath(address)}/access`);
  state.selected = info;
  $("database").hidden = false;
  $("db-title").textContent = info.name;
  $("db-address").textContent = info.address;
  $("db-type").textContent = info.type;
  const caps = Object.entries(access.capabilities).map(([k, v]) => `${k}: ${v.length}`).join(", ");
  $("db-access").textContent = `${access.type} (${access.mutable ? "grant/revoke" : "fixed"}; ${caps})`;
  const keyed = info.type === "keyvalue" || info.type === "dataset";
  $("write-key-label").hidden = !keyed;
  $("write-key-label").firstChild.textContent = info.type === "dataset" ? "Record id " : "Key ";
  $("write-key").required = keyed;
  $("write-button").textContent = info.type === "events" ? "Add" : "Put";
  $("write-value").placeholder = {
    documents: '{"_id": "a", "field": 1}', dataset: '{"age": 54, "bmi": 27.1}',
  }[info.type] || '{"text": "hello"}';
  $("upload-form").dataset.ready = info.type === "dataset" ? "yes" : "no";
  for (const li of $("databases").children) li.classList.toggle("selected", li.dataset.address === address);
  clearModel();
  await reloadEntries();
  startLive(info.address);
  await loadDatasetModels();
}

// -- entries --------------------------------------------------------------------------------------

function entryRow(item) {
  return el(
    "tr",
    { dataset: { hash: item.hash, key: item.key === null ? "" : show(item.key) } },
    el("td", { class: "mono", title: item.hash }, item.hash),
    el("td", { class: "mono" }, item.key === null ? "" : show(item.key)),
    el("td", { class: "value" }, show(item.value)),
  );
}

async function loadEntries() {
  const generation = state.generation;
  const params = new URLSearchParams({ limit: "50" });
  if (state.cursor) params.set("cursor", state.cursor);
  const page = await api("GET", `${dbPath(state.selected.address)}/entries?${params}`);
  if (generation !== state.generation) return;
  const body = $("entries").tBodies[0];
  for (const item of page.items) body.append(entryRow(item));
  state.cursor = page.cursor;
  $("more").hidden = !page.cursor;
}

async function reloadEntries() {
  state.generation += 1;
  $("entries").tBodies[0].replaceChildren();
  state.cursor = null;
  await loadEntries();
}

async function applyChange(change) {
  if (!state.selected || change.address !== state.selected.address) return;
  const body = $("entries").tBodies[0];
  const dataset = state.selected.type === "dataset";
  for (const entry of change.entries) {
    if (dataset && entry.op === "PUTS") {
      await reloadEntries();  // a batch of records: show the first page again
      return;
    }
    if (dataset && entry.op === "PUT") {
      // the entry links the record's block: read the row itself
      const item = await api("GET", `${dbPath(state.selected.address)}/get?key=${encodeURIComponent(entry.key)}`);
      const same = body.querySelector(`tr[data-key="${CSS.escape(show(item.key))}"]`);
      if (same) same.remove();
      const row = entryRow(item);
      row.classList.add("new");
      body.prepend(row);
      continue;
    }
    if (dataset && entry.op !== "DEL") continue;  // SCHEMA, GRANT, REVOKE, ANCHOR: not records
    if (body.querySelector(`tr[data-hash="${CSS.escape(entry.hash)}"]`)) continue;
    if (entry.key !== null && entry.key !== undefined) {
      const same = body.querySelector(`tr[data-key="${CSS.escape(show(entry.key))}"]`);
      if (same) same.remove();
    }
    if (entry.op === "DEL") continue;
    const row = entryRow({ hash: entry.hash, key: state.selected.type === "events" ? null : entry.key, value: entry.value });
    row.classList.add("new");
    body.prepend(row);
  }
}

// -- live updates: Server-Sent Events read with fetch (EventSource cannot send the token header) -------

function stopLive() {
  if (state.live) state.live.abort();
  state.live = null;
  $("db-live").textContent = "off";
  $("db-live").classList.remove("on");
}

async function startLive(address) {
  const controller = new AbortController();
  state.live = controller;
  try {
    const response = await fetch(`${dbPath(address)}/events`, {
      headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" },
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(`event stream: HTTP ${response.status}`);
    $("db-live").textContent = "on";
    $("db-live").classList.add("on");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (event === "change" && data.length) {
          applyChange(JSON.parse(data.join("\n"))).catch((err) => say(err.message || String(err), true));
        }
        if (event === "error" && data.length) say(JSON.parse(data.join("\n")).message, true);
      }
    }
  } catch (err) {
    if (err.name !== "AbortError") say(`live updates stopped: ${err.message}`, true);
  } finally {
    if (state.live === controller) stopLive();
  }
}

// -- models: train, card and provenance, predict --------------------------------------------------

const TASK_OF_TYPE = {
  bool: "classification", category: "classification", str: "classification",
  int: "regression", float: "regression", timestamp: "regression",
};
const shortName = (path) => path.split(".").pop();
const enc = encodeURIComponent;

function metricsText(metrics) {
  const parts = Object.keys(metrics).sort().map((k) => `${k} ${metrics[k] === null ? "—" : metrics[k].toFixed(3)}`);
  return parts.join(" · ") || "no metrics";
}

function modelsOn() {
  return Boolean(state.node && state.node.features.models);
}

function fillEstimators() {
  const select = $("train-estimator");
  const previous = select.value || "random_forest";
  const column = state.schema && state.schema.columns.find((c) => c.name === $("train-target").value);
  const task = column ? TASK_OF_TYPE[column.type] : null;
  const usable = state.estimators.filter((e) => !e.needs_params && !e.deprecated);
  const groups = [["by the target's type", usable.filter((e) => e.task === "either")]];
  if (task !== "regression") groups.push(["classifiers", usable.filter((e) => e.task === "classification")]);
  if (task !== "classification") groups.push(["regressors", usable.filter((e) => e.task === "regression")]);
  select.replaceChildren();
  for (const [label, items] of groups) {
    const group = el("optgroup", { label });
    for (const e of items) group.append(el("option", { value: e.name }, e.task === "either" ? e.name.replaceAll("_", " ") : e.name));
    if (items.length) select.append(group);
  }
  const names = [...select.options].map((o) => o.value);
  select.value = names.includes(previous) ? previous : (names.includes("random_forest") ? "random_forest" : names[0] || "");
}

async function loadDatasetModels() {
  const db = state.selected;
  state.schema = null;
  if (db && db.type === "dataset") {
    try {
      state.schema = await api("GET", `${dbPath(db.address)}/schema`);
    } catch (err) {
      if (err.status !== 404) throw err;  // no schema yet: nothing to train on
    }
  }
  const target = $("train-target");
  target.replaceChildren();
  for (const column of state.schema ? state.schema.columns : []) {
    target.append(el("option", { value: column.name }, `${column.name} (${column.type})`));
  }
  if (state.schema && state.schema.target) target.value = state.schema.target;
  $("train-hint").hidden = Boolean(state.schema);
  fillEstimators();
  await listModels();
}

async function listModels() {
  const list = $("models");
  list.replaceChildren();
  if (!modelsOn() || !state.selected || state.selected.type !== "dataset") return;
  const { models } = await api("GET", `/api/v0/models?db=${enc(state.selected.address)}`);
  for (const model of models.slice().reverse()) {  // newest first
    const item = el(
      "li",
      { dataset: { card: model.card } },
      el("span", {}, `v${model.version} ${shortName(model.estimator)}`),
      el("span", { class: "type" }, metricsText(model.metrics)),
    );
    if (state.model && state.model.card === model.card) item.classList.add("selected");
    item.addEventListener("click", () => showModel(model).catch((err) => say(err.message || String(err), true)));
    list.append(item);
  }
  if (!models.length) list.append(el("li", { class: "muted" }, "none yet"));
}

function clearModel() {
  state.model = null;
  $("model-view").hidden = true;
  $("card-hint").hidden = false;
  $("predict-form").hidden = true;
  $("predict-fill-form").hidden = true;
  $("predict-hint").hidden = false;
  $("predict-result").textContent = "";
  $("train-result").textContent = "";
}

async function showModel(model) {
  state.model = model;
  for (const li of $("models").children) li.classList.toggle("selected", li.dataset.card === model.card);
  $("card-hint").hidden = true;
  $("model-view").hidden = false;
  $("model-title").textContent = `${shortName(model.estimator)} v${model.version}, predicts ${model.target} (${model.task})`;
  $("model-card-cid").textContent = model.card;
  $("model-snapshot").textContent = model.snapshot;
  $("model-metrics").textContent = metricsText(model.metrics);
  $("provenance").tBodies[0].replaceChildren();
  $("provenance-result").textContent = "";
  $("reproduce-result").textContent = "";
  $("predict-result").textContent = "";
  const card = await api("GET", `/api/v0/models/${enc(model.card)}/card`);
  if (state.model !== model) return;
  $("card-view").textContent = card.markdown;
  $("verify-subject").value = model.card;  // the anchor panel can anchor the card itself
  buildPredictForm(card.card.features);
  await fillFromFirstRecord(model);
  await checkProvenance();
}

async function checkProvenance() {
  const model = state.model;
  const result = $("provenance-result");
  result.textContent = "checking model → card → snapshot → records → anchor…";
  result.className = "";
  const report = await api("POST", `/api/v0/models/${enc(model.card)}/verify`);
  if (state.model !== model) return;
  const body = $("provenance").tBodies[0];
  body.replaceChildren();
  for (const check of report.checks) {
    body.append(el(
      "tr",
      { class: check.status, dataset: { check: check.name } },
      el("td", { class: "mono" }, check.name),
      el("td", { class: "status" }, check.status),
      el("td", { class: "detail" }, check.detail),
    ));
  }
  const passed = report.checks.filter((c) => c.status === "pass").length;
  result.textContent = report.ok
    ? `provenance verified: ${passed} of ${report.checks.length} checks pass`
    : `NOT verified: ${report.failed || "a link could not be checked"}`;
  result.className = report.ok ? "ok" : "error";
}

function buildPredictForm(features) {
  const fields = $("predict-fields");
  fields.replaceChildren();
  for (const feature of features.columns) {
    let input;
    if (feature.categories || feature.type === "bool") {
      const choices = feature.type === "bool" ? ["true", "false"] : feature.categories;
      input = el("select", {}, el("option", { value: "" }, "(missing)"));
      for (const choice of choices) input.append(el("option", { value: choice }, choice));
    } else if (feature.type === "int" || feature.type === "float") {
      input = el("input", { type: "number", step: feature.type === "int" ? "1" : "any" });
    } else {
      input = el("input", { placeholder: feature.type === "timestamp" ? "2024-01-31T12:00:00Z" : "" });
    }
    input.dataset.column = feature.name;
    input.dataset.type = feature.type;
    fields.append(el("label", {}, feature.name, input));
  }
  $("predict-hint").hidden = true;
  $("predict-form").hidden = false;
  $("predict-fill-form").hidden = false;
}

function readPredictRow() {
  const row = {};
  for (const input of $("predict-fields").querySelectorAll("[data-column]")) {
    const text = input.value.trim();
    if (text === "") continue;  // missing: the model reads it as such
    const type = input.dataset.type;
    if (type === "int" || type === "float") row[input.dataset.column] = Number(text);
    else if (type === "bool") row[input.dataset.column] = text === "true";
    else row[input.dataset.column] = text;
  }
  return row;
}

async function fillFromRecord(address, key) {
  const item = await api("GET", `${dbPath(address)}/get?key=${enc(key)}`);
  for (const input of $("predict-fields").querySelectorAll("[data-column]")) {
    const value = item.value[input.dataset.column];
    input.value = value === null || value === undefined ? "" : String(value);
  }
  $("predict-record").value = key;
}

async function fillFromFirstRecord(model) {
  const page = await api("GET", `${dbPath(model.dataset)}/entries?limit=1`);
  if (page.items.length && state.model === model) await fillFromRecord(model.dataset, page.items[0].key);
}

function showPrediction(out) {
  const box = $("predict-result");
  box.replaceChildren();
  const plain = (value) => (typeof value === "string" ? value : show(value));
  box.append(el("span", { class: "label" }, `${state.model.target}: `), el("strong", { id: "predicted" }, plain(out.values[0])));
  if (out.classes && out.probabilities) {
    const odds = out.classes.map((c, i) => `${plain(c)} ${out.probabilities[0][i].toFixed(3)}`).join(" · ");
    box.append(el("span", { class: "muted" }, `  (${odds})`));
  }
}

function wireModels() {
  $("train-target").addEventListener("change", fillEstimators);

  onSubmit("train-form", async () => {
    if (!state.selected || state.selected.type !== "dataset") throw new Error("choose a dataset");
    if (!state.schema) throw new Error("the dataset has no schema yet: upload a CSV first");
    const body = {
      db: state.selected.address,
      target: $("train-target").value,
      estimator: $("train-estimator").value,
      seed: Number($("train-seed").value || "0"),
      anchor: $("train-anchor").checked,
    };
    if ($("train-params").value.trim()) body.params = parseJSON($("train-params").value, "the parameters");
    const button = $("train-button");
    const result = $("train-result");
    const started = Date.now();
    const label = `training ${body.estimator} on ${state.selected.name}`;
    result.className = "";
    result.textContent = `${label}…`;
    const timer = setInterval(() => { result.textContent = `${label}… ${Math.round((Date.now() - started) / 1000)}s`; }, 1000);
    button.disabled = true;
    let model;
    try {
      model = await api("POST", "/api/v0/models", body);
    } catch (err) {
      result.textContent = "";
      throw err;
    } finally {
      clearInterval(timer);
      button.disabled = false;
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    result.textContent = `trained ${shortName(model.estimator)} v${model.version} in ${seconds}s: ${metricsText(model.metrics)}`;
    say(`trained ${model.card.slice(0, 16)}…`);
    await listModels();
    await showModel(model);
  });

  onSubmit("provenance-form", async () => {
    if (!state.model) throw new Error("choose a model");
    await checkProvenance();
  });

  $("reproduce-button").addEventListener("click", async () => {
    const model = state.model;
    const box = $("reproduce-result");
    try {
      box.className = "";
      box.textContent = "retraining from the card…";
      const result = await api("POST", `/api/v0/models/${enc(model.card)}/reproduce`);
      box.textContent = `${result.ok ? "reproduced" : "NOT reproduced"}: ${result.status}. ${result.details.join("; ")}`;
      box.className = result.ok ? "ok" : "error";
    } catch (err) {
      box.textContent = "";
      say(err.message || String(err), true);
    }
  });

  onSubmit("predict-fill-form", async () => {
    if (!state.model) throw new Error("choose a model");
    await fillFromRecord(state.model.dataset, $("predict-record").value.trim());
  });

  onSubmit("predict-form", async () => {
    if (!state.model) throw new Error("choose a model");
    const body = { rows: [readPredictRow()], proba: $("predict-proba").checked };
    const out = await api("POST", `/api/v0/models/${enc(state.model.card)}/predict`, body);
    showPrediction(out);
  });
}

// -- forms ----------------------------------------------------------------------------------------

function onSubmit(id, handler) {
  $(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await handler(event);
    } catch (err) {
      say(err.message || String(err), true);
    }
  });
}

function parseJSON(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} must be JSON (quote text: "hello")`);
  }
}

function wire() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    connect($("token").value.trim());
  });

  onSubmit("create-form", async () => {
    const body = { name: $("create-name").value.trim(), type: $("create-type").value };
    if ($("create-access").value) body.access_controller = { type: $("create-access").value };
    const info = await api("POST", "/api/v0/db", body);
    $("create-name").value = "";
    await loadDatabases();
    await select(info.address);
    say(`created ${info.name}`);
  });

  onSubmit("write-form", async () => {
    const db = state.selected;
    const value = parseJSON($("write-value").value, "the value");
    const path = dbPath(db.address);
    const written = db.type === "events"
      ? await api("POST", `${path}/add`, { value })
      : await api("POST", `${path}/put`, db.type === "documents" ? { value } : { key: $("write-key").value, value });
    $("write-value").value = "";
    say(`written ${written.hash.slice(0, 16)}…`);
  });

  $("more").addEventListener("click", () => loadEntries().catch((err) => say(err.message, true)));

  // Panels for parts a node may lack; their controls stay disabled until /api/v0/node lists the feature.
  onSubmit("upload-form", async () => {
    const file = $("upload-file").files[0];
    if (!file || !state.selected || state.selected.type !== "dataset") throw new Error("choose a dataset and a CSV file");
    const bar = $("upload-progress");
    bar.hidden = false;
    bar.removeAttribute("value");
    const params = new URLSearchParams();
    if ($("upload-id").value) params.set("id_column", $("upload-id").value);
    if ($("upload-target").value) params.set("target", $("upload-target").value);
    try {
      const result = await api("POST", `${dbPath(state.selected.address)}/import?${params}`, file,
                               { headers: { "Content-Type": "text/csv" } });
      say(`imported ${result.rows} rows`);
      $("upload-result").textContent = `${result.rows} rows imported`;
    } finally {
      bar.hidden = true;
    }
    await reloadEntries();
    await loadDatasetModels();  // the import may have set the schema
  });

  onSubmit("snapshot-form", async () => {
    if (!state.selected || state.selected.type !== "dataset") throw new Error("choose a dataset");
    const snap = await api("POST", `${dbPath(state.selected.address)}/snapshot`);
    $("snapshot-result").textContent = `${snap.cid} (${snap.records} records)`;
    $("verify-subject").value = snap.cid;
  });

  onSubmit("verify-form", async () => {
    const result = await api("POST", "/api/v0/verify", { subject: $("verify-subject").value.trim() });
    $("verify-result").textContent = result.ok ? `verified: ${result.description}` : `NOT verified: ${result.failed}`;
    $("verify-result").className = result.ok ? "" : "error";
    $("anchor-backend").textContent = result.backend || "";
  });

  $("anchor-button").addEventListener("click", async () => {
    try {
      const info = await api("POST", "/api/v0/anchors", { cid: $("verify-subject").value.trim(), wait: true });
      $("verify-result").textContent = info.status === "anchored"
        ? `anchored: receipt ${info.receipt}` : `${info.status}: ${info.reason || ""}`;
      $("verify-result").className = info.status === "failed" ? "error" : "";
      $("anchor-backend").textContent = info.backend || "";
    } catch (err) {
      say(err.message || String(err), true);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wire();
  wireModels();
  applyFeatures({});
  const token = takeTokenFromFragment();
  if (token) connect(token);
});
