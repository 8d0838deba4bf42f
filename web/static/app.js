// The upload page: sign in, send a file or URL through a profile (/v1/preprocess), show the
// original with the part the result shows, the result (or the tensor mapped back to an
// image), the profile's reference and the geometry.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "imagescaler-token";
let originalUrl = null;
let resultUrl = null;
let profiles = {};

// An error replaces whatever was shown before: no earlier result stays under it.
function showError(message) {
  clearResults();
  $("error").textContent = message;
  $("error").hidden = false;
  $("status").textContent = "";
  $("error").focus();
}

function clearResults() {
  $("results").hidden = true;
  for (const id of ["original", "result"]) $(id).removeAttribute("src");
  $("download").removeAttribute("href");
  if (resultUrl) URL.revokeObjectURL(resultUrl);
  resultUrl = null;
}

function clearMessages(status) {
  $("error").hidden = true;
  $("error").textContent = "";
  $("status").textContent = status || "";
}

async function describeError(response, context) {
  let body = {};
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  const detail = body.detail ? ` (${body.detail})` : "";
  const wait = response.headers.get("Retry-After");
  switch (response.status) {
    case 401:
      return context === "signin"
        ? "Wrong user name or password."
        : "Your session has expired. Please sign in again.";
    case 403: return `That URL is not allowed${detail}.`;
    case 413: return `The file is too large${detail}.`;
    case 415: return `This file type is not supported${detail}.`;
    case 422: return body.error === "download_failed"
      ? `The image could not be downloaded${detail}.`
      : `The image could not be processed${detail}.`;
    case 429: return `Too many requests. Please wait ${wait || "a few"} seconds and try again.`;
    case 503: return `The service is unavailable right now. Please try again in ${wait || "a few"} seconds.`;
    case 504: return "The service took too long to answer. Please try again.";
    default: return `Something went wrong (HTTP ${response.status})${detail}.`;
  }
}

function signedIn(token, user) {
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token, user }));
  $("signin").hidden = true;
  $("work").hidden = false;
  $("who").textContent = `Signed in as ${user}.`;
  $("drop-zone").focus();
  loadProfiles(token);
}

async function loadProfiles(token) {
  try {
    const response = await fetch("/v1/profiles", { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) return;
    const listed = (await response.json()).profiles;
    profiles = Object.fromEntries(listed.map((p) => [p.name, p]));
    $("profile").replaceChildren(...listed.map((p) => {
      const option = document.createElement("option");
      option.value = p.name;
      option.textContent = `${p.name} (version ${p.version})`;
      return option;
    }));
    $("profile").value = "default";
    describeProfile();
  } catch (_) { /* the default profile stays */ }
}

function describeProfile() {
  const chosen = profiles[$("profile").value];
  $("profile-help").textContent = chosen ? chosen.description : "";
}

const isTensor = (name) => profiles[name] && profiles[name].spec.output.kind === "tensor";

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  $("work").hidden = true;
  $("results").hidden = true;
  $("signin").hidden = false;
  $("username").focus();
}

async function signIn(event) {
  event.preventDefault();
  clearMessages("Signing in…");
  const form = new URLSearchParams({ username: $("username").value, password: $("password").value });
  try {
    const response = await fetch("/v1/token", { method: "POST", body: form });
    if (!response.ok) return showError(await describeError(response, "signin"));
    const body = await response.json();
    clearMessages();
    $("password").value = "";
    signedIn(body.access_token, $("username").value);
  } catch (_) {
    showError("The service cannot be reached. Check your connection and try again.");
  }
}

function humanBytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} kB`;
}

function imageSize(url) {
  return new Promise((resolve) => {
    const probe = new Image();
    probe.onload = () => resolve([probe.naturalWidth, probe.naturalHeight]);
    probe.onerror = () => resolve(null);
    probe.src = url;
  });
}

async function scale(event) {
  event.preventDefault();
  const file = $("file").files[0];
  const url = $("url").value.trim();
  if (!file && !url) return showError("Choose an image file or enter an image URL first.");
  const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
  if (!saved) return signOut();
  const profile = $("profile").value || "default";
  clearMessages("Scaling…");
  $("scale-button").disabled = true;
  const started = performance.now();
  const headers = {
    Authorization: `Bearer ${saved.token}`,
    Accept: isTensor(profile) ? "application/json" : "*/*",
  };
  let body;
  if (file) {
    body = new FormData();
    body.append("file", file);
  } else {
    body = JSON.stringify({ url });
    headers["Content-Type"] = "application/json";
  }
  try {
    const response = await fetch(`/v1/preprocess?profile=${encodeURIComponent(profile)}`,
                                 { method: "POST", body, headers });
    if (!response.ok) {
      const message = await describeError(response, "scale");
      if (response.status === 401) signOut();
      return showError(message);
    }
    const result = isTensor(profile)
      ? { tensor: await response.json() }
      : { blob: await response.blob(),
          profile: response.headers.get("X-Imagescaler-Profile"),
          geometry: JSON.parse(response.headers.get("X-Imagescaler-Geometry") || "{}") };
    if (result.tensor) Object.assign(result, { profile: result.tensor.profile, geometry: result.tensor.geometry });
    const took = Math.round(performance.now() - started);
    await showResults(file, url, result, profiles[profile], took);
    clearMessages(`Done in ${took} ms.`);
  } catch (_) {
    showError("The service cannot be reached. Check your connection and try again.");
  } finally {
    $("scale-button").disabled = false;
  }
}

async function showResults(file, url, result, profile, took) {
  if (originalUrl && file) URL.revokeObjectURL(originalUrl);
  if (resultUrl) URL.revokeObjectURL(resultUrl);
  originalUrl = file ? URL.createObjectURL(file) : url;
  const size = await imageSize(originalUrl);
  const sizeText = size ? `${size[0]} × ${size[1]}` : "size unknown";
  $("original-info").textContent =
    `Original: ${sizeText}` + (file ? `, ${humanBytes(file.size)}` : "");
  $("original").src = originalUrl;
  drawCropBox(result.geometry);
  if (result.tensor) {
    const preview = showTensor(result.tensor, profile);
    resultUrl = URL.createObjectURL(npyBlob(result.tensor));
    $("result-info").textContent =
      `Tensor ${result.tensor.shape.join(" × ")} ${result.tensor.dtype}, ${took} ms` +
      (preview ? "" : " (no preview for this layout)");
    $("download").download = `${result.tensor.profile.split("@")[0]}.npy`;
  } else {
    resultUrl = URL.createObjectURL(result.blob);
    const [width, height] = result.geometry.output_size || ["?", "?"];
    $("result-info").textContent =
      `Result: ${width} × ${height}, ${humanBytes(result.blob.size)}, ${took} ms`;
    const extension = (result.blob.type.split("/")[1] || "jpg").replace("jpeg", "jpg");
    $("download").download = `scaled.${extension}`;
    $("result").src = resultUrl;
  }
  $("result").hidden = Boolean(result.tensor);
  $("tensor-preview").hidden = !result.tensor;
  $("download").href = resultUrl;
  $("profile-ref").textContent = result.profile || "";
  showGeometry(result.geometry);
  const note = aspectNote(result.geometry, profile);
  $("aspect-note").textContent = note;
  $("aspect-note").hidden = !note;
  $("results").hidden = false;
  $("results").scrollIntoView({ block: "start" });
  $("results").focus({ preventScroll: true });
}

// What each field of the geometry means, for the table under the result.
const GEOMETRY_FIELDS = {
  source_size: "the photo as stored (width, height)",
  orientation: "its EXIF orientation (1 = upright as stored)",
  upright_size: "the photo turned upright",
  decode_scale: "how far the decoder shrank it on load (1 = every pixel)",
  crop_box: "the part of the upright photo that was used (x0, y0, x1, y1)",
  scale: "result pixels per photo pixel (x, y)",
  padding: "letterbox added around it (left, top, right, bottom)",
  output_size: "the result (width, height)",
  margin_skipped: "already close enough to the target: not resized",
  output_to_source: "maps a point of the result to the photo (2x3 affine)",
  source_to_output: "maps a point of the photo to the result (2x3 affine)",
};

// Numbers to at most 3 decimals, so float noise (6.300000000000001) does not show.
function roundForDisplay(value) {
  if (Array.isArray(value)) return value.map(roundForDisplay);
  return typeof value === "number" ? Math.round(value * 1000) / 1000 : value;
}

function showGeometry(geometry) {
  const rows = Object.entries(geometry).map(([name, value]) => {
    const row = document.createElement("tr");
    const field = document.createElement("th");
    field.scope = "row";
    field.textContent = name;
    const shown = document.createElement("td");
    shown.textContent = JSON.stringify(roundForDisplay(value)).replaceAll(",", ", ");
    const meaning = document.createElement("td");
    meaning.textContent = GEOMETRY_FIELDS[name] || "";
    row.append(field, shown, meaning);
    return row;
  });
  $("geometry").replaceChildren(...rows);
}

// Said when the picture is squashed or stretched: sx and sy differ by more than 1 %.
function aspectNote(geometry, profile) {
  const [sx, sy] = geometry.scale || [1, 1];
  if (Math.abs(sx / sy - 1) <= 0.01) return "";
  const [width, height] = geometry.output_size;
  const name = profile ? profile.name : "this profile";
  return `Note: the aspect ratio changed. ${name} stretches every image to ${width} × ${height}; ` +
    "choose a profile that fits, covers or pads to keep it.";
}

// The crop box in upright source pixels, over the upright original (browsers show <img>
// upright by its EXIF orientation): the SVG's viewBox is the upright size.
function drawCropBox(geometry) {
  const [width, height] = geometry.upright_size || [1, 1];
  const [x0, y0, x1, y1] = geometry.crop_box || [0, 0, width, height];
  $("overlay").setAttribute("viewBox", `0 0 ${width} ${height}`);
  $("overlay").setAttribute("preserveAspectRatio", "none");
  const box = $("crop-box");
  box.setAttribute("x", x0);
  box.setAttribute("y", y0);
  box.setAttribute("width", x1 - x0);
  box.setAttribute("height", y1 - y0);
}

function base64Bytes(data) {
  const text = atob(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function tensorValues(tensor) {
  const bytes = base64Bytes(tensor.data);
  if (tensor.dtype === "uint8") return bytes;
  if (tensor.dtype === "float32") return new Float32Array(bytes.buffer);
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length: bytes.length / 2 }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
}

// The tensor back to 0-255 levels with the profile's rescale, mean and std, on a canvas.
function showTensor(tensor, profile) {
  const output = profile.spec.output;
  const chw = output.layout === "CHW";
  const [channels, height, width] = chw ? tensor.shape : [tensor.shape[2], tensor.shape[0], tensor.shape[1]];
  if (!(channels === 1 || channels === 3)) return false;
  const values = tensorValues(tensor);
  const canvas = $("tensor-preview");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const pick = (list, c) => (list ? list[list.length === 1 ? 0 : c] : 0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 3; k++) {
        const c = channels === 1 ? 0 : k;
        const index = chw ? (c * height + y) * width + x : (y * width + x) * channels + c;
        let level = values[index];
        if (tensor.dtype !== "uint8") level = (level * (pick(output.std, c) || 1) + pick(output.mean, c)) / output.rescale;
        image.data[(y * width + x) * 4 + k] = level;
      }
      image.data[(y * width + x) * 4 + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
  return true;
}

// A .npy file (format 1.0) of the tensor, to download.
function npyBlob(tensor) {
  const descr = { uint8: "|u1", float16: "<f2", float32: "<f4" }[tensor.dtype];
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += " ".repeat(63 - ((header.length + 10) % 64)) + "\n";
  const prefix = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  return new Blob([prefix, header, base64Bytes(tensor.data)], { type: "application/x-npy" });
}

// A phone has no Enter key and rarely a drag: it taps (a coarse pointer, or a touch screen).
const DROP_HELP = window.matchMedia("(pointer: coarse)").matches || navigator.maxTouchPoints > 0
  ? "Tap here to choose an image"
  : "Drop an image here, or press Enter to choose a file";

function resetDropZone() {
  $("drop-help").textContent = DROP_HELP;
}

function chooseFile(name) {
  const hadUrl = Boolean($("url").value.trim());
  $("url").value = "";
  $("drop-help").textContent = `Chosen: ${name}`;
  $("source-note").textContent = hadUrl ? "The file will be sent (the URL was cleared)." : "";
}

function wireDropZone() {
  const zone = $("drop-zone");
  zone.addEventListener("click", () => $("file").click());
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("file").click(); }
  });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files.length) {
      $("file").files = event.dataTransfer.files;
      chooseFile(event.dataTransfer.files[0].name);
    }
  });
  $("file").addEventListener("change", () => {
    const chosen = $("file").files[0];
    if (chosen) chooseFile(chosen.name); else resetDropZone();
  });
  // Whichever was set last is sent, and the page says which.
  $("url").addEventListener("input", () => {
    if (!$("url").value.trim()) { $("source-note").textContent = ""; return; }
    if ($("file").files.length) $("file").value = "";
    resetDropZone();
    $("source-note").textContent = "The URL will be sent (the chosen file was cleared).";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("scale-form").addEventListener("submit", scale);
  $("signout").addEventListener("click", signOut);
  $("profile").addEventListener("change", describeProfile);
  wireDropZone();
  resetDropZone();  // a phone is told to tap
  const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
  if (saved) signedIn(saved.token, saved.user); else $("username").focus();
});
