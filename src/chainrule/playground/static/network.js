// The network view (neurons as small maps, weights as lines drawn by sign and size; a click picks a
// weight or a neuron's bias) and the chain-rule panel that shows the server's numbers for it.
import { drawNeuron } from "./draw.js";

const SVG = "http://www.w3.org/2000/svg";

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

export class NetworkView {
  constructor(el, onPick) {
    this.el = el;
    this.onPick = onPick;
    this.segments = [];
    this.canvases = [];
    this.layout = null;
    el.addEventListener("click", (e) => this.click(e));
  }

  build(layout) {
    this.layout = layout;
    const cols = [layout.inputs.length, ...layout.hidden, layout.outputs];
    const W = this.el.clientWidth || 520, H = 400;
    const maxNodes = Math.max(...cols);
    const size = Math.max(9, Math.min(34, Math.floor((H - 8) / maxNodes) - 3));
    const left = 74, right = 16;
    const xs = cols.map((_, c) => left + (c * (W - left - right - size)) / Math.max(1, cols.length - 1));
    const ys = cols.map((n) => Array.from({ length: n }, (_, i) => H / 2 + (i - (n - 1) / 2) * (size + 3)));
    this.geometry = { cols, xs, ys, size, W, H };
    this.el.replaceChildren();
    this.el.style.height = `${H}px`;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    this.el.appendChild(svg);
    this.segments = [];
    for (let k = 0; k < cols.length - 1; k++) {
      for (let j = 0; j < cols[k + 1]; j++) {
        for (let i = 0; i < cols[k]; i++) {
          const line = document.createElementNS(SVG, "line");
          const seg = { layer: k, out: j, in: i, x1: xs[k] + size, y1: ys[k][i], x2: xs[k + 1], y2: ys[k + 1][j], el: line };
          line.setAttribute("x1", seg.x1); line.setAttribute("y1", seg.y1);
          line.setAttribute("x2", seg.x2); line.setAttribute("y2", seg.y2);
          svg.appendChild(line);
          this.segments.push(seg);
        }
      }
    }
    this.canvases = cols.map((n, c) => Array.from({ length: n }, (_, i) => {
      const cv = document.createElement("canvas");
      cv.width = size * 2; cv.height = size * 2;
      cv.className = "neuron";
      cv.style.left = `${xs[c]}px`; cv.style.top = `${ys[c][i] - size / 2}px`;
      cv.style.width = `${size}px`; cv.style.height = `${size}px`;
      cv.dataset.col = c; cv.dataset.idx = i;
      const what = c === 0 ? `input ${layout.inputs[i]}` : c === cols.length - 1 ? `output ${i}` : `layer ${c}, neuron ${i + 1} (${layout.activations[c - 1]})`;
      cv.title = c === 0 ? what : `${what}: click for its bias`;
      this.el.appendChild(cv);
      return cv;
    }));
    layout.inputs.forEach((name, i) => {
      const lab = document.createElement("span");
      lab.className = "input-label";
      lab.textContent = name;
      lab.style.top = `${ys[0][i] - 8}px`;
      lab.style.right = `${W - xs[0] + 4}px`;
      this.el.appendChild(lab);
    });
    if (this.selected) this.select(this.selected);
  }

  update(frame) {
    if (!this.layout) return;
    frame.weights.forEach((layer, k) => {
      let max = 1e-12;
      for (const row of layer.w) for (const v of row) max = Math.max(max, Math.abs(v));
      for (const seg of this.segments) {
        if (seg.layer !== k) continue;
        const v = layer.w[seg.out][seg.in], a = Math.abs(v) / max;
        const st = seg.el.style;
        st.stroke = v >= 0 ? "#1f77b4" : "#f28e2b";
        st.strokeWidth = (0.4 + 3.6 * a).toFixed(2);
        st.strokeOpacity = (0.2 + 0.8 * a).toFixed(2);
      }
    });
    frame.neurons.forEach((col, c) => col.forEach((entry, i) => {
      const cv = this.canvases[c] && this.canvases[c][i];
      if (cv) drawNeuron(cv, entry, this.layout.dims);
    }));
  }

