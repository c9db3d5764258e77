// digitscan's page: draw or upload, POST the picture to /v1/read, show what came back.
// No libraries and nothing fetched from elsewhere: the page works offline.
"use strict";

const pad = document.getElementById("pad");
const pen = pad.getContext("2d");
const overlay = document.getElementById("overlay");
const statusLine = document.getElementById("status");
const textOut = document.getElementById("text");
const digitList = document.getElementById("digits");
const layoutSelect = document.getElementById("layout");
const pageChooser = document.getElementById("pages");
const pageSelect = document.getElementById("page");
const mainArea = document.getElementById("main");
const resultPanel = document.getElementById("result");
const seenTitle = document.getElementById("seen-title");
const panels = { drawing: document.getElementById("draw-panel"), upload: document.getElementById("upload-panel") };

let strokes = [];        // each stroke: list of [x, y] in canvas pixels, for undo
let current = null;
let debounce = null;
let lastImage = null;    // the picture last sent, for drawing the boxes over it
let requestNumber = 0;
let pagesRead = [];      // every page of the last answer (a PDF or TIFF can have several)

function clearPad() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
}

function redraw() {
  clearPad();
  pen.strokeStyle = "#000";
  pen.lineWidth = 18;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  for (const stroke of strokes) {
    pen.beginPath();
    stroke.forEach(([x, y], i) => (i ? pen.lineTo(x, y) : pen.moveTo(x, y)));
    if (stroke.length === 1) pen.lineTo(stroke[0][0] + 0.1, stroke[0][1]);
    pen.stroke();
  }
}

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return [(event.clientX - rect.left) * (pad.width / rect.width),
          (event.clientY - rect.top) * (pad.height / rect.height)];
}

pad.addEventListener("pointerdown", (event) => {
  pad.setPointerCapture(event.pointerId);
  current = [padPoint(event)];
  strokes.push(current);
  redraw();
listExamples();
});
pad.addEventListener("pointermove", (event) => {
  if (!current) return;
  current.push(padPoint(event));
  redraw();
listExamples();
  scheduleDrawingRead(600);
});
const endStroke = () => {
  if (!current) return;
  current = null;
  scheduleDrawingRead(250);
};
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("undo").addEventListener("click", () => {
  strokes.pop();
  redraw();
listExamples();
  strokes.length ? scheduleDrawingRead(0) : showEmpty();
});
document.getElementById("clear").addEventListener("click", () => {
  strokes = [];
  redraw();
listExamples();
  showEmpty();
});
pad.addEventListener("keydown", (event) => {
  if (event.key === "Escape" || event.key === "Delete") document.getElementById("clear").click();
  if ((event.ctrlKey || event.metaKey) && event.key === "z") document.getElementById("undo").click();
});

function scheduleDrawingRead(delay) {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    if (!strokes.length) return;
    pad.toBlob((blob) => readPicture(blob, "drawing.png", "drawing"), "image/png");
  }, delay);
}

function showEmpty() {
  statusLine.textContent = "Draw or upload to start.";
  statusLine.classList.remove("error");
  textOut.textContent = "";
  digitList.replaceChildren();
  seenTitle.hidden = true;
  overlay.hidden = true;
  pageChooser.hidden = true;
  mainArea.classList.remove("has-result");
  for (const panel of Object.values(panels)) panel.classList.remove("collapsed");
}

// After a read the result gets the room: the panel that was not used folds to its title
// (its button opens it again), and on a narrow screen the result is scrolled into view.
function giveResultTheRoom(source) {
  mainArea.classList.add("has-result");
  for (const [name, panel] of Object.entries(panels)) panel.classList.toggle("collapsed", name !== source);
  if (source === "drawing" && current) return;   // never move the pad under a finger
  if (source === "drawing") {
    // Just enough to show the digits read, keeping the pad on screen.
    const box = textOut.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) textOut.scrollIntoView({ block: "nearest" });
  } else if (resultPanel.getBoundingClientRect().top > window.innerHeight / 4) {
    resultPanel.scrollIntoView({ block: "start" });
  }
}

for (const button of document.querySelectorAll(".expand")) {
  button.addEventListener("click", () => document.getElementById(button.getAttribute("aria-controls")).classList.remove("collapsed"));
}

// ---- the bundled examples, one button each ------------------------------------------------

async function listExamples() {
  const response = await fetch("/examples").catch(() => null);
  if (!response || !response.ok) return;
  const names = await response.json();
  const holder = document.getElementById("examples");
  for (const name of names) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "example";
    button.textContent = name.replace(/\.png$/, "").replace(/_/g, " ");
    button.addEventListener("click", async () => {
      const picture = await fetch(`/examples/${encodeURIComponent(name)}`);
      if (picture.ok) readPicture(await picture.blob(), name, "upload");
    });
    holder.append(button);
  }
  holder.hidden = names.length === 0;
}

// ---- uploads: file picker, camera, drag and drop, paste -------------------------------

const drop = document.getElementById("drop");
for (const id of ["file", "camera"]) {
  document.getElementById(id).addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) readPicture(file, file.name, "upload");
    event.target.value = "";
  });
}
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) readPicture(file, file.name, "upload");
});
document.addEventListener("paste", (event) => {
  const item = [...event.clipboardData.items].find((i) => i.type.startsWith("image/"));
  if (item) readPicture(item.getAsFile(), "pasted image", "upload");
});
layoutSelect.addEventListener("change", () => lastImage && readPicture(lastImage.blob, lastImage.name, lastImage.source));

// ---- reading ------------------------------------------------------------------------------

