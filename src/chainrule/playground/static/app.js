// The playground page: settings in the URL hash, one WebSocket to the server, and the controls.
// Every number drawn here comes from the server (chainrule's engine); this file only sends what the
// learner changes and hands what comes back to draw.js and network.js.
import { drawBoundary, drawCurves, drawLegend } from "./draw.js";
import { NetworkView, renderChain } from "./network.js";

const $ = (sel) => document.querySelector(sel);
const state = {
  defaults: null, settings: {}, layout: null, frame: null, socket: null, playing: false,
  maxUpload: 1e6, uploadName: null, selected: null, pending: null,
};
const net = new NetworkView($("#network"), (sel) => requestChain(sel));

// ---- the URL hash: every setting, so a link restores the page ---------------------------------------
function readHash() {
  const out = {};
  for (const part of location.hash.replace(/^#/, "").split("&")) {
    if (!part) continue;
    const i = part.indexOf("=");
    const k = decodeURIComponent(i < 0 ? part : part.slice(0, i));
    out[k] = i < 0 ? "" : decodeURIComponent(part.slice(i + 1));
  }
  return out;
}

function writeHash() {
  const parts = Object.entries(state.settings).map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ",")}`);
  history.replaceState(null, "", "#" + parts.join("&"));
}

// ---- messages -----------------------------------------------------------------------------------------
function showMessage(text, kind = "error") {
  const m = $("#message");
  m.textContent = text;
  m.className = kind;
  m.hidden = !text;
}

function markInvalid(key) {
  document.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
  if (!key) return;
  const el = key === "features" ? $("#features") : document.querySelector(`[data-key="${key}"]`);
  if (el) el.classList.add("invalid");
}

function send(msg) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(msg));
}

// ---- controls <-> settings ------------------------------------------------------------------------------
function toControls() {
  const s = state.settings;
  document.querySelectorAll("[data-key]").forEach((el) => {
    const v = s[el.dataset.key];
    if (v === undefined) return;
    if (el.type === "checkbox") el.checked = v === "1";
    else el.value = v;
  });
  document.querySelectorAll("output[data-for]").forEach((o) => { o.value = s[o.dataset.for]; });
  const feats = (s.features || "").split(",").filter(Boolean);
  document.querySelectorAll("#features input").forEach((cb) => { cb.checked = feats.includes(cb.value); });
  const oneD = s.dataset === "curve" || (s.dataset === "upload" && state.uploadDims === 1);
  document.querySelectorAll("#features input").forEach((cb) => {
    cb.disabled = oneD && !["x1", "x1sq", "sin1"].includes(cb.value);
  });
  $('[data-key="classes"]').disabled = s.dataset === "xor" || oneD || s.dataset === "upload";
  $('[data-key="noise"]').disabled = s.dataset === "upload";
  $('[data-key="points"]').disabled = s.dataset === "upload";
  $('[data-key="momentum"]').disabled = s.optimizer !== "sgd";
  $('[data-key="nesterov"]').disabled = s.optimizer !== "sgd" || Number(s.momentum) === 0;
  buildLayerControls();
}

function buildLayerControls() {
  const s = state.settings;
  const widths = (s.hidden || "").split(",").filter(Boolean);
  let acts = (s.activation || "relu").split(",");
  if (acts.length !== widths.length) acts = widths.map(() => acts[0]);
  $("#layer-count").value = widths.length;
  const box = $("#layer-controls");
  box.replaceChildren();
  widths.forEach((w, i) => {
    const div = document.createElement("div");
    div.className = "layer";
    div.innerHTML = `<span>layer ${i + 1}</span>
      <input type="number" min="1" max="32" value="${Number(w)}" title="units">
      <select title="activation">${["relu", "tanh", "sigmoid", "linear"].map(
        (a) => `<option value="${a}" ${a === acts[i] ? "selected" : ""}>${a}</option>`).join("")}</select>`;
    div.querySelector("input").addEventListener("change", (e) => {
      widths[i] = String(Math.max(1, Math.min(32, Math.round(Number(e.target.value) || 1))));
      setSetting({ hidden: widths.join(",") });
    });
    div.querySelector("select").addEventListener("change", (e) => {
      acts[i] = e.target.value;
      setSetting({ activation: acts.join(",") });
    });
    box.appendChild(div);
  });
}

function changeLayers(delta) {
  const s = state.settings;
  const widths = (s.hidden || "").split(",").filter(Boolean);
  let acts = (s.activation || "relu").split(",");
  if (acts.length !== widths.length) acts = widths.map(() => acts[0]);
  if (delta > 0 && widths.length < 6) { widths.push(widths.length ? widths[widths.length - 1] : "4"); acts.push(acts[acts.length - 1] || "relu"); }
  if (delta < 0 && widths.length > 0) { widths.pop(); acts.pop(); }
  setSetting({ hidden: widths.join(","), activation: (acts.length ? acts : ["relu"]).join(",") });
}

// Convenience only (the server checks every combination): keep the controls consistent when the data
// set changes, as a learner would expect.
function adapt(changed) {
  const s = state.settings;
  const oneD = s.dataset === "curve" || (s.dataset === "upload" && state.uploadDims === 1);
  if ("dataset" in changed) {
    if (s.dataset === "xor") s.classes = "2";
    if (oneD) {
      if (!["l1", "l2"].includes(s.loss)) s.loss = "l2";
      const f = (s.features || "").split(",").filter((x) => ["x1", "x1sq", "sin1"].includes(x));
      s.features = (f.length ? f : ["x1"]).join(",");
    } else {
      const f = (s.features || "").split(",").filter(Boolean);
      if (!f.some((x) => x !== "x1")) s.features = "x1,x2";
    }
    if (s.dataset === "upload" && state.uploadClasses) s.classes = String(Math.max(2, state.uploadClasses));
  }
  if ("optimizer" in changed && s.optimizer !== "sgd") s.nesterov = "0";
  if ("momentum" in changed && Number(s.momentum) === 0) s.nesterov = "0";
}

function setSetting(changed, { resend = true } = {}) {
  Object.assign(state.settings, changed);
  adapt(changed);
  writeHash();
  toControls();
  if (resend) sendSettings();
}

let settingsTimer = null;
function sendSettings() {
  clearTimeout(settingsTimer);
  settingsTimer = setTimeout(() => {
    const s = { ...state.settings };
    delete s.play;
    send({ type: "settings", settings: s });
  }, 60);
}

function setPlaying(on) {
  state.playing = on;
  $("#play").innerHTML = on ? "&#x25A0; pause" : "&#x25B6; play";
  state.settings.play = on ? "1" : "0";
  writeHash();
}

// ---- what comes back --------------------------------------------------------------------------------
function onLayout(msg) {
  state.layout = msg;
  state.selected = null;
  net.build(msg);
  drawLegend($("#legend"), msg);
  const kind = msg.task === "regression" ? "regression curve" : `${msg.classes} classes`;
  $("#output-summary").textContent = `${kind}; ${msg.train.x.length} training, ${msg.test.x.length} test points`;
  $("#network-summary").textContent = `${msg.inputs.length} inputs → ${msg.hidden.join(" → ") || "(linear)"}${msg.hidden.length ? " → " : " → "}${msg.outputs} output${msg.outputs > 1 ? "s" : ""}`;
  $("#chain").innerHTML = '<p class="hint">Click a weight or a neuron in the network to see backpropagation\'s numbers for it.</p>';
}

// a loss the server could not send as a number (it overflowed) shows as "overflow"
const fmt = (v, d = 4) => (v === null ? "overflow" : v === undefined ? "–" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(d));

function onFrame(msg) {
  state.frame = msg;
  $("#epoch").value = String(msg.epoch);
  $("#train-loss").value = fmt(msg.train_loss);
  $("#test-loss").value = fmt(msg.test_loss);
  $("#test-acc").value = msg.test_acc === undefined ? "–" : `${(100 * msg.test_acc).toFixed(1)} %`;
  $("#test-acc").parentElement.hidden = msg.test_acc === undefined;
  requestAnimationFrame(() => {
    const canvas = $("#boundary");
    drawBoundary(canvas, state.layout, msg);
    canvas.dataset.frames = String(Number(canvas.dataset.frames || 0) + 1);
    drawCurves($("#curves"), msg.curves);
    net.update(msg);
    send({ type: "ack" });
  });
  if (state.selected && !state.playing) requestChain(state.selected);
}

function requestChain(sel) {
  state.selected = sel;
  net.select(sel);
  send({ type: "chain", layer: sel.layer, out: sel.out, in: sel.in });
}

function onMessage(ev) {
  if (typeof ev.data !== "string") { saveModel(ev.data); return; }
  const msg = JSON.parse(ev.data);
  switch (msg.type) {
    case "hello":
      state.defaults = msg.defaults;
      state.maxUpload = msg.max_upload;
      start();
      break;
    case "layout":
      showMessage("");
      markInvalid(null);
      onLayout(msg);
      break;
    case "frame": onFrame(msg); break;
    case "chain": renderChain($("#chain"), msg, state.layout); break;
    case "diverged": setPlaying(false); showMessage(msg.message, "warn"); break;
    case "uploaded":
      state.uploadDims = msg.dims;
      state.uploadClasses = msg.classes;
      $('[data-key="dataset"] option[value="upload"]').disabled = false;
      showMessage(`${state.uploadName}: ${msg.rows} rows read`, "info");
      setSetting({ dataset: "upload" });
      break;
    case "error":
      showMessage(msg.message, "error");
      markInvalid(msg.key);
      if (msg.fatal) document.querySelectorAll("button, input, select").forEach((el) => { el.disabled = true; });
      break;
    default: break;
  }
}

function saveModel(blob) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "playground-model.safetensors";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function start() {
  const fromHash = readHash();
  state.settings = { ...state.defaults };
  for (const [k, v] of Object.entries(fromHash)) state.settings[k] = v;
  writeHash();
  toControls();
  const s = { ...state.settings };
  delete s.play;
  send({ type: "settings", settings: s });
  if (fromHash.play === "1") { setPlaying(true); send({ type: "play" }); } else setPlaying(false);
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.binaryType = "blob";
  ws.onmessage = onMessage;
  ws.onclose = (ev) => {
    setPlaying(false);
    if (ev.code !== 1013) showMessage("The connection to the playground server was closed; start `chainrule playground` again and reload.");
  };
  state.socket = ws;
}

// ---- wiring -------------------------------------------------------------------------------------------
document.querySelectorAll("[data-key]").forEach((el) => {
  el.addEventListener(el.type === "range" ? "input" : "change", () => {
    const v = el.type === "checkbox" ? (el.checked ? "1" : "0") : el.value;
    setSetting({ [el.dataset.key]: v });
  });
});

$("#features").addEventListener("change", () => {
  const f = [...document.querySelectorAll("#features input:checked")].map((cb) => cb.value);
  setSetting({ features: f.join(",") });
});
$("#layer-add").addEventListener("click", () => changeLayers(1));
$("#layer-remove").addEventListener("click", () => changeLayers(-1));
$("#play").addEventListener("click", () => {
  if (state.playing) { setPlaying(false); send({ type: "pause" }); } else { setPlaying(true); showMessage(""); send({ type: "play" }); }
});
$("#step-batch").addEventListener("click", () => { setPlaying(false); send({ type: "step", what: "batch" }); });
$("#step-epoch").addEventListener("click", () => { setPlaying(false); send({ type: "step", what: "epoch" }); });
$("#reset").addEventListener("click", () => { setPlaying(false); showMessage(""); send({ type: "reset" }); });
$("#download-model").addEventListener("click", () => send({ type: "download" }));
$("#download-png").addEventListener("click", () => {
  const a = document.createElement("a");
  a.href = $("#boundary").toDataURL("image/png");
  a.download = "playground.png";
  a.click();
});
$("#upload").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  if (file.size > state.maxUpload) {
    showMessage(`${file.name} is ${file.size.toLocaleString()} bytes; the playground takes files of at most ${state.maxUpload.toLocaleString()} bytes`);
    return;
  }
  state.uploadName = file.name;
  send({ type: "upload", text: await file.text() });
  e.target.value = "";
});
window.addEventListener("hashchange", () => {
  const h = readHash();
  const changed = Object.entries(h).some(([k, v]) => state.settings[k] !== v);
  if (!changed) return;
  state.settings = { ...state.defaults, ...h };
  toControls();
  sendSettings();
  if (h.play === "1" && !state.playing) { setPlaying(true); send({ type: "play" }); }
});

connect();