  select(sel) {
    this.selected = sel;
    this.el.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
    if (sel.in === null) {
      const cv = this.canvases[sel.layer + 1] && this.canvases[sel.layer + 1][sel.out];
      if (cv) cv.classList.add("selected");
    } else {
      const seg = this.segments.find((s) => s.layer === sel.layer && s.out === sel.out && s.in === sel.in);
      if (seg) seg.el.classList.add("selected");
    }
  }

  click(e) {
    const t = e.target;
    if (t.classList && t.classList.contains("neuron")) {
      const c = Number(t.dataset.col);
      if (c > 0) this.onPick({ layer: c - 1, out: Number(t.dataset.idx), in: null });
      return;
    }
    const r = this.el.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    let best = null, bestD = 7;
    for (const s of this.segments) {
      const dx = s.x2 - s.x1, dy = s.y2 - s.y1;
      const t2 = Math.max(0, Math.min(1, ((px - s.x1) * dx + (py - s.y1) * dy) / (dx * dx + dy * dy)));
      const d = Math.hypot(px - (s.x1 + t2 * dx), py - (s.y1 + t2 * dy));
      if (d < bestD) { bestD = d; best = s; }
    }
    if (best) this.onPick({ layer: best.layer, out: best.out, in: best.in });
  }
}

const num = (v) => (v === null || v === undefined ? "" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-4 && v !== 0) ? v.toExponential(4) : v.toFixed(6));

const sig = (v) => (v === null || v === undefined ? "" : v === 0 ? "0" : v.toPrecision(10));

export function renderChain(el, m, layout) {
  const bias = m.in === null;
  const inputName = bias ? "" : m.layer === 0 ? layout.inputs[m.in] : `neuron ${m.in + 1} of layer ${m.layer}`;
  const target = m.layer === layout.hidden.length ? `output ${m.out}` : `neuron ${m.out + 1} of layer ${m.layer + 1}`;
  const what = bias ? `the bias b<sub>${m.out}</sub> of ${esc(target)}` : `the weight w<sub>${m.out},${m.in}</sub> from ${esc(inputName)} to ${esc(target)}`;
  const formula = bias
    ? "dL/db<sub>j</sub> = &sum;<sub>n</sub> dL/ds<sub>nj</sub> &middot; 1"
    : "dL/dw<sub>ji</sub> = &sum;<sub>n</sub> dL/ds<sub>nj</sub> &middot; ds<sub>nj</sub>/dw<sub>ji</sub> = &sum;<sub>n</sub> dL/ds<sub>nj</sub> &middot; h<sub>ni</sub>";
  const rows = m.rows.map((r) => `<tr><td>${r.n}</td><td>${bias ? "" : num(r.h)}</td><td>${num(r.s)}</td>` +
    `<td>${num(r.upstream)}</td><td>${num(r.local)}</td><td>${num(r.product)}</td></tr>`).join("");
  const more = m.batch_size > m.rows.length ? `<tr class="more"><td colspan="6">&hellip; ${m.batch_size - m.rows.length} more samples of this batch</td></tr>` : "";
  el.innerHTML = `
    <h3>The chain rule for ${what} <code>${esc(m.name)}</code> = ${num(m.value)}</h3>
    <p class="formula">${formula}, over the ${m.batch_size} samples of the batch the next step trains on
      (the mean's 1/N is inside dL/ds).</p>
    <table>
      <thead><tr><th>sample</th><th>forward h<sub>i</sub></th><th>forward s<sub>j</sub></th><th>upstream dL/ds<sub>j</sub></th>
        <th>local ds<sub>j</sub>/d${bias ? "b" : "w"}</th><th>product</th></tr></thead>
      <tbody>${rows}${more}</tbody>
    </table>
    <dl>
      <dt>sum over the batch</dt><dd>${sig(m.sum)}</dd>
      <dt>+ penalty d(&lambda;R)/d${bias ? "b" : "w"}</dt><dd>${sig(m.penalty)}</dd>
      <dt>= backpropagation</dt><dd class="strong">${sig(m.total)}</dd>
      <dt>the engine's <code>.grad</code></dt><dd>${sig(m.engine_grad)} ${m.engine_agrees ? "&#x2713; the same" : "&#x2717; differs"}</dd>
      <dt>numerical (central differences, float64)</dt><dd class="strong">${sig(m.numerical)}</dd>
      <dt>relative error</dt><dd>${m.relative_error.toExponential(1)}</dd>
    </dl>`;
}