async function readPicture(blob, name, source) {
  const number = ++requestNumber;
  lastImage = { blob, name, source };
  statusLine.textContent = `Reading ${name}…`;
  statusLine.classList.remove("error");
  const form = new FormData();
  form.append("file", blob, name);
  let response;
  try {
    response = await fetch(`/v1/read?inputs=true&layout=${encodeURIComponent(layoutSelect.value)}`,
                           { method: "POST", body: form });
  } catch (error) {
    if (number === requestNumber) showError(`could not reach the server (${error.message})`);
    return;
  }
  // A proxy in front of the server may answer in HTML: say so rather than fail to parse.
  const answer = await response.json().catch(() => null);
  if (number !== requestNumber) return;   // a newer picture was sent meanwhile
  if (!response.ok || answer === null) {
    const detail = answer && typeof answer.detail === "string" ? answer.detail : null;
    return showError(detail || `the server answered ${response.status} ${response.statusText}`);
  }
  pagesRead = Array.isArray(answer) ? answer : [answer];
  pageSelect.replaceChildren(...pagesRead.map((reading, i) => new Option(String(reading.page), String(i))));
  document.getElementById("page-count").textContent = `of ${pagesRead.length}`;
  pageChooser.hidden = pagesRead.length < 2;
  showPage(0);
}

pageSelect.addEventListener("change", () => showPage(Number(pageSelect.value)));

function showPage(index) {
  const reading = pagesRead[index];
  if (reading.error) return showError(reading.error, true);
  showReading(reading, lastImage.blob);
  giveResultTheRoom(lastImage.source);
}

function showError(message, keepPages = false) {
  statusLine.textContent = `Could not read ${lastImage ? lastImage.name : "this"}: ${message}`;
  statusLine.classList.add("error");
  textOut.textContent = "";
  digitList.replaceChildren();
  seenTitle.hidden = true;
  overlay.hidden = true;
  if (!keepPages) pageChooser.hidden = true;
}

function showReading(reading, blob) {
  const unsure = reading.digits.filter((d) => d.unsure).length;
  statusLine.classList.remove("error");
  const count = reading.digits.length;
  statusLine.textContent = count
    ? `${count} ${count === 1 ? "digit" : "digits"} read` + (unsure ? `, ${unsure} unsure (marked ?)` : "")
    : "No digits found.";
  seenTitle.hidden = count === 0;
  textOut.textContent = markedText(reading);
  drawOverlay(reading, blob);
  digitList.replaceChildren(...reading.digits.map(digitCard));
}

function markedText(reading) {
  let index = 0;
  return reading.lines.map((line) => [...line.text].map((ch) => {
    if (ch === " ") return ch;
    const digit = reading.digits[index++];
    return digit && digit.unsure ? ch + "?" : ch;
  }).join("")).join("\n");
}

function drawOverlay(reading, blob) {
  const picture = new Image();
  const number = requestNumber;
  // Browsers cannot show PDF pages or most TIFFs as an <img>: then the boxes go on white.
  const draw = (shown) => {
    if (number !== requestNumber) return;
    overlay.width = reading.width;
    overlay.height = reading.height;
    const g = overlay.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, reading.width, reading.height);
    if (shown && reading.page === 1) g.drawImage(picture, 0, 0, reading.width, reading.height);
    // One label size for the page (from the median digit height), white on a filled tab
    // of the box's colour, and boxes with a white edge: readable on any paper and ink.
    const heights = reading.digits.map((d) => d.box[3]).sort((a, b) => a - b);
    const median = heights.length ? heights[Math.floor(heights.length / 2)] : 20;
    const size = Math.round(Math.min(Math.max(median * 0.55, 14, reading.width / 60), reading.height / 5 + 14));
    const line = Math.max(2, Math.round(Math.max(reading.width, reading.height) / 300));
    g.font = `bold ${size}px sans-serif`;
    for (const digit of reading.digits) {
      const [x, y, w, h] = digit.box;
      const colour = digit.unsure ? "#b42318" : "#1f6feb";
      g.lineWidth = line + 2;
      g.strokeStyle = "#fff";
      g.strokeRect(x, y, w, h);
      g.lineWidth = line;
      g.strokeStyle = colour;
      g.strokeRect(x, y, w, h);
      const label = String(digit.digit) + (digit.unsure ? "?" : "");
      const pad = Math.round(size * 0.15);
      const tabW = g.measureText(label).width + 2 * pad;
      const tabH = size + pad;
      const top = y >= tabH ? y - tabH : Math.min(y + h, reading.height - tabH);
      g.fillStyle = colour;
      g.fillRect(x, top, tabW, tabH);
      g.fillStyle = "#fff";
      g.textBaseline = "top";
      g.fillText(label, x + pad, top + pad * 0.6);
    }
    overlay.setAttribute("aria-label", `The picture with the digits read marked: ${reading.text || "none"}`);
    overlay.hidden = false;
    URL.revokeObjectURL(picture.src);
  };
  picture.onload = () => draw(true);
  picture.onerror = () => draw(false);
  picture.src = URL.createObjectURL(blob);
}

function digitCard(digit) {
  const item = document.createElement("li");
  if (digit.unsure) item.classList.add("unsure");
  if (digit.network_input) {
    const seen = document.createElement("img");
    seen.src = digit.network_input;
    seen.alt = `28 by 28 input for the digit read as ${digit.digit}`;
    item.append(seen);
  }
  const answer = document.createElement("div");
  answer.className = "answer";
  answer.textContent = digit.digit + (digit.unsure ? "?" : "");
  item.append(answer, document.createTextNode(`${(digit.confidence * 100).toFixed(1)}%`));
  for (const [value, probability] of digit.top) {
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${Math.max(1, probability * 70)}px`;
    bar.append(document.createTextNode(`${value}`), fill, document.createTextNode(`${(probability * 100).toFixed(1)}%`));
    item.append(bar);
  }
  return item;
}

redraw();
listExamples();
