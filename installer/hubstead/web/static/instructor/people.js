// People: every user, with approve/reject, add, reset password, lock, groups and remove.
"use strict";

import { act, api, button, confirmAction, el, fillTable, flash, isAdmin, when } from "./common.js";

const table = document.getElementById("people-table");
const secret = document.getElementById("people-password");
let users = [];

const path = (name, rest) => `users/${encodeURIComponent(name)}${rest || ""}`;

// A new password is shown once, here, until the next action.
function showPassword(name, password) {
  if (!password) { secret.hidden = true; return; }
  secret.replaceChildren(
    el("p", {}, "The password of ", el("strong", {}, name), " (shown only now; write it down):"),
    el("p", {}, el("code", { className: "hs-password", id: "people-new-password" }, password)),
    button("Done", () => { secret.hidden = true; secret.replaceChildren(); }));
  secret.hidden = false;
  secret.querySelector("button").focus();
}

async function run(action, control, message) {
  await act(async () => {
    const answer = await action();
    await load();
    if (message) flash(message(answer));
  }, control);
}

function actionsOf(user) {
  const name = user.name;
  const label = (verb) => ({ "aria-label": `${verb} ${name}` });
  const post = (rest, body) => () => api("POST", path(name, rest), body);
  const cell = el("span", { className: "hs-actions" });
  if (user.state === "pending") {
    cell.append(button("Approve", (e) => run(post("/approve"), e.currentTarget, () => `${name} is approved.`), label("Approve")),
                button("Reject", (e) => run(post("/reject"), e.currentTarget, () => `The sign-up of ${name} is rejected.`),
                       label("Reject")));
  }
  const protectedAdmin = user.admin && !isAdmin;  // instructors cannot act on admins
  if (!protectedAdmin) {
    cell.append(button("Reset password", (e) => act(async () => {
      const answer = await api("POST", path(name, "/reset-password"));
      showPassword(name, answer.password);
    }, e.currentTarget), label("Reset the password of")));
    cell.append(user.state === "locked"
      ? button("Unlock", (e) => run(post("/unlock"), e.currentTarget, () => `${name} is unlocked.`), label("Unlock"))
      : button("Lock", (e) => run(post("/lock"), e.currentTarget, () => `${name} is locked.`), label("Lock")));
    cell.append(button("Remove", (e) => remove(name, e.currentTarget), { ...label("Remove"), className: "hs-danger" }));
  }
  return cell;
}

async function remove(name, control) {
  const answer = await confirmAction(`Remove ${name}? Their server stops and they can no longer log in.`,
                                     "Remove", "Also delete their home directory (purge)");
  if (!answer.ok) return;
  await run(() => api("DELETE", path(name, answer.checked ? "?purge=1" : "")), control,
            (done) => `${name} is removed${done.purged ? " with their home" : `; their home ${done.home || ""} is kept`}.`);
}

function render() {
  const filter = document.getElementById("people-filter").value.trim().toLowerCase();
  const shown = users.filter((user) => !filter || user.name.toLowerCase().includes(filter)
    || user.groups.some((group) => group.toLowerCase().includes(filter)));
  fillTable(table, shown, (user) => [
    user.name, user.state, user.admin ? "admin" : "", user.instructor ? "instructor" : "",
    user.groups.join(", "), when(user.last_activity), actionsOf(user),
  ]);
  const names = document.getElementById("people-names");
  names.replaceChildren(...users.map((user) => el("option", { value: user.name })));
}

export async function load() {
  const [everyone, groups] = await Promise.all([api("GET", "users"), api("GET", "groups")]);
  users = everyone;
  document.getElementById("people-groups").replaceChildren(...groups.map((group) => el("option", { value: group.name })));
  render();
}

export function init() {
  document.getElementById("people-filter").addEventListener("input", render);
  document.getElementById("people-approve-all").addEventListener("click", (event) =>
    run(() => api("POST", "users/approve-all"), event.currentTarget,
        (answer) => answer.approved.length ? `Approved: ${answer.approved.join(", ")}.` : "No sign-up was pending."));
  document.getElementById("people-add").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { name: form.name.value.trim(), admin: Boolean(form.admin && form.admin.checked) };
    act(async () => {
      const answer = await api("POST", "users", body);
      form.reset();
      flash(`${answer.name} is added.`);
      showPassword(answer.name, answer.password);
      await load();
    }, event.submitter);
  });
  document.getElementById("people-group").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target, op = event.submitter.value;
    const user = form.user.value.trim(), group = form.group.value.trim();
    run(() => api(op === "add" ? "POST" : "DELETE", path(user, `/groups/${encodeURIComponent(group)}`)),
        event.submitter, () => `${user} is ${op === "add" ? "added to" : "removed from"} ${group}.`);
  });
}

export function show() { act(load); }
