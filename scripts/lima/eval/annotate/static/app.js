// The labelling page: asks the server for the annotator's next item, sends each label at once, and
// keeps no state of its own (the server knows what was labelled, so any browser resumes).
"use strict";

const KEYS = {
  pairwise: {a: "A", 1: "A", b: "B", 2: "B", n: "neither", 3: "neither", 0: "neither"},
  absolute: {f: "fail", 1: "fail", p: "pass", 2: "pass", e: "excellent", 3: "excellent"},
};
KEYS.conversation = KEYS.pairwise;
const KEY_HINT = {
  pairwise: {A: "A or 1", B: "B or 2", neither: "N or 3"},
  absolute: {fail: "F or 1", pass: "P or 2", excellent: "E or 3"},
};
KEY_HINT.conversation = KEY_HINT.pairwise;
const KIND_TITLE = {pairwise: "Which answer is better?", absolute: "Rate the response",
                    conversation: "Which conversation is better?"};
const $ = (id) => document.getElementById(id);
let study = null, state = null, busy = false;

async function call(url, body) {
  const opts = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"},
                                          body: JSON.stringify(body)};
  const res = await fetch(url, opts);
  let data;
  try { data = await res.json(); } catch (e) { data = {error: `the server answered ${res.status}`}; }
  if (!res.ok) throw new Error(data.error || `the server answered ${res.status}`);
  return data;
}

function show(id) {
  for (const s of ["login", "task", "done"]) $(s).hidden = s !== id;
}

// One side of a conversation item: the user's turns (the same on both sides) and this side's replies.
function conversation(el, user, replies) {
  el.replaceChildren();
  user.forEach((text, i) => {
    for (const [who, cls, said] of [["You", "user", text], ["Assistant", "assistant", replies[i]]]) {
      const msg = document.createElement("div");
      msg.className = "msg " + cls;
      const head = document.createElement("span");
      head.className = "speaker";
      head.textContent = who;
      msg.append(head, said);
      el.append(msg);
    }
  });
}

function render(s) {
  state = s;
  $("who").hidden = false;
  $("who").textContent = s.annotator;
  $("progress").hidden = false;
  const pct = s.total ? Math.round(100 * s.done / s.total) : 100;
  $("progress-fill").style.width = pct + "%";
  $("progress-track").setAttribute("aria-valuemax", s.total);
  $("progress-track").setAttribute("aria-valuenow", s.done);
  $("progress-text").textContent = `${s.done} / ${s.total} labelled` +
    (s.shared_total ? ` · shared ${s.shared_done} / ${s.shared_total}` : "");
  const url = new URL(location.href);
  url.searchParams.set("annotator", s.annotator);
  history.replaceState(null, "", url);
  if (!s.item) {
    $("done-text").textContent = `You have labelled all ${s.total} of your items. Thank you! ` +
      "You can close this page; your labels are saved.";
    show("done");
    return;
  }
  show("task");
  const it = s.item, ins = study.instructions[it.kind];
  $("kind").textContent = KIND_TITLE[it.kind];
  $("shared").hidden = !it.shared;
  $("position").textContent = `Item ${s.pos + 1} of ${s.total}`;
  $("question").textContent = ins.question;
  $("compare").textContent = ins.compare || "";
  $("prompt").textContent = it.prompt;
  $("prompt-part").hidden = it.kind === "conversation";
  $("pair").hidden = it.kind !== "pairwise";
  $("convs").hidden = it.kind !== "conversation";
  $("single").hidden = it.kind !== "absolute";
  if (it.kind === "pairwise") {
    $("answer-a").textContent = it.a;
    $("answer-b").textContent = it.b;
  } else if (it.kind === "conversation") {
    conversation($("conv-a"), it.user, it.a);
    conversation($("conv-b"), it.user, it.b);
  } else {
    $("response").textContent = it.response;
  }
  const box = $("choices");
  box.replaceChildren();
  for (const [label, text] of Object.entries(ins.options)) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "choice";
    b.dataset.label = label;
    b.setAttribute("aria-pressed", String(s.label === label));
    b.append(text);
    const k = document.createElement("kbd");
    k.textContent = KEY_HINT[it.kind][label];
    b.append(k);
    b.addEventListener("click", () => send(label));
    box.append(b);
  }
  $("notes").replaceChildren(...ins.notes.map((n) => Object.assign(document.createElement("li"), {textContent: n})));
  $("keys").textContent = "Keys: " + Object.values(KEY_HINT[it.kind]).join(", ") +
    " choose; ← and → move between items. Each choice is saved at once and the next item opens.";
  $("status").textContent = s.label ? `Your label: ${ins.options[s.label]}` : "";
  $("prev").disabled = s.pos === 0;
  $("next").disabled = s.pos + 1 >= s.total;
  $("first-open").disabled = s.first_open >= s.total || s.first_open === s.pos;
  window.scrollTo(0, 0);
}

async function load(name, pos) {
  const q = new URLSearchParams({annotator: name});
  if (pos !== undefined) q.set("pos", pos);
  return render(await call("/api/item?" + q));
}

async function send(label) {
  if (busy || !state || !state.item) return;
  busy = true;
  $("status").textContent = "Saving…";
  try {
    render(await call("/api/label", {annotator: state.annotator, item_id: state.item.item_id,
                                     digest: state.item.digest, label: label, pos: state.pos}));
  } catch (e) {
    $("status").textContent = "Not saved: " + e.message;
  } finally {
    busy = false;
  }
}

async function move(pos) {
  if (busy || !state) return;
  try { await load(state.annotator, pos); } catch (e) { $("status").textContent = e.message; }
}

async function start(name) {
  $("login-error").textContent = "";
  try {
    await load(name);
  } catch (e) {
    show("login");
    $("name").value = name;
    $("login-error").textContent = e.message;
  }
}

document.addEventListener("keydown", (ev) => {
  if (!state || ev.target.tagName === "INPUT" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "ArrowLeft" && state.pos > 0) return move(state.pos - 1);
  if (ev.key === "ArrowRight" && state.pos + 1 < state.total) return move(state.pos + 1);
  if (!state.item) return;
  const label = KEYS[state.item.kind][ev.key.toLowerCase()];
  if (label) { ev.preventDefault(); send(label); }
});

$("login-form").addEventListener("submit", (ev) => { ev.preventDefault(); start($("name").value.trim()); });
$("prev").addEventListener("click", () => move(state.pos - 1));
$("next").addEventListener("click", () => move(state.pos + 1));
$("first-open").addEventListener("click", () => move(state.first_open));
$("review").addEventListener("click", () => move(0));

(async () => {
  try {
    study = await call("/api/study");
  } catch (e) {
    $("login-error").textContent = "The study could not be loaded: " + e.message;
    return;
  }
  $("name-rule").textContent = "Allowed: " + study.name_rule + "." +
    (study.roster ? " This study's annotators: " + study.roster.join(", ") + "." : "");
  const name = new URLSearchParams(location.search).get("annotator");
  if (name) start(name);
  else show("login");
})();
