// Now: every running server, refreshed every few seconds while the tab is shown.
"use strict";

import { act, api, button, bytes, confirmAction, fillTable, flash, showError, when } from "./common.js";

const REFRESH_MS = 5000;
const table = document.getElementById("now-table");
let timer = null;

async function stop(user, control) {
  const { ok } = await confirmAction(`Stop the server of ${user}? Unsaved work in it is lost.`, "Stop");
  if (!ok) return;
  await act(async () => {
    await api("POST", `servers/${encodeURIComponent(user)}/stop`);
    await refresh();
    flash(`The server of ${user} is stopped.`);
  }, control);
}

async function refresh() {
  const [servers, summary] = await Promise.all([api("GET", "servers"), api("GET", "summary")]);
  fillTable(table, servers, (server) => [
    server.user, server.environment || "—", when(server.started), when(server.last_activity),
    bytes(server.memory_bytes), server.cpu_percent === null || server.cpu_percent === undefined
      ? "—" : `${server.cpu_percent.toFixed(1)} %`,
    server.state === "running" ? button("Stop", (event) => stop(server.user, event.currentTarget),
                                        { "aria-label": `Stop the server of ${server.user}` }) : server.state,
  ]);
  document.getElementById("now-empty").hidden = servers.length > 0;
  document.getElementById("now-running").textContent = summary.running_servers;
  document.getElementById("now-pending").textContent = summary.pending_signups;
  document.getElementById("now-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function tick() {
  try { await refresh(); } catch (error) { showError(error); }
  timer = setTimeout(tick, REFRESH_MS);
}

export function init() {
  document.getElementById("now-stop-idle").addEventListener("submit", async (event) => {
    event.preventDefault();
    const minutes = event.target.minutes.value;
    const { ok } = await confirmAction(`Stop every server idle for more than ${minutes} minutes?`, "Stop them");
    if (!ok) return;
    await act(async () => {
      const answer = await api("POST", `servers/stop-idle?minutes=${encodeURIComponent(minutes)}`);
      await refresh();
      flash(answer.stopped.length ? `Stopped: ${answer.stopped.join(", ")}.` : "No server was idle that long.");
    }, event.submitter);
  });
}

export function show() { clearTimeout(timer); tick(); }
export function hide() { clearTimeout(timer); timer = null; }
