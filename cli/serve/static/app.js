// nnfun serve: draw on the canvas, and the network's reading follows as you draw.
//
// The drawing is kept as a list of strokes (lists of points) so Undo can redraw it. While
// the picture changes, a PNG of the canvas (or the chosen file) is posted to /api/predict,
// at most one request at a time, after a short pause or every few hundred milliseconds.
"use strict";

const PEN_WIDTH = 0.065; // of the canvas side: MNIST pens are about a tenth of the digit's height
const PAUSE_MS = 120; // ask after this pause in the drawing...
const MAX_WAIT_MS = 350; // ...or at least this often while drawing goes on

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const digitEl = document.getElementById("digit");
const confidenceEl = document.getElementById("confidence");
const statusEl = document.getElementById("status");
const readingEl = document.querySelector(".reading");
const bars = buildBars(document.getElementById("bars"));

const state = {
  strokes: [], // each a list of [x, y] in canvas pixels
  drawing: null, // the stroke under the pointer, if any
  file: null, // a chosen or dropped file: {blob, bitmap}
  version: 0, // bumped by every change; answers for older versions are dropped
  timer: null,
  lastAsked: 0,
  busy: false,
};

function buildBars(list) {
  const rows = [];
  for (let d = 0; d < 10; d++) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    const track = document.createElement("span");
    const bar = document.createElement("span");
    const pct = document.createElement("span");
    label.textContent = String(d);
    track.className = "track";
    bar.className = "bar";
    pct.className = "pct";
    track.append(bar);
    li.append(label, track, pct);
    list.append(li);
    rows.push({ li, bar, pct });
  }
  return rows;
}

// --- drawing ---------------------------------------------------------------------------

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  if (state.file && state.file.bitmap) drawFitted(state.file.bitmap);
  for (const stroke of state.strokes) drawStroke(stroke);
  document.getElementById("undo").disabled = state.strokes.length === 0;
}

function drawFitted(bitmap) {
  const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
  const w = bitmap.width * scale;
  const h = bitmap.height * scale;
  ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
}

function drawStroke(points) {
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = PEN_WIDTH * pad.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const [x0, y0] = points[0];
  if (points.length === 1) {
    ctx.beginPath();
    ctx.arc(x0, y0, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  for (const [x, y] of points.slice(1)) ctx.lineTo(x, y);
  ctx.stroke();
}

function canvasPoint(event) {
  const box = pad.getBoundingClientRect();
  return [
    ((event.clientX - box.left) * pad.width) / box.width,
    ((event.clientY - box.top) * pad.height) / box.height,
  ];
}

pad.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  state.drawing = [canvasPoint(event)];
  state.strokes.push(state.drawing);
  redraw();
  changed();
});

pad.addEventListener("pointermove", (event) => {
  if (!state.drawing) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) state.drawing.push(canvasPoint(e));
  redraw();
  changed();
});

function endStroke() {
  state.drawing = null;
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function undo() {
  if (!state.strokes.length) return;
  state.strokes.pop();
  redraw();
  changed();
}

function clear() {
  state.strokes = [];
  state.file = null;
  redraw();
  changed();
}

document.getElementById("undo").addEventListener("click", undo);
document.getElementById("clear").addEventListener("click", clear);
document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement) return;
  if (event.key === "Escape" || event.key === "Delete") {
    clear();
  } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  }
});

// --- image files -------------------------------------------------------------------------

async function useFile(blob) {
  if (!blob) return;
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    bitmap = null; // a format the browser cannot show (PGM...): the server may still read it
  }
  state.strokes = [];
  state.file = { blob, bitmap };
  redraw();
  changed();
}

const fileInput = document.getElementById("file");
fileInput.addEventListener("change", () => {
  useFile(fileInput.files[0]);
  fileInput.value = "";
});

// A file dropped anywhere on the page is read (instead of the browser leaving the page for it).
const dropzone = document.getElementById("dropzone");
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropzone.classList.add("dragging");
});
document.addEventListener("dragleave", (event) => {
  if (!event.relatedTarget) dropzone.classList.remove("dragging");
});
document.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("dragging");
  useFile(event.dataTransfer.files[0]);
});

// --- asking the server -------------------------------------------------------------------

function isEmpty() {
  return state.strokes.length === 0 && !state.file;
}

