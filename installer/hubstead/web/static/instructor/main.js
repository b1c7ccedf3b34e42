// The instructors' page: tabs by hash (#now, #people, ...), each section loaded when shown.
"use strict";

import { root } from "./common.js";
import * as now from "./now.js";
import * as people from "./people.js";
import * as accounts from "./accounts.js";
import * as environments from "./environments.js";
import * as links from "./links.js";
import * as usage from "./usage.js";
import * as actions from "./actions.js";

const sections = { now, people, accounts, environments, links, usage, actions };
const tabs = [...root.querySelectorAll("[role=tab]")];
let current = null;

function show(key) {
  if (!sections[key]) key = "now";
  if (current === key) return;
  if (current && sections[current].hide) sections[current].hide();
  current = key;
  // A message belongs to the section it came from.
  document.getElementById("hs-flash").hidden = document.getElementById("hs-error").hidden = true;
  for (const tab of tabs) {
    const selected = tab.id === `tab-${key}`;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
  }
  document.title = `${document.getElementById(`tab-${key}`).textContent} · Instructor · Hubstead`;
  sections[key].show();
}

// Arrow keys move between tabs (the ARIA tabs pattern); Enter follows the link.
root.querySelector("[role=tablist]").addEventListener("keydown", (event) => {
  const index = tabs.indexOf(document.activeElement);
  if (index < 0) return;
  const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: tabs.length - 1 - index };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = tabs[(index + moves[event.key] + tabs.length) % tabs.length];
  next.focus();
  location.hash = next.getAttribute("href");
});

for (const section of Object.values(sections)) section.init();
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
show(location.hash.slice(1));
