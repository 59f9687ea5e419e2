"""The labelling page: a standard-library HTTP server on 127.0.0.1 and a small JSON API behind the
page in `static/`.

The server holds no state of its own: what an annotator has labelled is read from the label store
on each request (cached on the file's size and time), so closing the browser, opening another, or
restarting the server resumes where the annotator stopped, and labels imported from a CSV meanwhile
count too. Every label is appended and fsynced before the answer goes back.

API (JSON): GET /api/study; GET /api/item?annotator=NAME[&pos=N] (the item at N, by default the first
one not yet labelled, with progress); POST /api/label {annotator, item_id, digest, label, pos}.
A bad request gets a 400 with {"error": "<one line for the page>"}.
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from lima.eval.annotate.labels import LabelStore, latest
from lima.eval.annotate.study import LABELS, NAME_RULE, check_name, queue
from lima.eval.judge.prompts import CONVERSATION_TEMPLATE

log = logging.getLogger("lima.annotate")

# Appendix C: the question and the three options exactly as the paper words them (the judge's
# template quotes the same text, tests/test_annotate.py checks both agree); the rest is ours.
PAPER_QUESTION = ("Imagine that you have a super-intelligent AI assistant, and that you require help with the "
                  "following question. Which answer best satisfies your needs?")
PAPER_OPTIONS = {"A": "Answer A is significantly better.", "B": "Answer B is significantly better.",
                 "neither": "Neither is significantly better."}
INSTRUCTIONS = {
    "pairwise": {"question": PAPER_QUESTION, "compare": "Comparing these two answers, which answer is better?",
                 "options": PAPER_OPTIONS,
                 "notes": ["Read the question as if you had asked it yourself, and judge which answer would help "
                           "you more.",
                           "Choose \u201cneither\u201d when the two are about equally good or equally bad; choose an "
                           "answer only when it is clearly better.",
                           "The answers come from different AI systems, shown in a random order."]},
    "absolute": {"question": "Does this response meet the requirements of the prompt?",
                 "options": {"fail": "Fail: the response does not meet the requirements of the prompt.",
                             "pass": "Pass: the response meets the requirements of the prompt.",
                             "excellent": "Excellent: the response meets them and is an excellent answer."},
                 "notes": ["Judge the response as the person who wrote the prompt."]},
}
# §6: the judge's whole-conversation question and options (ours, adapted from Appendix C), read out of
# its template so the page and the judge ask the same.
_CONV_HEAD, _CONV_TAIL = CONVERSATION_TEMPLATE.split("\nConversation A:\n")[0], CONVERSATION_TEMPLATE.split("?\n◼")[0]
INSTRUCTIONS["conversation"] = {
    "question": " ".join(_CONV_HEAD.split()),
    "compare": _CONV_TAIL.rsplit("\n", 1)[1] + "?",
    "options": dict(zip(("A", "B", "neither"), (ln.lstrip("◼ ") for ln in CONVERSATION_TEMPLATE.splitlines()
                                                 if ln.startswith("◼")))),
    "notes": ["Your messages were written in advance and are the same on both sides; read each assistant's replies "
              "as if you had held that conversation yourself, and judge the conversation as a whole.",
              "Choose \u201cneither\u201d when the two are about equally good or equally bad; choose a conversation "
              "only when it is clearly better.",
              "The conversations come from different AI systems, shown in a random order."]}
STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/index.html": ("index.html", "text/html; charset=utf-8"),
          "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/static/style.css": ("style.css", "text/css; charset=utf-8")}
MAX_BODY = 64 * 1024


class BadRequest(Exception):
    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


class Study:
    """The study as the page sees it: items, queues per annotator, and the store."""

    def __init__(self, study: dict, items: list[dict], store: LabelStore):
        self.study, self.items, self.store = study, items, store
        self.by_id = {it["item_id"]: it for it in items}
        self.roster = study.get("annotators")
        self._queues: dict[str, list[dict]] = {}

    def queue_of(self, name) -> list[dict]:
        problem = check_name(name)
        if problem:
            raise BadRequest(problem)
        if self.roster and name not in self.roster:
            raise BadRequest(f"{name!r} is not on this study's roster ({', '.join(self.roster)})", HTTPStatus.FORBIDDEN)
        if name not in self._queues:
            self._queues[name] = queue(self.items, name, self.study.get("seed", 0))
        return self._queues[name]

    def state(self, name: str, pos: int | None = None, after: int | None = None) -> dict:
        """Progress and the item at `pos`; without `pos`, the first unlabelled one after `after`
        (wrapping round), or the first unlabelled one at all."""
        q = self.queue_of(name)
        rows, _ = self.store.rows()
        have = latest(rows)
        labels = [have.get((name, it["item_id"])) for it in q]
        labels = [r["label"] if r and r.get("digest") in (None, it["digest"]) else None for r, it in zip(labels, q)]
        open_ = [i for i, lab in enumerate(labels) if lab is None]
        if pos is None:
            later = [i for i in open_ if after is not None and i > after]
            pos = (later or open_ or [len(q)])[0]
        if not 0 <= pos <= len(q):
            raise BadRequest(f"position {pos} is outside 0..{len(q)}")
        shared = [lab for lab, it in zip(labels, q) if it["shared"]]
        item = None
        if pos < len(q):
            it = q[pos]
            item = {k: it[k] for k in ("item_id", "kind", "prompt", "digest", "shared")}
            item.update({"response": it["response"]} if it["kind"] == "absolute" else {"a": it["a"], "b": it["b"]})
            if it["kind"] == "conversation":
                item["user"] = it["user"]
        return {"annotator": name, "total": len(q), "done": len(q) - len(open_), "pos": pos,
                "shared_total": len(shared), "shared_done": sum(lab is not None for lab in shared),
                "first_open": open_[0] if open_ else len(q), "item": item,
                "label": labels[pos] if pos < len(q) else None}

    def label(self, body: dict) -> dict:
        name = body.get("annotator")
        q = self.queue_of(name)
        item = self.by_id.get(body.get("item_id"))
        if item is None or item not in q:
            raise BadRequest(f"item {str(body.get('item_id'))[:80]!r} is not one of {name}'s items")
        if body.get("digest") != item["digest"]:
            raise BadRequest("this item changed since the page loaded it: reload the page")
        if body.get("label") not in LABELS[item["kind"]]:
            raise BadRequest(f"label must be one of {', '.join(LABELS[item['kind']])}")
        self.store.append({"item_id": item["item_id"], "digest": item["digest"], "annotator": name,
                           "label": body["label"], "source": "web"})
        return self.state(name, after=q.index(item))


def make_handler(study: Study):
    class Handler(BaseHTTPRequestHandler):
        server_version = "lima-annotate"
        timeout = 30                                   # an idle connection does not hold a thread for ever

        def log_message(self, fmt, *args):
            log.debug("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj) -> None:
            self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

        def _api(self, fn) -> None:
            try:
                self._json(HTTPStatus.OK, fn())
            except BadRequest as e:
                self._json(e.status, {"error": str(e)})

        def _foreign_host(self) -> bool:
            """A page from another site reaching 127.0.0.1 through DNS rebinding names its own host."""
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
            if host in ("127.0.0.1", "localhost", "::1"):
                return False
            self._json(HTTPStatus.FORBIDDEN, {"error": "open this page as http://127.0.0.1:<port>/"})
            return True

        def do_GET(self):
            if self._foreign_host():
                return
            url = urlsplit(self.path)
            if url.path in STATIC:
                name, ctype = STATIC[url.path]
                self._send(HTTPStatus.OK, resources.files(__package__).joinpath("static", name).read_bytes(), ctype)
            elif url.path == "/api/study":
                self._api(lambda: {"instructions": INSTRUCTIONS, "roster": study.roster, "name_rule": NAME_RULE,
                                   "n_items": study.study["n_items"]})
            elif url.path == "/api/item":
                query = parse_qs(url.query)
                pos = query.get("pos", [None])[0]

                def item():
                    try:
                        p = None if pos in (None, "") else int(pos)
                    except ValueError:
                        raise BadRequest("pos must be a whole number") from None
                    return study.state(query.get("annotator", [""])[0], p)
                self._api(item)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {url.path[:80]}"})

        def do_POST(self):
            if self._foreign_host():
                return
            if urlsplit(self.path).path != "/api/label":
                return self._json(HTTPStatus.NOT_FOUND, {"error": "no such endpoint"})
            declared = (self.headers.get("Content-Length") or "0").strip()
            if not (declared.isascii() and declared.isdigit()):    # "-1" would read to the end of the stream
                return self._json(HTTPStatus.BAD_REQUEST, {"error": "Content-Length must be a whole number of bytes"})
            length = int(declared)
            if length > MAX_BODY:
                return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "request too large"})
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": "the request is not JSON"})
            if not isinstance(body, dict):
                return self._json(HTTPStatus.BAD_REQUEST, {"error": "the request is not a JSON object"})
            self._api(lambda: study.label(body))

    return Handler


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 reset about 1% of label posts when many browsers saved at once.
    request_queue_size = 128


def make_server(study: Study, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A bound server (port 0: a free one); `serve_forever()` runs it."""
    return _Server((host, port), make_handler(study))


def serve(study: Study, port: int, host: str = "127.0.0.1", announce=print) -> None:
    """Serve until Ctrl-C, then wait for a label being written and stop: nothing left running, no
    half-written line."""
    httpd = make_server(study, host, port)
    announce(f"Annotation page: http://{host}:{httpd.server_address[1]}/  (Ctrl-C to stop)")
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        study.store.close()
        httpd.server_close()
