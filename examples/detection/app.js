// The detection app: the npm package's public API only (Session in a worker, imageToTensor,
// decodeDetections). `sparsegate app` lays this folder out with the package in ./sparsegate/,
// the models in ./models/ and photos in ./samples/, for any static server.
import { Session, imageToTensor, decodeDetections } from "./sparsegate/index.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const LATENCY_WINDOW = 100; // frames in the p50/p90 read-out

const state = {
  config: null,
  sessions: new Map(), // "model|backend" -> Promise<Session>
  source: null, // an <img>, or the <video> while the webcam runs
  busy: false, // one run at a time: webcam frames that arrive meanwhile are dropped
  latencies: [],
  frameTimes: [],
  frames: 0,
  dropped: 0,
  stream: null,
};
window.app = { frames: 0, dropped: 0, fps: 0, last: null, error: null };

const THREADS = { auto: "auto", wasm: 1, "wasm-threads": navigator.hardwareConcurrency || 4 };

function session() {
  const key = `${$("model").value}|${$("backend").value}`;
  if (!state.sessions.has(key)) {
    for (const [k, s] of state.sessions) { // one model in memory at a time
      s.then((x) => x.release()).catch(() => {});
      state.sessions.delete(k);
    }
    const model = state.config.models.find((m) => m.id === $("model").value);
    state.sessions.set(key, Session.create(model.source ?? model.file,
      { worker: true, threads: THREADS[$("backend").value] }));
  }
  return state.sessions.get(key);
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function draw(source, found) {
  const canvas = $("canvas"), ctx = canvas.getContext("2d");
  const w = source.videoWidth || source.naturalWidth, h = source.videoHeight || source.naturalHeight;
  if (canvas.width !== w || canvas.height !== h) Object.assign(canvas, { width: w, height: h });
  ctx.drawImage(source, 0, 0, w, h);
  const unit = Math.max(w, h) / 100; // line width and text scale with the image
  ctx.lineWidth = Math.max(2, unit * 0.4);
  ctx.font = `600 ${Math.max(14, unit * 2.4)}px system-ui, sans-serif`;
  ctx.textBaseline = "bottom";
  for (const d of found) {
    const [x1, y1, x2, y2] = d.box;
    ctx.strokeStyle = "#ff2d55";
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const text = `${d.label} ${d.score.toFixed(2)}`; // canvas text: never parsed as HTML
    const pad = ctx.lineWidth, tw = ctx.measureText(text).width, th = Math.max(14, unit * 2.4) * 1.2;
    const ty = y1 > th ? y1 : y2 + th;
    ctx.fillStyle = "#ff2d55";
    ctx.fillRect(x1 - pad / 2, ty - th, tw + 2 * pad, th);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x1 + pad / 2, ty - pad / 2);
    ctx.fillStyle = "#35f";
    for (const [x, y] of d.keypoints ?? []) ctx.fillRect(x - unit * 0.5, y - unit * 0.5, unit, unit);
  }
}

function readout(s, ms) {
  const now = performance.now();
  state.latencies = [...state.latencies, ms].slice(-LATENCY_WINDOW);
  state.frameTimes = [...state.frameTimes, now].filter((t) => now - t < 1000);
  const st = s.stats(), info = s.backendInfo;
  const fps = state.stream ? state.frameTimes.length : 0;
  $("readout").textContent =
    `backend ${s.backend}, ${info.threads} thread${info.threads === 1 ? "" : "s"}, in a worker` +
    `${info.reason ? ` (${info.reason})` : ""}\n` +
    `latency ${ms.toFixed(1)} ms; p50 ${percentile(state.latencies, 0.5).toFixed(1)} ms, ` +
    `p90 ${percentile(state.latencies, 0.9).toFixed(1)} ms over the last ${state.latencies.length} runs\n` +
    (state.stream ? `${fps} frames per second, ${state.dropped} frames dropped while busy\n` : "") +
    `MACs executed ${(st.macsExecuted / 1e6).toFixed(1)} M of ${(st.macsDense / 1e6).toFixed(1)} M dense ` +
    `(${(100 * st.macsExecuted / st.macsDense).toFixed(1)}%)`;
  return { fps, macsExecuted: st.macsExecuted, macsDense: st.macsDense, backend: s.backend, threads: info.threads };
}

async function detect(source) {
  const s = await session();
  const { feeds, transform } = await imageToTensor(source, s);
  const t0 = performance.now();
  const outputs = await s.run(feeds);
  const ms = performance.now() - t0;
  const found = decodeDetections(s, outputs, transform, { scoreThreshold: Number($("threshold").value) });
  draw(source, found);
  const shown = readout(s, ms);
  $("found").textContent = found.map((d) =>
    `${d.score.toFixed(3)} ${d.label} [${d.box.map((v) => v.toFixed(1)).join(", ")}]`).join("\n") || "nothing found";
  state.frames++;
  Object.assign(window.app, { frames: state.frames, dropped: state.dropped, fps: shown.fps, error: null,
    last: { model: $("model").value, found, ms, ...shown } });
}

