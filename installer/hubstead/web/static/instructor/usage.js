// Usage: sessions and server-hours per user per day, peak servers; a table, an SVG plot
// drawn here from the JSON, and the CSV the API gives.
"use strict";

import { act, api, apiURL, fillTable } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Bars: server-hours per day (all users); a line: peak concurrent servers.
function plot(usage) {
  const hours = new Map(), peaks = new Map();
  for (const row of usage.rows) hours.set(row.date, (hours.get(row.date) || 0) + row.server_hours);
  for (const peak of usage.peaks) peaks.set(peak.date, peak.peak_servers);
  const dates = [...new Set([...hours.keys(), ...peaks.keys()])].sort();
  const width = 640, height = 240, left = 40, bottom = 30, top = 20;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "hs-plot" });
  chart.append(svg("title", {}, `Server-hours (bars) and peak servers (line) per day, last ${usage.days} days`));
  const maxHours = Math.max(1, ...hours.values()), maxPeak = Math.max(1, ...peaks.values());
  const step = (width - left - 10) / Math.max(1, dates.length);
  const y = (value, max) => height - bottom - (value / max) * (height - bottom - top);
  const points = [];
  dates.forEach((date, index) => {
    const x = left + index * step;
    const value = hours.get(date) || 0;
    chart.append(svg("rect", { x: x + step * 0.15, width: step * 0.7, y: y(value, maxHours),
                                height: height - bottom - y(value, maxHours), class: "hs-bar" }));
    chart.append(svg("text", { x: x + step / 2, y: height - 10, "text-anchor": "middle", class: "hs-axis" },
                     date.slice(5)));
    points.push(`${x + step / 2},${y(peaks.get(date) || 0, maxPeak)}`);
  });
  if (points.length) chart.append(svg("polyline", { points: points.join(" "), class: "hs-peak" }));
  chart.append(svg("text", { x: 4, y: 14, class: "hs-axis" }, `${maxHours.toFixed(1)} h`));
  chart.append(svg("text", { x: width - 4, y: 14, "text-anchor": "end", class: "hs-axis hs-peak-label" },
                   `peak ${maxPeak} servers`));
  document.getElementById("usage-plot").replaceChildren(chart);
}

async function load() {
  const days = document.getElementById("usage-days").value || "7";
  const usage = await api("GET", `usage?days=${encodeURIComponent(days)}`);
  document.getElementById("usage-csv").href = apiURL(`usage?days=${encodeURIComponent(days)}&format=csv`);
  plot(usage);
  fillTable(document.getElementById("usage-table"), usage.rows,
            (row) => [row.date, row.user, String(row.sessions), row.server_hours.toFixed(2)]);
}

export function init() {
  document.getElementById("usage-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(load, event.submitter);
  });
}

export function show() { act(load); }
