// The results browser: reads the data embedded in the page and draws the chosen question, answers and
// judgments. Every text from the data goes in through textContent, never as HTML.
"use strict";

const DATA = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const state = { bench: 0, category: "", question: null, models: [], search: "", judgedOnly: false };
let index = null; // per bench: question id -> judgments

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const bench = () => DATA.benches[state.bench];

function buildIndex() {
  index = DATA.benches.map((b) => {
    const byQ = new Map();
    for (const j of b.judgments) {
      if (!byQ.has(j.qid)) byQ.set(j.qid, []);
      byQ.get(j.qid).push(j);
    }
    return byQ;
  });
}

function involved(j) {
  return j.kind === "single" ? [j.model] : [j.model_1, j.model_2];
}

function judgmentsShown(qid) {
  const chosen = new Set(state.models);
  return (index[state.bench].get(qid) || []).filter((j) => involved(j).every((m) => chosen.has(m)));
}

function defaultModels(b) {
  const pair = b.judgments.find((j) => j.kind === "pair");
  if (pair) return [pair.model_1, pair.model_2];
  const judged = [...new Set(b.judgments.map((j) => j.model))];
  return (judged.length ? judged : b.models).slice(0, 2);
}

function filteredQuestions() {
  const b = bench();
  const text = state.search.trim().toLowerCase();
  return b.questions.filter((q) =>
    (!state.category || q.category === state.category) &&
    (!text || q.turns.join("\n").toLowerCase().includes(text)) &&
    (!state.judgedOnly || judgmentsShown(q.id).length > 0));
}

function short(text, n) {
  const one = text.replace(/\s+/g, " ");
  return one.length > n ? one.slice(0, n - 1) + "…" : one;
}

// ---- controls ----

function fillSelect(select, options, value) {
  select.replaceChildren(...options.map(([v, label]) => el("option", { value: v }, label)));
  select.value = value;
}

function drawControls() {
  const b = bench();
  fillSelect($("bench"), DATA.benches.map((x, i) => [String(i), `${x.name} (${x.questions.length} questions)`]),
    String(state.bench));
  const cats = [...new Set(b.questions.map((q) => q.category))];
  if (state.category && !cats.includes(state.category)) state.category = "";
  fillSelect($("category"), [["", "all categories"], ...cats.map((c) => [c, c])], state.category);
  const qs = filteredQuestions();
  if (!qs.some((q) => q.id === state.question)) state.question = qs.length ? qs[0].id : null;
  fillSelect($("question"), qs.map((q) => [q.id, `${q.id} · ${q.category} · ${short(q.turns[0], 60)}`]),
    state.question ?? "");
  $("models").replaceChildren(...b.models.map((m) => {
    const box = el("input", { type: "checkbox", value: m, checked: state.models.includes(m) });
    box.addEventListener("change", () => {
      state.models = b.models.filter((x) => x === m ? box.checked : state.models.includes(x));
      update();
    });
    return el("label", {}, box, " ", m);
  }));
  $("judged-only").checked = state.judgedOnly;
  $("search").value = state.search;
  const at = qs.findIndex((q) => q.id === state.question);
  $("prev").disabled = at <= 0;
  $("next").disabled = at < 0 || at >= qs.length - 1;
}

// ---- content ----

function turnBlocks(turns, label) {
  return turns.flatMap((t, i) => [el("div", { class: "meta" }, `${label} ${i + 1}`), el("div", { class: "turn" }, t)]);
}

function drawQuestion(q) {
  const parts = [el("h2", {}, `Question ${q.id} · ${q.category}`), turnBlocks(q.turns, "Turn")];
  if (q.reference) {
    parts.push(el("details", {}, el("summary", {}, "reference answer"), turnBlocks(q.reference, "Turn")));
  }
  $("question-panel").replaceChildren(...parts.flat());
}

function scoreText(js) {
  return js.map((j) => (j.failed ? `turn ${j.turn}: failed` : `turn ${j.turn}: ${j.score}`)).join(", ");
}

function drawAnswers(q, shown) {
  const b = bench();
  const cards = state.models.map((m) => {
    const turns = (b.answers[m] || {})[q.id];
    const singles = shown.filter((j) => j.kind === "single" && j.model === m);
    return el("article", { class: "answer", "data-model": m },
      el("h3", {}, el("span", {}, m), singles.length ? el("span", { class: "meta" }, `score ${scoreText(singles)}`) : null),
      turns ? turnBlocks(turns, "Turn") : el("p", { class: "missing" }, "no answer to this question"));
  });
  $("answers").replaceChildren(...(cards.length ? cards : [el("p", { class: "missing" }, "Choose models above.")]));
}

function explanation(text, summary) {
  return el("details", {}, el("summary", {}, summary), el("div", { class: "judgment" }, text || "(empty)"));
}

