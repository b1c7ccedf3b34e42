// What every section of the instructors' page shares: the JSON API, building DOM from
// data (textContent only: a name holding markup shows as text), messages, confirmation.
"use strict";

export const root = document.getElementById("hubstead-instructor");
export const isAdmin = root.dataset.admin === "yes";
const API = root.dataset.api;

export class Failure extends Error {
  constructor(message, answer, status) { super(message); this.answer = answer || {}; this.status = status; }
}

// The token the page was rendered with (the same value as the service's _xsrf cookie).
function xsrfToken() {
  if (root.dataset.xsrf) return root.dataset.xsrf;
  const cookie = document.cookie.split("; ").find((item) => item.startsWith("_xsrf="));
  return cookie ? decodeURIComponent(cookie.slice(6)) : "";
}

// One call of the API (path under api/, or a full path the API gave); body is an object
// (sent as JSON) or a FormData (multipart).
export async function api(method, path, body) {
  // Reads too: the hub's OAuth takes a login cookie on a fetch (not a navigation) only
  // with the XSRF token beside it.
  const headers = { Accept: "application/json", "X-XSRFToken": xsrfToken() };
  const options = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
  let response;
  try {
    response = await fetch(path.startsWith("/") ? path : API + path, options);
  } catch (error) {
    throw new Failure("The hub did not answer; check the connection and try again.");
  }
  let answer = {};
  try { answer = await response.json(); } catch (error) { /* not JSON: keep the status */ }
  if (!response.ok) {
    throw new Failure(answer.error || answer.message || `The hub answered ${response.status}.`, answer, response.status);
  }
  return answer;
}

export function apiURL(path) { return API + path; }

// el("td", {className: "x", onclick: f}, "text", child...): children are text or nodes.
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("aria-") || key === "role" || key === "for") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function button(text, onClick, props) {
  return el("button", { type: "button", onclick: onClick, ...props }, text);
}

// Replace a table's body with one row per item: cells(item) gives the row's cells.
export function fillTable(table, items, cells) {
  const body = table.tBodies[0];
  const rows = document.createDocumentFragment();
  for (const item of items) rows.append(el("tr", {}, cells(item).map((cell) => el("td", {}, cell))));
  body.replaceChildren(rows);
}

const flashLine = document.getElementById("hs-flash");
const errorLine = document.getElementById("hs-error");

export function flash(text) {
  errorLine.hidden = true;
  flashLine.textContent = text;
  flashLine.hidden = false;
}

export function showError(error) {
  flashLine.hidden = true;
  errorLine.textContent = error.message || String(error);
  errorLine.hidden = false;
}

// Runs an action of a button: disabled while it runs, its failure shown as one line.
export async function act(action, control) {
  if (control) control.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    if (control) control.disabled = false;
  }
}

const dialog = document.getElementById("hs-confirm");

// Ask before a removal or a stop; resolves {ok, checked} (checked: the extra box's state).
export function confirmAction(text, okLabel, checkLabel) {
  document.getElementById("hs-confirm-text").textContent = text;
  document.getElementById("hs-confirm-ok").textContent = okLabel || "Yes";
  const extra = document.getElementById("hs-confirm-extra");
  const check = document.getElementById("hs-confirm-check");
  extra.hidden = !checkLabel;
  check.checked = false;
  document.getElementById("hs-confirm-check-label").textContent = checkLabel || "";
  dialog.returnValue = "";
  dialog.showModal();
  document.getElementById("hs-confirm-cancel").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve({ ok: dialog.returnValue === "ok", checked: check.checked }),
                            { once: true });
  });
}

export function when(iso) {
  if (!iso) return "—";
  // ISO strings, or seconds since the epoch (a build record's times).
  const date = new Date(typeof iso === "number" ? iso * 1000 : iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const minutes = Math.round((Date.now() - date.getTime()) / 60000);
  const ago = minutes < 1 ? "just now" : minutes < 60 ? `${minutes} min ago`
    : minutes < 2880 ? `${Math.round(minutes / 60)} h ago` : `${Math.round(minutes / 1440)} days ago`;
  return el("time", { dateTime: date.toISOString(), title: date.toLocaleString() }, ago);
}

export function bytes(count) {
  if (count === null || count === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = count, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit && value < 10 ? 1 : 0)} ${units[unit]}`;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Follows a build's log into a <pre> until it ends; returns the last answer.
export async function followLog(path, pre, onState) {
  let offset = 0;
  for (;;) {
    const progress = await api("GET", `${path}?offset=${offset}`);
    if (progress.log) {
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent += progress.log;
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
    offset = progress.next_offset ?? offset;
    const state = progress.state || (progress.build && progress.build.state);
    onState(state, progress);
    if (["succeeded", "failed", "cancelled"].includes(state)) return progress;
    await sleep(1000);
  }
}
