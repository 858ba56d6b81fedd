// Painting what the server computed: the boundary (class and confidence per grid cell) or the
// regression curve, the points, the loss curves, the legend and the neurons' small maps.
// No network math here: values arrive computed; this file maps them to colours and pixels.

export const CLASS_COLORS = ["#f28e2b", "#1f77b4", "#2ca02c", "#9467bd", "#d62728"];
const NEG = [242, 142, 43];   // orange: negative values (as TensorFlow Playground)
const POS = [31, 119, 180];   // blue: positive values

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function bytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// a value in [-1, 1] as a colour: orange below 0, white at 0, blue above
export function diverging(v) {
  const c = v < 0 ? NEG : POS;
  const a = Math.min(1, Math.abs(v));
  return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
}

function setup(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  return ctx;
}

const scratch = document.createElement("canvas");

function paintGrid(ctx, n, pixel, w, h) {
  scratch.width = n;
  scratch.height = n;
  const sctx = scratch.getContext("2d");
  const img = sctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const [r, g, b] = pixel(i);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  sctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(scratch, 0, 0, w, h);
}

function drawPoints(ctx, layout, toPx) {
  const pts = [[layout.train, false], [layout.test, true]];
  for (const [set, isTest] of pts) {
    set.x.forEach((p, i) => {
      const [px, py] = toPx(p, set.y[i]);
      ctx.beginPath();
      ctx.arc(px, py, isTest ? 3.6 : 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = layout.task === "regression" ? (isTest ? "#ffffff" : "#333333") : CLASS_COLORS[set.y[i] % 5];
      ctx.fill();
      ctx.lineWidth = isTest ? 1.6 : 0.8;
      ctx.strokeStyle = isTest ? "#000000" : "#ffffff";
      ctx.stroke();
    });
  }
}

export function drawBoundary(canvas, layout, frame) {
  if (!layout) return;
  const ctx = setup(canvas);
  const W = canvas.width, H = canvas.height;
  const [x0, x1, y0, y1] = layout.extent;
  if (layout.dims === 2) {
    const cls = bytes(frame.boundary.cls), conf = bytes(frame.boundary.conf);
    const colors = CLASS_COLORS.map(rgb);
    paintGrid(ctx, layout.grid, (i) => {
      const c = colors[cls[i] % 5], a = 0.12 + 0.6 * (conf[i] / 255);
      return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
    }, W, H);
    const toPx = (p) => [((p[0] - x0) / (x1 - x0)) * W, ((y1 - p[1]) / (y1 - y0)) * H];
    drawPoints(ctx, layout, toPx);
  } else {
    ctx.fillStyle = "#fbfbfb";
    ctx.fillRect(0, 0, W, H);
    const toPx = (p, y) => [((p[0] - x0) / (x1 - x0)) * W, ((y1 - y) / (y1 - y0)) * H];
    ctx.strokeStyle = "#dddddd";
    ctx.beginPath();
    const [, zy] = toPx([0], 0);
    ctx.moveTo(0, zy); ctx.lineTo(W, zy); ctx.stroke();
    drawPoints(ctx, layout, toPx);
    const ys = frame.boundary.y, n = ys.length;
    ctx.strokeStyle = "#1f77b4";
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    ys.forEach((y, i) => {
      const px = (i / (n - 1)) * W, py = Math.max(-H, Math.min(2 * H, ((y1 - y) / (y1 - y0)) * H));
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  }
  ctx.fillStyle = "rgba(0,0,0,0.55)";
  ctx.font = "11px sans-serif";
  ctx.fillText(`x1 from ${x0.toFixed(2)} to ${x1.toFixed(2)}`, 6, H - 6);
  ctx.save();
  ctx.translate(12, H - 22);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(layout.dims === 2 ? `x2 from ${y0.toFixed(2)} to ${y1.toFixed(2)}` : `y from ${y0.toFixed(2)} to ${y1.toFixed(2)}`, 0, 0);
  ctx.restore();
}

export function drawCurves(canvas, curves) {
  const ctx = setup(canvas);
  const W = canvas.width, H = canvas.height, pad = { l: 44, r: 8, t: 8, b: 18 };
  const vals = [...curves.train, ...curves.test].filter((v) => v !== null && Number.isFinite(v));
  const ep = curves.epoch;
  ctx.font = "11px sans-serif";
  ctx.fillStyle = "#666";
  if (!vals.length || !ep.length) return;
  const ymax = Math.max(...vals) * 1.05 || 1, xmax = Math.max(ep[ep.length - 1], 1);
  const X = (e) => pad.l + (e / xmax) * (W - pad.l - pad.r), Y = (v) => pad.t + (1 - v / ymax) * (H - pad.t - pad.b);
  ctx.strokeStyle = "#ccc";
  ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(pad.l, pad.t); ctx.lineTo(pad.l, H - pad.b); ctx.lineTo(W - pad.r, H - pad.b); ctx.stroke();
  ctx.fillText(ymax.toPrecision(3), 2, pad.t + 8);
  ctx.fillText("0", pad.l - 12, H - pad.b);
  ctx.fillText(`epoch ${ep[ep.length - 1]}`, W - pad.r - 70, H - 4);
  for (const [key, color, label, lx] of [["train", "#333333", "training", pad.l + 8], ["test", "#f28e2b", "test", pad.l + 78]]) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.8;
    ctx.beginPath();
    let started = false;
    curves[key].forEach((v, i) => {
      if (v === null) { started = false; return; }
      if (!started) { ctx.moveTo(X(ep[i]), Y(v)); started = true; } else ctx.lineTo(X(ep[i]), Y(v));
    });
    ctx.stroke();
    ctx.fillStyle = color;
    ctx.fillRect(lx, H - 12, 14, 3);
    ctx.fillText(label, lx + 18, H - 8);
  }
}

export function drawLegend(el, layout) {
  // built node by node: the page's Content-Security-Policy refuses style attributes in markup
  el.replaceChildren();
  const item = (cls, color, text) => {
    const span = document.createElement("span");
    const mark = document.createElement("i");
    mark.className = cls;
    if (color) mark.style.background = color;
    span.append(mark, text);
    el.appendChild(span);
  };
  if (layout.task === "regression") {
    item("dot", "#333333", "training point");
    item("dot test", null, "test point");
    item("bar", null, "the network's curve");
    return;
  }
  for (let c = 0; c < layout.classes; c++) item("dot", CLASS_COLORS[c], `class ${c}`);
  item("dot test", null, "test points have a dark ring");
}

// one neuron's map: a square of activations (2-D data) or a curve (1-D), from [scale, base64]
export function drawNeuron(canvas, entry, dims) {
  const ctx = setup(canvas);
  const W = canvas.width, H = canvas.height;
  const values = bytes(entry[1]);
  if (dims === 2) {
    const n = Math.round(Math.sqrt(values.length));
    paintGrid(ctx, n, (i) => diverging(values[i] / 127.5 - 1), W, H);
  } else {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = "#ddd";
    ctx.beginPath(); ctx.moveTo(0, H / 2); ctx.lineTo(W, H / 2); ctx.stroke();
    ctx.strokeStyle = "#1f77b4";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    values.forEach((v, i) => {
      const px = (i / (values.length - 1)) * W, py = H - (v / 255) * (H - 4) - 2;
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  }
}
