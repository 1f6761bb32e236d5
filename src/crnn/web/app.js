// crnn web page: drop, paste or choose line images; each is sent to POST v1/recognize and
// shown with its text and confidence. Plain browser JavaScript, no build step, no CDN.
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);
  const drop = $("#drop");
  const fileInput = $("#file");
  const results = $("#results");
  const statusLine = $("#status");
  const tokenInput = $("#token");
  const charProbs = $("#char-probs");
  const clearButton = $("#clear");
  const template = $("#card-template");

  // Limits of the server (from v1/model); safe guesses until it answers.
  const limits = { maxImages: 16, maxBytes: 16 * 1024 * 1024 };

  tokenInput.value = sessionStorage.getItem("crnn-token") || "";
  tokenInput.addEventListener("change", () => {
    sessionStorage.setItem("crnn-token", tokenInput.value.trim());
    loadModel();
  });

  function authHeaders() {
    const token = tokenInput.value.trim();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  function say(message) {
    statusLine.textContent = message;
  }

  function detailOf(body, response) {
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail)) {
      return body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    }
    return `HTTP ${response.status} ${response.statusText}`;
  }

  async function loadModel() {
    const info = $("#model-info");
    try {
      const response = await fetch("v1/model", { headers: authHeaders() });
      if (response.status === 401) {
        $("#auth").open = true;
        info.textContent = "this server needs an access token";
        return;
      }
      const body = await response.json();
      if (!response.ok) throw new Error(detailOf(body, response));
      limits.maxImages = body.limits.max_images;
      limits.maxBytes = body.limits.max_request_bytes;
      info.textContent = `model ${body.name} · ${body.charset_size} characters · ` +
        `input height ${body.input_height} · ${body.backend} on ${body.device}`;
    } catch (err) {
      info.textContent = `model information unavailable: ${err.message}`;
    }
  }

  function newCard(file) {
    const card = template.content.firstElementChild.cloneNode(true);
    const img = card.querySelector("img");
    img.src = URL.createObjectURL(file);
    img.alt = file.name;
    card.querySelector(".name").textContent = file.name;
    card.querySelector(".confidence").textContent = "reading…";
    results.prepend(card);
    clearButton.hidden = false;
    return card;
  }

  function showResult(card, r) {
    const text = card.querySelector(".text");
    const probs = card.querySelector(".char-probs");
    text.textContent = r.text;
    probs.replaceChildren();
    if (r.error) {
      showError(card, r.error);
      return;
    }
    card.dataset.state = "done";
    card.querySelector(".confidence").textContent =
      `confidence ${(100 * r.confidence).toFixed(1)}%`;
    if (Array.isArray(r.char_probs)) {
      Array.from(r.text).forEach((ch, i) => {
        const p = r.char_probs[i] ?? 0;
        const span = document.createElement("span");
        span.textContent = ch;
        span.title = `${ch}: ${(100 * p).toFixed(1)}%`;
        span.style.setProperty("--doubt", (1 - p).toFixed(3));
        probs.append(span);
      });
    }
  }

  function showError(card, message) {
    card.dataset.state = "error";
    card.querySelector(".confidence").textContent = "";
    card.querySelector(".error").textContent = message;
  }

  // Split the cards into requests the server accepts: at most maxImages images and, with
  // room for multipart overhead, at most maxBytes each.
  function chunks(entries) {
    const out = [];
    let current = [];
    let bytes = 0;
    const budget = limits.maxBytes * 0.95;
    for (const entry of entries) {
      const size = entry.file.size + 512;
      if (current.length && (current.length >= limits.maxImages || bytes + size > budget)) {
        out.push(current);
        current = [];
        bytes = 0;
      }
      current.push(entry);
      bytes += size;
    }
    if (current.length) out.push(current);
    return out;
  }

  async function send(batch) {
    const form = new FormData();
    for (const { file } of batch) form.append("images", file, file.name);
    const url = `v1/recognize?char_probs=${charProbs.checked ? "true" : "false"}`;
    try {
      const response = await fetch(url, { method: "POST", headers: authHeaders(), body: form });
      const body = await response.json().catch(() => null);
      if (response.status === 401) $("#auth").open = true;
      if (!response.ok) {
        const message = detailOf(body, response);
        batch.forEach(({ card }) => showError(card, message));
        return;
      }
      body.results.forEach((r, i) => showResult(batch[i].card, r));
    } catch (err) {
      batch.forEach(({ card }) => showError(card, `request failed: ${err.message}`));
    }
  }

  async function addFiles(fileList) {
    const files = Array.from(fileList || []).filter(
      (f) => !f.type || f.type.startsWith("image/"));
    if (!files.length) {
      say("nothing to read: drop, paste or choose image files");
      return;
    }
    const entries = files.map((file) => ({ file, card: newCard(file) }));
    say(`reading ${files.length} image${files.length > 1 ? "s" : ""}…`);
    const t0 = performance.now();
    for (const batch of chunks(entries)) await send(batch);
    const failed = entries.filter(({ card }) => card.dataset.state === "error").length;
    say(`read ${files.length - failed} of ${files.length} in ` +
        `${Math.round(performance.now() - t0)} ms` + (failed ? ` (${failed} failed)` : ""));
  }

  fileInput.addEventListener("change", () => {
    addFiles(fileInput.files);
    fileInput.value = "";
  });

  drop.addEventListener("keydown", (e) => {
    if (e.target === drop && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      fileInput.click();
    }
  });

  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    addFiles(e.dataTransfer && e.dataTransfer.files);
  });
  // A file dropped outside the zone would make the browser navigate away to it.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());

  document.addEventListener("paste", (e) => {
    const data = e.clipboardData;
    if (!data) return;
    let files = Array.from(data.files || []);
    if (!files.length) {
      files = Array.from(data.items || [])
        .filter((item) => item.kind === "file")
        .map((item) => item.getAsFile())
        .filter(Boolean);
    }
    if (files.length) {
      e.preventDefault();
      addFiles(files);
    }
  });

  clearButton.addEventListener("click", () => {
    results.querySelectorAll("img").forEach((img) => URL.revokeObjectURL(img.src));
    results.replaceChildren();
    clearButton.hidden = true;
    say("");
  });

  loadModel();
})();
