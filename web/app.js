// The upload page: sign in, send a file or URL to /v1/scale, show both images.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "imagescaler-token";
let originalUrl = null;
let resultUrl = null;

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
  $("status").textContent = "";
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
    case 415: return `This file type is not supported. Use JPEG, PNG, WebP, GIF, BMP or TIFF${detail}.`;
    case 422: return `The image could not be processed${detail}.`;
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
}

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
  clearMessages("Scaling…");
  $("scale-button").disabled = true;
  const started = performance.now();
  let request;
  if (file) {
    const body = new FormData();
    body.append("file", file);
    request = { method: "POST", body, headers: { Authorization: `Bearer ${saved.token}` } };
  } else {
    request = {
      method: "POST",
      body: JSON.stringify({ url }),
      headers: { Authorization: `Bearer ${saved.token}`, "Content-Type": "application/json" },
    };
  }
  try {
    const response = await fetch("/v1/scale", request);
    if (!response.ok) {
      const message = await describeError(response, "scale");
      if (response.status === 401) signOut();
      return showError(message);
    }
    const blob = await response.blob();
    const took = Math.round(performance.now() - started);
    await showResults(file, url, blob, response, took);
    clearMessages(`Done in ${took} ms.`);
  } catch (_) {
    showError("The service cannot be reached. Check your connection and try again.");
  } finally {
    $("scale-button").disabled = false;
  }
}

async function showResults(file, url, blob, response, took) {
  if (originalUrl && file) URL.revokeObjectURL(originalUrl);
  if (resultUrl) URL.revokeObjectURL(resultUrl);
  originalUrl = file ? URL.createObjectURL(file) : url;
  resultUrl = URL.createObjectURL(blob);
  const size = await imageSize(originalUrl);
  const sizeText = size ? `${size[0]} × ${size[1]}` : "size unknown";
  $("original-info").textContent =
    `Original: ${sizeText}` + (file ? `, ${humanBytes(file.size)}` : "");
  const width = response.headers.get("X-Image-Width");
  const height = response.headers.get("X-Image-Height");
  $("result-info").textContent =
    `Result: ${width} × ${height}, ${humanBytes(blob.size)}, ${took} ms`;
  const extension = (blob.type.split("/")[1] || "jpg").replace("jpeg", "jpg");
  $("download").href = resultUrl;
  $("download").download = `scaled.${extension}`;
  $("original").src = originalUrl;
  $("result").src = resultUrl;
  $("results").hidden = false;
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
      $("url").value = "";
      $("drop-help").textContent = `Chosen: ${event.dataTransfer.files[0].name}`;
    }
  });
  $("file").addEventListener("change", () => {
    const chosen = $("file").files[0];
    if (chosen) { $("url").value = ""; $("drop-help").textContent = `Chosen: ${chosen.name}`; }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("scale-form").addEventListener("submit", scale);
  $("signout").addEventListener("click", signOut);
  wireDropZone();
  const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
  if (saved) signedIn(saved.token, saved.user); else $("username").focus();
});
