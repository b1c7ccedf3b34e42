// Workshop accounts: roster upload -> preview (bad rows with line and reason) -> create
// -> the password sheet as CSV and as a printable page.
"use strict";

import { act, api, el, fillTable, flash, when } from "./common.js";

const preview = document.getElementById("roster-preview");
const createButton = document.getElementById("roster-create");
let file = null;

function rosterForm() {
  const form = new FormData();
  form.append("roster", file, file.name);
  return form;
}

function showPreview(answer) {
  const errors = answer.errors || [];
  const rows = answer.rows || [];
  fillTable(document.getElementById("roster-table"), rows,
            (row) => [row.line, row.username, row.email || "", row.group || ""]);
  document.getElementById("roster-errors").replaceChildren(
    ...errors.map((error) => el("li", {}, `line ${error.line}: ${error.message}`)));
  document.getElementById("roster-summary").textContent = errors.length
    ? `${errors.length} bad row${errors.length > 1 ? "s" : ""}: fix the file and preview it again; nothing was created.`
    : `${rows.length} account${rows.length === 1 ? "" : "s"} to create.`;
  createButton.disabled = errors.length > 0 || rows.length === 0;
  preview.hidden = false;
}

async function previewRoster(event) {
  event.preventDefault();
  file = event.target.roster.files[0];
  document.getElementById("roster-done").hidden = true;
  await act(async () => {
    try {
      showPreview(await api("POST", "roster?dry_run=1", rosterForm()));
    } catch (error) {
      if (!error.answer.errors) throw error;
      showPreview(error.answer);
    }
  }, event.submitter);
}

async function create() {
  await act(async () => {
    let answer;
    try {
      answer = await api("POST", "roster", rosterForm());
    } catch (error) {
      if (error.answer.errors) showPreview(error.answer);
      throw error;
    }
    preview.hidden = true;
    document.getElementById("roster-created").textContent =
      `${answer.created.length} accounts created: ${answer.created.join(", ")}. The sheet expires ${new Date(answer.expires).toLocaleString()}.`;
    document.getElementById("roster-sheet-csv").href = answer.sheet;
    document.getElementById("roster-sheet-html").href = answer.sheet_html;
    document.getElementById("roster-done").hidden = false;
    flash(`${answer.created.length} accounts created.`);
    await loadSheets();
  }, createButton);
}

async function loadSheets() {
  const sheets = await api("GET", "sheets");
  document.getElementById("sheets-list").replaceChildren(...(sheets.length ? sheets.map((sheet) => el("li", {},
    `${sheet.count} accounts, made `, when(sheet.created), ` by ${sheet.owner}: `,
    el("a", { href: sheet.csv, download: "" }, "CSV"), " · ",
    el("a", { href: sheet.html, target: "_blank", rel: "noopener" }, "printable page"))) : [el("li", {}, "none")]));
}

export function init() {
  document.getElementById("roster-form").addEventListener("submit", previewRoster);
  createButton.addEventListener("click", create);
}

export function show() { act(loadSheets); }