function drawSingle(shown) {
  const singles = shown.filter((j) => j.kind === "single");
  const head = el("h2", {}, `Single-answer judgments (${singles.length})`);
  if (!singles.length) {
    $("single").replaceChildren(head, el("p", { class: "missing" }, "No single-answer judgment of the chosen models for this question."));
    return;
  }
  const rows = singles.map((j) => el("tr", {},
    el("td", {}, j.model), el("td", {}, String(j.turn)),
    el("td", {}, j.failed ? el("span", { class: "verdict failed" }, "failed") : el("span", { class: "score" }, String(j.score))),
    el("td", {}, `${j.judge} (${j.prompt})`, el("div", { class: "meta" }, j.file)),
    el("td", {}, j.failed && j.error ? el("div", { class: "missing" }, j.error) : null,
      explanation(j.judgment, "judge's explanation"))));
  $("single").replaceChildren(head, el("table", {},
    el("thead", {}, el("tr", {}, ["model", "turn", "score", "judge", "explanation"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows)));
}

function verdictBadge(winner, j, shownFirst) {
  // winner is in model terms: model_1 / model_2 / tie / null (failed); the letter is what the judge wrote
  if (!winner || winner === "error") return el("span", { class: "verdict failed" }, "no verdict");
  if (winner === "tie") return el("span", { class: "verdict tie" }, "tie");
  return el("span", { class: "verdict win" }, `${j[winner]} wins (${winner === shownFirst ? "A" : "B"})`);
}

function game(j, which) {
  const first = which === 1 ? j.model_1 : j.model_2;
  const second = which === 1 ? j.model_2 : j.model_1;
  const winner = j[`g${which}_winner`];
  return el("div", { class: "game", "data-game": String(which) },
    el("h3", {}, `Game ${which}: A = ${first}, B = ${second}`),
    el("div", {}, "verdict: ", verdictBadge(winner, j, which === 1 ? "model_1" : "model_2")),
    el("div", { class: "judgment" }, j[`g${which}_judgment`] || "(empty)"));
}

function resultLine(j) {
  if (j.failed) return el("p", {}, el("span", { class: "verdict failed" }, "failed"), " ", j.error || "no verdict");
  if (j.result === "tie") {
    const why = j.g1_winner === j.g2_winner ? "both orders say tie" : "the two orders disagree, so it counts as a tie";
    return el("p", {}, "Result: ", el("span", { class: "verdict tie" }, "tie"), ` (${why})`);
  }
  return el("p", {}, "Result: ", el("span", { class: "verdict win" }, `${j[j.result]} wins`), " (both orders agree)");
}

function drawPairwise(shown) {
  const pairs = shown.filter((j) => j.kind === "pair");
  const head = el("h2", {}, `Pairwise judgments (${pairs.length})`);
  if (!pairs.length) {
    $("pairwise").replaceChildren(head, el("p", { class: "missing" }, "No pairwise judgment between the chosen models for this question."));
    return;
  }
  $("pairwise").replaceChildren(head, ...pairs.map((j) => el("article", { class: "game-pair" },
    el("h3", {}, `${j.model_1} vs ${j.model_2} · turn ${j.turn} · judge ${j.judge} (${j.prompt})`),
    el("div", { class: "meta" }, j.file),
    resultLine(j),
    el("div", { class: "games" }, game(j, 1), game(j, 2)))));
}

function drawContent() {
  const q = bench().questions.find((x) => x.id === state.question);
  $("empty").hidden = Boolean(q);
  for (const id of ["question-panel", "answers", "single", "pairwise"]) $(id).hidden = !q;
  if (!q) return;
  const shown = judgmentsShown(q.id);
  drawQuestion(q);
  drawAnswers(q, shown);
  drawSingle(shown);
  drawPairwise(shown);
}

// ---- state <-> address bar, so a view can be bookmarked or shared ----

function writeHash() {
  const p = new URLSearchParams({ bench: bench().name, q: state.question ?? "", models: state.models.join(",") });
  if (state.category) p.set("category", state.category);
  history.replaceState(null, "", "#" + p.toString());
}

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const at = DATA.benches.findIndex((b) => b.name === p.get("bench"));
  if (at >= 0) state.bench = at;
  const b = bench();
  state.category = p.get("category") || "";
  state.question = p.get("q") || null;
  const models = (p.get("models") || "").split(",").filter((m) => b.models.includes(m));
  state.models = models.length ? models : defaultModels(b);
}

function update() {
  drawControls();
  drawContent();
  writeHash();
}

function step(delta) {
  const qs = filteredQuestions();
  const at = qs.findIndex((q) => q.id === state.question);
  const to = qs[at + delta];
  if (to) { state.question = to.id; update(); }
}

function start() {
  buildIndex();
  if (!DATA.benches.length) { $("empty").hidden = false; $("empty").textContent = "No benches in the data."; return; }
  readHash();
  $("bench").addEventListener("change", (e) => {
    state.bench = Number(e.target.value);
    state.category = ""; state.question = null; state.models = defaultModels(bench());
    update();
  });
  $("category").addEventListener("change", (e) => { state.category = e.target.value; update(); });
  $("question").addEventListener("change", (e) => { state.question = e.target.value; update(); });
  $("search").addEventListener("input", (e) => { state.search = e.target.value; update(); });
  $("judged-only").addEventListener("change", (e) => { state.judgedOnly = e.target.checked; update(); });
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if (e.key === "ArrowRight") step(1);
    if (e.key === "ArrowLeft") step(-1);
  });
  update();
}

start();
