// Recent actions: the audit log, newest first (from the page and the CLI).
"use strict";

import { act, api, fillTable, when } from "./common.js";

async function load() {
  const entries = await api("GET", "audit?limit=200");
  fillTable(document.getElementById("actions-table"), entries,
            (entry) => [when(entry.time), entry.who, entry.via, entry.action, entry.target || "", entry.detail || ""]);
}

export function init() {}
export function show() { act(load); }