function changed() {
  state.version += 1;
  clearTimeout(state.timer);
  if (isEmpty()) {
    showEmpty();
    return;
  }
  const due = Math.min(PAUSE_MS, Math.max(0, state.lastAsked + MAX_WAIT_MS - performance.now()));
  state.timer = setTimeout(ask, due);
  readingEl.setAttribute("aria-busy", "true"); // an answer is on its way
}

function pictureToSend() {
  if (state.file && state.strokes.length === 0) return state.file.blob;
  // toDataURL encodes at once; toBlob may wait for the browser to be idle (a second, headless).
  const base64 = pad.toDataURL("image/png").split(",")[1];
  return new Blob([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], { type: "image/png" });
}

async function ask() {
  if (state.busy) return; // the answer in flight will ask again when it lands
  state.busy = true;
  state.lastAsked = performance.now();
  const version = state.version;
  try {
    const body = pictureToSend();
    const type = body.type || "application/octet-stream";
    const response = await fetch("/api/predict", {
      method: "POST",
      headers: { "Content-Type": type },
      body,
    });
    const answer = await response.json();
    if (version !== state.version) return;
    if (response.ok) show(answer);
    else showError(pageMessage(response.status, answer.error));
  } catch (error) {
    if (version === state.version) showError(`cannot reach the server (${error.message})`);
  } finally {
    state.busy = false;
    if (version !== state.version && !isEmpty()) changed();
    else readingEl.setAttribute("aria-busy", "false");
  }
}

// --- showing the answer ------------------------------------------------------------------

function percent(p) {
  return `${(100 * p).toFixed(1)}%`;
}

function show(answer) {
  drawSeen(answer.pixels);
  if (answer.digit === null) {
    setReading("", "", "no digit found: draw a bigger or darker one");
    setBars(null, null);
    return;
  }
  const p = answer.probabilities[answer.digit];
  setReading(String(answer.digit), percent(p), `the network reads ${answer.digit} (${percent(p)})`);
  setBars(answer.probabilities, answer.digit);
}

function showEmpty() {
  readingEl.setAttribute("aria-busy", "false");
  setReading("", "", "draw a digit");
  setBars(null, null);
  drawSeen(null);
}

// The API's errors are written for any client (they name .npy and IDX files, which go to
// `nnfun predict`); on the page, a refused picture is a file the person chose or dropped.
function pageMessage(status, apiError) {
  if (status === 413) return "this picture is too large: the page sends at most 8 MB";
  if (status === 400 || status === 415 || status === 422) {
    return state.file
      ? "this file cannot be read as a picture: choose a PNG, JPEG, GIF, BMP or WebP image"
      : apiError || "the drawing could not be read: clear it and draw again";
  }
  return apiError || `the server answered ${status}`;
}

function showError(message) {
  setReading("", "", `error: ${message}`, true);
  setBars(null, null);
  drawSeen(null); // the last image seen belonged to another picture
}

function setReading(digit, confidence, status, isError = false) {
  digitEl.textContent = digit;
  confidenceEl.textContent = confidence;
  statusEl.textContent = status;
  statusEl.classList.toggle("error", isError);
}

function setBars(probabilities, best) {
  bars.forEach((row, d) => {
    const p = probabilities ? probabilities[d] : 0;
    row.bar.style.width = `${(100 * p).toFixed(1)}%`;
    row.pct.textContent = probabilities ? percent(p) : "";
    row.li.classList.toggle("best", d === best);
    row.li.setAttribute("aria-label", probabilities ? `${d}: ${percent(p)}` : `${d}`);
  });
}

function drawSeen(pixels) {
  const image = seen.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = pixels ? Math.round(255 * pixels[Math.floor(i / 28)][i % 28]) : 0;
    image.data.set([v, v, v, 255], 4 * i);
  }
  seen.putImageData(image, 0, 0);
}

// --- start -------------------------------------------------------------------------------

async function describeModel() {
  const el = document.getElementById("model");
  try {
    const info = await (await fetch("/api/model")).json();
    const accuracy =
      info.test_accuracy === null
        ? "test accuracy unknown"
        : `test accuracy ${(100 * info.test_accuracy).toFixed(2)}%`;
    const data = info.dataset ? ` on ${info.dataset}` : "";
    el.textContent = `${info.architecture} network${data}, ${accuracy} (${info.name})`;
  } catch {
    el.textContent = "the model description did not load";
  }
}

redraw();
showEmpty();
describeModel();
