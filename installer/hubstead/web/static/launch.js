// The launch page: begin (build or cache hit), follow the build's log, start the
// server, go. Every step's failure is shown as the one line the service answers.
"use strict";

(function () {
  const root = document.getElementById("hubstead-launch");
  const statusLine = document.getElementById("hubstead-launch-status");
  const errorLine = document.getElementById("hubstead-launch-error");
  const logBox = document.getElementById("hubstead-build-log");
  const busy = document.getElementById("hubstead-busy");
  const link = { path: root.dataset.path, query: root.dataset.query };
  const POLL_MS = 1000;

  class Failure extends Error {
    constructor(message, answer) { super(message); this.answer = answer || {}; }
  }

  async function call(method, path, body) {
    const options = { method, credentials: "same-origin",
                      headers: { "X-XSRFToken": root.dataset.xsrf, Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(root.dataset.api + path, options);
    } catch (error) {
      throw new Failure("The hub did not answer; check your connection and reload this page.");
    }
    let answer = {};
    try { answer = await response.json(); } catch (error) { /* not JSON: keep the status */ }
    if (!response.ok) {
      throw new Failure(answer.message || `The hub answered ${response.status}.`, answer);
    }
    return answer;
  }

  function say(text) { statusLine.textContent = text; }

  function fail(message) {
    say("");
    errorLine.textContent = message;
    errorLine.hidden = false;
  }

  function appendLog(text) {
    if (!text) return;
    const atBottom = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
    logBox.textContent += text;
    if (atBottom) logBox.scrollTop = logBox.scrollHeight;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function followBuild(build) {
    let offset = 0;
    for (;;) {
      const progress = await call("GET", `builds/${build.id}?offset=${offset}`);
      appendLog(progress.log);
      offset = progress.next_offset;
      build = progress.build;
      if (build.state === "succeeded") return build;
      if (build.state === "failed" || build.state === "cancelled") {
        throw new Failure(`The build ${build.state}: ${build.message || "see the log below."}`);
      }
      if (progress.queue_position) {
        const ahead = progress.queue_position - 1;
        say(`Waiting for a free build slot (${ahead === 0 ? "next in line" : `${ahead} ahead in the queue`})…`);
      } else {
        say(build.state === "queued" ? "Waiting for the build to start…" : "Building the environment…");
      }
      await sleep(POLL_MS);
    }
  }

  async function startAndGo(build, restart) {
    busy.hidden = true;
    say(restart ? "Restarting your server…" : "Starting your server…");
    try {
      const started = await call("POST", `builds/${build.id}/start`, { ...link, restart });
      say("Opening…");
      window.location.assign(started.redirect);
    } catch (error) {
      if (error.answer.running_env !== undefined) {
        say("");
        document.getElementById("hubstead-busy-message").textContent = error.message;
        busy.hidden = false;
        document.getElementById("hubstead-restart").onclick = () => startAndGo(build, true).catch(show);
        return;
      }
      throw error;
    }
  }

  function show(error) { fail(error.message); }

  async function launch() {
    const begun = await call("POST", "launch", link);
    let build = begun.build;
    if (build.state !== "succeeded") {
      say("Building the environment…");
      build = await followBuild(build);
    } else {
      // A cache hit: the log is there for anyone who wants it, but nobody waits for it.
      call("GET", `builds/${build.id}?offset=0`).then((p) => appendLog(p.log)).catch(() => {});
    }
    await startAndGo(build, false);
  }

  launch().catch(show);
})();
