// crnn web page. Text lines: drop, paste or choose line images; each is sent to
// POST v1/recognize and shown with its text and confidence. Whole page: one page image or
// PDF goes to POST v1/ocr; the page is shown with every line's box drawn over it and the
// text beside it in reading order. Plain browser JavaScript, no build step, no CDN.
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
      if (pageMode.hidden) addFiles(files);
      else readDocument(files[0]);
    }
  });

  // ---------------------------------------------------------------- modes
  const linesMode = $("#lines-mode");
  const pageMode = $("#page-mode");
  function setMode(page) {
    linesMode.hidden = page;
    pageMode.hidden = !page;
    $("#mode-lines").setAttribute("aria-pressed", String(!page));
    $("#mode-page").setAttribute("aria-pressed", String(page));
    if (location.hash !== (page ? "#page" : "")) {
      history.replaceState(null, "", page ? "#page" : location.pathname);
    }
  }
  $("#mode-lines").addEventListener("click", () => setMode(false));
  $("#mode-page").addEventListener("click", () => setMode(true));

  // ---------------------------------------------------------------- whole pages
  const DOUBT = 0.8; // lines read with less confidence are marked
  const SVG = "http://www.w3.org/2000/svg";
  const pageDrop = $("#page-drop");
  const pageFile = $("#page-file");
  const pageView = $("#page-view");
  const pageImage = $("#page-image");
  const pageBoxes = $("#page-boxes");
  const pageLines = $("#page-lines");
  const pageSelect = $("#page-select");
  const pageSay = (message) => { $("#page-status").textContent = message; };
  // what is shown: the file, the page number asked for (null: a one-page image), the reply
  const shown = { file: null, page: null, body: null, imageUrl: null };

  const isPdf = (f) => f.type === "application/pdf" || /\.pdf$/i.test(f.name);
  const isTiff = (f) => /^image\/tiff?$/.test(f.type) || /\.tiff?$/i.test(f.name);

  async function ocrRequest(file, page, format, withImage) {
    const params = new URLSearchParams({ format });
    if (page !== null) params.set("page", String(page));
    if (withImage) params.set("image", "true");
    const form = new FormData();
    form.append("page", file, file.name);
    const response = await fetch(`v1/ocr?${params}`, {
      method: "POST", headers: authHeaders(), body: form });
    if (response.status === 401) $("#auth").open = true;
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(detailOf(body, response));
    }
    return format === "json" ? response.json() : response.text();
  }

  async function readDocument(file, page = null) {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/") && !isPdf(file)) {
      pageSay(`${file.name}: not an image or a PDF`);
      return;
    }
    // PDFs and TIFFs: one page at a time, shown as the server rasterised it
    const paged = isPdf(file) || isTiff(file);
    const want = paged ? (page || 1) : null;
    pageSay(`reading ${file.name}${want ? `, page ${want}` : ""}…`);
    pageView.setAttribute("aria-busy", "true");
    const t0 = performance.now();
    try {
      const body = await ocrRequest(file, want, "json", paged);
      const result = body.pages[0];
      if (shown.imageUrl) URL.revokeObjectURL(shown.imageUrl);
      shown.imageUrl = result.image ? null : URL.createObjectURL(file);
      Object.assign(shown, { file, page: want, body });
      showPage(result, result.image || shown.imageUrl, body.page_count, want);
      const doubtful = result.lines.filter((l) => l.confidence < DOUBT).length;
      pageSay(`${file.name}${want ? `, page ${want} of ${body.page_count}` : ""}: ` +
        `${result.lines.length} lines in ${Math.round(performance.now() - t0)} ms` +
        (result.rotation ? `, turned ${result.rotation}°` : "") +
        (doubtful ? ` · ${doubtful} to check` : ""));
    } catch (err) {
      pageSay(`${file.name}: ${err.message}`);
    } finally {
      pageView.removeAttribute("aria-busy");
    }
  }

  function showPage(result, src, pageCount, page) {
    pageView.hidden = false;
    pageImage.src = src;
    pageBoxes.setAttribute("viewBox", `0 0 ${result.width} ${result.height}`);
    pageBoxes.replaceChildren();
    pageLines.replaceChildren();
    result.lines.forEach((line, i) => {
      const doubt = line.confidence < DOUBT;
      const poly = document.createElementNS(SVG, "polygon");
      poly.setAttribute("points", line.quad.map(([x, y]) => `${x},${y}`).join(" "));
      poly.dataset.line = String(i);
      if (doubt) poly.classList.add("doubt");
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${line.text} (${(100 * line.confidence).toFixed(1)}%)`;
      poly.append(title);
      pageBoxes.append(poly);
      const li = document.createElement("li");
      li.dataset.line = String(i);
      li.tabIndex = 0;
      li.textContent = line.text;
      li.title = `confidence ${(100 * line.confidence).toFixed(1)}%`;
      if (doubt) li.classList.add("doubt");
      if (i > 0 && result.lines[i - 1].block !== line.block) li.classList.add("new-block");
      pageLines.append(li);
    });
    const picker = $("#page-picker");
    picker.hidden = page === null || pageCount < 2;
    if (!picker.hidden) {
      pageSelect.replaceChildren(...Array.from({ length: pageCount }, (_, k) => {
        const option = document.createElement("option");
        option.value = option.textContent = String(k + 1);
        return option;
      }));
      pageSelect.value = String(page);
      $("#page-count").textContent = `of ${pageCount}`;
    }
  }

  // hovering or clicking a box highlights its line and back
  function highlight(index, scroll) {
    for (const el of document.querySelectorAll("#page-view .hot")) el.classList.remove("hot");
    if (index === null) return;
    const li = pageLines.querySelector(`li[data-line="${index}"]`);
    const poly = pageBoxes.querySelector(`polygon[data-line="${index}"]`);
    li.classList.add("hot");
    poly.classList.add("hot");
    if (scroll === "text") li.scrollIntoView({ block: "nearest" });
    if (scroll === "box") poly.scrollIntoView({ block: "nearest" });
  }
  const lineOf = (e) => e.target.closest("[data-line]")?.dataset.line ?? null;
  pageBoxes.addEventListener("mouseover", (e) => highlight(lineOf(e), null));
  pageBoxes.addEventListener("click", (e) => highlight(lineOf(e), "text"));
  pageLines.addEventListener("mouseover", (e) => highlight(lineOf(e), null));
  pageLines.addEventListener("click", (e) => highlight(lineOf(e), "box"));
  pageLines.addEventListener("focusin", (e) => highlight(lineOf(e), "box"));
  pageBoxes.addEventListener("mouseleave", () => highlight(null));
  pageLines.addEventListener("mouseleave", () => highlight(null));

  const pageText = () => shown.body.pages[0].lines.map((l) => l.text).join("\n") + "\n";
  function download(name, type, content) {
    const url = URL.createObjectURL(new Blob([content], { type }));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  const stem = () => shown.file.name.replace(/\.[^.]*$/, "") +
    (shown.page ? `-p${shown.page}` : "");

  $("#copy-text").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(pageText());
      pageSay("text copied");
    } catch (err) {
      pageSay(`could not copy: ${err.message}`);
    }
  });
  $("#get-txt").addEventListener("click", () =>
    download(`${stem()}.txt`, "text/plain", pageText()));
  $("#get-json").addEventListener("click", () => {
    const body = structuredClone(shown.body);
    body.pages.forEach((p) => delete p.image);
    download(`${stem()}.json`, "application/json", JSON.stringify(body, null, 1));
  });
  $("#get-hocr").addEventListener("click", async () => {
    try {
      const hocr = await ocrRequest(shown.file, shown.page, "hocr", false);
      download(`${stem()}.hocr`, "application/xhtml+xml", hocr);
    } catch (err) {
      pageSay(`hOCR: ${err.message}`);
    }
  });
  pageSelect.addEventListener("change", () =>
    readDocument(shown.file, Number(pageSelect.value)));

  pageFile.addEventListener("change", () => {
    readDocument(pageFile.files[0]);
    pageFile.value = "";
  });
  pageDrop.addEventListener("keydown", (e) => {
    if (e.target === pageDrop && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      pageFile.click();
    }
  });
  for (const type of ["dragenter", "dragover"]) {
    pageDrop.addEventListener(type, (e) => {
      e.preventDefault();
      pageDrop.classList.add("over");
    });
  }
  pageDrop.addEventListener("dragleave", () => pageDrop.classList.remove("over"));
  pageDrop.addEventListener("drop", (e) => {
    e.preventDefault();
    pageDrop.classList.remove("over");
    readDocument(e.dataTransfer && e.dataTransfer.files[0]);
  });

  setMode(location.hash === "#page");

  clearButton.addEventListener("click", () => {
    results.querySelectorAll("img").forEach((img) => URL.revokeObjectURL(img.src));
    results.replaceChildren();
    clearButton.hidden = true;
    say("");
  });

  loadModel();
})();
