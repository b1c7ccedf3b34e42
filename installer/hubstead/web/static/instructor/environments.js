// Environments: each with its builds; create from a file or a repository and follow the
// build's log; make default, roll back, remove (the refusal's reason shown).
"use strict";

import { act, api, button, bytes, confirmAction, el, fillTable, flash, followLog } from "./common.js";

const table = document.getElementById("envs-table");
const path = (name, rest) => `environments/${encodeURIComponent(name)}${rest || ""}`;

function buildsOf(env) {
  return el("ul", { className: "hs-builds" }, (env.builds || []).map((build) =>
    el("li", {}, build.id, build.current ? " (current)" : "", " · ", new Date(build.created).toLocaleDateString())));
}

function actionsOf(env) {
  const name = env.name;
  const cell = el("span", { className: "hs-actions" });
  if (!env.default) {
    cell.append(button("Make default", (e) => act(async () => {
      await api("POST", path(name, "/default"));
      flash(`${name} is the default environment.`);
      await load();
    }, e.currentTarget), { "aria-label": `Make ${name} the default` }));
  }
  if ((env.builds || []).length > 1) {
    cell.append(button("Roll back", (e) => act(async () => {
      const answer = await api("POST", path(name, "/rollback"));
      flash(`${name} runs build ${answer.current} now.`);
      await load();
    }, e.currentTarget), { "aria-label": `Roll ${name} back to its previous build` }));
  }
  cell.append(button("Remove", async (e) => {
    const control = e.currentTarget;
    const { ok } = await confirmAction(`Remove the environment ${name} and all its builds?`, "Remove");
    if (ok) {
      await act(async () => {
        await api("DELETE", path(name));
        flash(`${name} is removed.`);
        await load();
      }, control);
    }
  }, { className: "hs-danger", "aria-label": `Remove ${name}` }));
  return cell;
}

async function load() {
  const envs = await api("GET", "environments");
  fillTable(table, envs, (env) => [
    el("span", {}, el("strong", {}, env.name), env.default ? " (default)" : "",
       env.description ? el("span", { className: "hs-note" }, ` ${env.description}`) : null,
       env.job ? el("span", { className: "hs-note" }, " · building") : null),
    buildsOf(env), bytes(env.size_bytes), (env.running_users || []).join(", ") || "—", actionsOf(env),
  ]);
}

async function create(event) {
  event.preventDefault();
  const form = event.target;
  const fromFile = form.source.value === "file";
  let body;
  if (fromFile) {
    body = new FormData();
    body.append("name", form.name.value.trim());
    body.append("description", form.description.value);
    if (form.spec.files[0]) body.append("spec", form.spec.files[0], form.spec.files[0].name);
  } else {
    body = { name: form.name.value.trim(), description: form.description.value,
             repo: form.repo.value.trim(), ref: form.ref.value.trim() || undefined };
  }
  await act(async () => {
    const answer = await api("POST", "environments", body);
    const log = document.getElementById("env-job-log");
    const state = document.getElementById("env-job-state");
    document.getElementById("env-job-title").textContent = `Build of ${answer.name}`;
    log.textContent = "";
    document.getElementById("env-job").hidden = false;
    await load();
    // A file's build is a job, a repository's a Binder build: the answer says where its log is.
    const last = await followLog(answer.log, log,
                                 (now) => { state.textContent = `The build is ${now || "starting"}…`; });
    const done = last.build || last;
    state.textContent = done.state === "succeeded" ? `${answer.name} is built.`
      : `The build ${done.state}: ${done.message || "see the log."}`;
    await load();
  }, event.submitter);
}

export function init() {
  const form = document.getElementById("env-create");
  form.addEventListener("submit", create);
  form.addEventListener("change", () => {
    const fromFile = form.source.value === "file";
    form.querySelector(".hs-from-file").hidden = !fromFile;
    form.querySelector(".hs-from-repo").hidden = fromFile;
  });
}

export function show() { act(load); }
