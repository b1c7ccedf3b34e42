// Launch links: a BinderHub-like form that builds if needed and gives the link, its
// Markdown and HTML badges and a QR code; the links built before.
"use strict";

import { act, api, apiURL, el, fillTable, followLog, when } from "./common.js";

const result = document.getElementById("link-result");

function showLink(answer) {
  document.getElementById("link-url").value = answer.url;
  document.getElementById("link-open").href = answer.url;
  document.getElementById("link-markdown").value = answer.markdown;
  document.getElementById("link-html").value = answer.html;
  document.getElementById("link-qr").src = apiURL(`qr?url=${encodeURIComponent(answer.url)}`);
  result.hidden = false;
}

async function make(event) {
  event.preventDefault();
  const form = event.target;
  const body = { repo: form.repo.value.trim() };
  if (form.ref.value.trim()) body.ref = form.ref.value.trim();
  if (form.path.value.trim()) body[form.kind.value] = form.path.value.trim();
  await act(async () => {
    const answer = await api("POST", "launch-links", body);
    showLink(answer);
    const state = document.getElementById("link-state");
    const log = document.getElementById("link-log");
    if (!answer.build || answer.build.state === "succeeded") {
      state.textContent = "Built: the link opens at once.";
      log.hidden = true;
    } else {
      state.textContent = "Building the environment; the link works now and waits for the build.";
      log.textContent = "";
      log.hidden = false;
      const last = await followLog(`builds/${answer.build.id}`, log,
                                   (now) => { state.textContent = `The build is ${now || "queued"}…`; });
      const build = last.build || last;
      state.textContent = build.state === "succeeded" ? "Built: the link opens at once."
        : `The build ${build.state}: ${build.message || "see the log."}`;
    }
    await load();
  }, event.submitter);
}

async function load() {
  const links = await api("GET", "launch-links");
  fillTable(document.getElementById("links-table"), links, (link) => [
    link.repo, link.ref || "—",
    link.last_build ? el("span", {}, `${link.last_build.state} `, when(link.last_build.finished)) : "—",
    String(link.launches ?? 0), el("a", { href: link.url }, "link"),
  ]);
}

export function init() {
  document.getElementById("link-form").addEventListener("submit", make);
  for (const copy of document.querySelectorAll("[data-copy]")) {
    copy.addEventListener("click", async () => {
      const field = document.getElementById(copy.dataset.copy);
      field.select();
      try { await navigator.clipboard.writeText(field.value); copy.textContent = "Copied"; } catch (error) {
        copy.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => { copy.textContent = "Copy"; }, 2000);
    });
  }
  document.getElementById("link-qr-full").addEventListener("click", () => {
    const box = document.getElementById("link-qr-box");
    if (box.requestFullscreen) box.requestFullscreen();
  });
}

export function show() { act(load); }
