// The review page: state from /api/state; clips by manifest id only (never by a path).
"use strict";

const main = document.getElementById("artworks");
let pollTimer = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

function showError(text) {
  document.getElementById("error").textContent = text || "";
}

async function post(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

function clipInfo(c) {
  const lufs = c.loudness_lufs === null ? "silent" : `${c.loudness_lufs} LUFS`;
  const origin = c.origin === "review" ? "regenerated" : `#${c.index}`;
  return `${origin} · seed ${c.seed} · ${c.seconds} s · ${c.steps} steps · ${c.scheduler} · guidance ${c.guidance} · ${lufs}`;
}

function setStatus(li, status) {
  li.className = `clip status-${status}`;
  li.dataset.status = status;
  li.querySelector(".status").textContent = status;
}

function clipItem(c) {
  const li = el("li", { "class": `clip status-${c.status}`, "data-clip": c.id, "data-status": c.status });
  const audio = el("audio", { controls: true, preload: "none", src: `/clip/${encodeURIComponent(c.id)}` });
  const keep = el("button", { "class": "keep", type: "button" }, "Keep");
  const reject = el("button", { "class": "reject", type: "button" }, "Reject");
  for (const [button, status] of [[keep, "kept"], [reject, "rejected"]]) {
    button.addEventListener("click", async () => {
      try {
        const r = await post(`/api/clip/${encodeURIComponent(c.id)}/status`, { status });
        setStatus(li, r.status);
        showError("");
      } catch (e) { showError(e.message); }
    });
  }
  li.append(
    el("img", { "class": "waveform", alt: `waveform of clip ${c.id}`, src: `/waveform/${encodeURIComponent(c.id)}.svg` }),
    audio,
    el("div", {}, el("span", { "class": "status" }, c.status), " ", keep, reject,
       el("div", { "class": "info" }, clipInfo(c))),
  );
  return li;
}

function artworkSection(a) {
  const section = el("section", { "class": "artwork", "data-artwork": a.id });
  const image = a.image ? el("img", { "class": "artwork-image", alt: a.title || a.id, src: `/image/${encodeURIComponent(a.id)}` })
                        : el("div", { "class": "artwork-image" }, "(no catalog image)");
  const meta = [a.artist, a.year].filter(Boolean).join(", ");
  const body = el("div", {}, el("h2", {}, a.title || a.id), el("p", { "class": "meta" }, meta ? `${meta} · ${a.id}` : a.id));
  const clips = el("ul", { "class": "clips" });
  const jobs = el("p", { "class": "jobs" });
  if (a.regenerate) {
    const button = el("button", { "class": "regenerate", type: "button" }, "Regenerate (new seed)");
    button.addEventListener("click", async () => {
      try {
        await post(`/api/artwork/${encodeURIComponent(a.id)}/regenerate`, {});
        showError("");
        refresh();
      } catch (e) { showError(e.message); }
    });
    body.append(button);
  }
  body.append(jobs, clips);
  section.append(image, body);
  return section;
}

// Brings the page up to date without replacing existing players (one may be playing).
function render(state) {
  document.getElementById("loading")?.remove();
  document.getElementById("where").textContent = `playlists: ${state.playlists}` + (state.catalog ? ` · catalog: ${state.catalog}` : " · no catalog: regenerate is off");
  for (const a of state.artworks) {
    let section = main.querySelector(`section[data-artwork="${CSS.escape(a.id)}"]`);
    if (!section) { section = artworkSection(a); main.append(section); }
    const list = section.querySelector("ul.clips");
    for (const c of a.clips) {
      const li = list.querySelector(`li[data-clip="${CSS.escape(c.id)}"]`);
      if (!li) list.append(clipItem(c));
      else if (li.dataset.status !== c.status) setStatus(li, c.status);
    }
    const mine = state.jobs.filter(j => j.artwork_id === a.id && j.state !== "done");
    section.querySelector(".jobs").textContent = mine.map(j => j.state === "failed" ? `regenerate failed: ${j.error}` : `regenerating (${j.state})…`).join(" ");
  }
  const busy = state.jobs.some(j => j.state === "queued" || j.state === "running");
  clearTimeout(pollTimer);
  if (busy) pollTimer = setTimeout(refresh, 1000);
}

async function refresh() {
  try {
    const r = await fetch("/api/state");
    if (!r.ok) throw new Error(`/api/state: ${r.status}`);
    render(await r.json());
    document.body.dataset.ready = "1";
  } catch (e) { showError(e.message); }
}

refresh();
