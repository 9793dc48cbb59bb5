// The detection page: the package's public API only (Session in a worker, imageToTensor,
// decodeDetections). Served by `sparsegate serve`, which also serves /models/ and /samples/.
import { Session, imageToTensor, decodeDetections } from "/web/src/index.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const sessions = {};

function session(name) {
  sessions[name] ??= Session.create(`/models/${name}.sgm`, { worker: true });
  return sessions[name];
}

function draw(img, found) {
  const canvas = $("overlay"), ctx = canvas.getContext("2d");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  ctx.lineWidth = Math.max(2, img.naturalWidth / 200);
  ctx.font = `${Math.max(12, img.naturalWidth / 40)}px system-ui`;
  ctx.strokeStyle = ctx.fillStyle = "#ff2d55";
  for (const d of found) {
    const [x1, y1, x2, y2] = d.box;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.fillText(`${d.label} ${d.score.toFixed(2)}`, x1, Math.max(12, y1 - 4));
    for (const [x, y] of d.keypoints ?? []) ctx.fillRect(x - 2, y - 2, 4, 4);
  }
}

async function detect() {
  const name = $("model").value, img = $("photo");
  const s = await session(name);
  const { feeds, transform } = await imageToTensor(img, s);
  const t0 = performance.now();
  const outputs = await s.run(feeds);
  const ms = performance.now() - t0;
  const found = decodeDetections(s, outputs, transform);
  draw(img, found);
  const st = s.stats();
  // textContent: labels come from the model's metadata and are never parsed as HTML
  $("status").textContent = `${name}: ${found.length} found in ${ms.toFixed(1)} ms ` +
    `(${(st.macsExecuted / 1e6).toFixed(1)} M MACs, backend ${s.backend}, in a worker)\n` +
    found.map((d) => `${d.score.toFixed(3)} ${d.label} [${d.box.map((v) => v.toFixed(1)).join(", ")}]`).join("\n");
  window.detections = { model: name, found, ms };
}

function show(src) {
  window.detections = null;
  $("photo").src = src;
}

$("photo").addEventListener("load", () => detect().catch((e) => {
  $("status").textContent = `error: ${e.message}`;
  window.detections = { error: e.message };
}));
$("model").value = params.get("model") || "blazeface";
$("sample").value = params.get("image") || "astronaut";
$("model").addEventListener("change", () => show($("photo").src));
$("sample").addEventListener("change", () => show(`/samples/${$("sample").value}.png`));
$("file").addEventListener("change", () => $("file").files[0] && show(URL.createObjectURL($("file").files[0])));
show(`/samples/${$("sample").value}.png`);