function fail(e) {
  if (e?.code === "released") return; // a run on the model just switched away from
  $("readout").textContent = `error: ${e.message}`;
  window.app.error = e.message;
}

/** Runs on the current source unless a run is in flight (then the frame is dropped). */
function tick() {
  if (state.busy) {
    state.dropped++;
    return;
  }
  state.busy = true;
  detect(state.source).catch(fail).finally(() => { state.busy = false; });
}

function showImage(src) {
  stopWebcam();
  const img = new Image();
  img.onload = () => { state.source = img; tick(); };
  img.onerror = () => fail(new Error(`cannot decode the image ${src}`));
  img.src = src;
}

async function startWebcam() {
  const video = $("video");
  state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  video.srcObject = state.stream;
  await video.play();
  state.source = video;
  $("webcam").textContent = "Stop webcam";
  const frame = () => {
    if (!state.stream) return;
    tick();
    video.requestVideoFrameCallback(frame);
  };
  video.requestVideoFrameCallback(frame);
}

function stopWebcam() {
  if (!state.stream) return;
  for (const t of state.stream.getTracks()) t.stop();
  state.stream = null;
  $("video").srcObject = null;
  $("webcam").textContent = "Start webcam";
}

async function modelChanged() {
  const model = state.config.models.find((m) => m.id === $("model").value);
  $("about").textContent = model.about; // metadata strings as text, never as HTML
  const s = await session();
  const threshold = Number(s.metadata.postprocess?.score_threshold ?? 0.5); // the model's own default
  $("threshold").value = threshold;
  $("threshold-value").textContent = threshold.toFixed(2);
  const gated = Boolean(s.metadata.gating);
  $("gate-control").hidden = !gated;
  if (gated) s.setGate(Number($("gate").value));
  if (state.source) tick();
}

async function main() {
  state.config = await (await fetch("app.json")).json();
  for (const m of state.config.models) $("model").add(new Option(m.label, m.id));
  for (const name of state.config.samples) $("sample").add(new Option(name, name));
  $("model").value = params.get("model") ?? state.config.models[0].id;
  $("backend").value = params.get("backend") ?? "auto";
  $("sample").value = params.get("image") ?? state.config.samples[0];

  $("model").addEventListener("change", () => modelChanged().catch(fail));
  $("own-model").addEventListener("change", () => {
    // any .sgm detector whose metadata carries its preprocess and postprocess settings
    const file = $("own-model").files[0];
    if (!file) return;
    const id = `own:${file.name}`;
    state.config.models = state.config.models.filter((m) => m.id !== id);
    state.config.models.push({ id, source: file, label: `your model: ${file.name}`,
      about: `${file.name}, from your disk: preprocessing and decoding follow its metadata.` });
    if (![...$("model").options].some((o) => o.value === id)) $("model").add(new Option(`your model: ${file.name}`, id));
    $("model").value = id;
    modelChanged().catch(fail);
  });
  $("backend").addEventListener("change", () => modelChanged().catch(fail));
  $("sample").addEventListener("change", () => showImage(`samples/${$("sample").value}.png`));
  $("file").addEventListener("change", () => $("file").files[0] && showImage(URL.createObjectURL($("file").files[0])));
  $("webcam").addEventListener("click", () => (state.stream ? stopWebcam() : startWebcam().catch(fail)));
  $("threshold").addEventListener("input", () => {
    $("threshold-value").textContent = Number($("threshold").value).toFixed(2);
    if (!state.stream && state.source) tick();
  });
  $("gate").addEventListener("input", async () => {
    $("gate-value").textContent = Number($("gate").value).toFixed(2);
    (await session()).setGate(Number($("gate").value));
    if (!state.stream && state.source) tick();
  });
  const view = $("view");
  view.addEventListener("dragover", (e) => { e.preventDefault(); view.classList.add("dragging"); });
  view.addEventListener("dragleave", () => view.classList.remove("dragging"));
  view.addEventListener("drop", (e) => {
    e.preventDefault();
    view.classList.remove("dragging");
    const file = [...e.dataTransfer.files].find((f) => f.type.startsWith("image/"));
    if (file) showImage(URL.createObjectURL(file));
  });

  await modelChanged();
  if (params.get("webcam") === "1") await startWebcam();
  else showImage(`samples/${$("sample").value}.png`);
}

main().catch(fail);
