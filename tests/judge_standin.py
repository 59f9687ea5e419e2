"""A chat-completions stand-in on 127.0.0.1 for the judge paths of every stage's tests.

Answers by reading the prompt: GOOD beats OK beats BAD (of two whole conversations, the one with more
GOOD less BAD); BIASED makes the judge always pick Answer (or Conversation) A;
CONFUSE gets an answer with no verdict; asked for a prompt's flags, HARM, FORMAT and ODD in it mean
safety, format_constraint and ood; queued faults (429 with Retry-After, "429:<seconds>" for
another Retry-After, 500, 401, a malformed body, a slow answer, "noverdict" for a 200 whose text holds
no verdict; None for a normal answer) are played
one request each. Every request is recorded with what it was for: its kind (pairwise, absolute,
safety, likert, flags, dialogue, conversation, or generate for a system answering) and the task (the
user's prompt; for a conversation its first user message).
"""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandIn:
    """A chat-completions server: answers by reading the prompt (GOOD beats OK beats BAD; BIASED
    makes the judge always pick Answer A; CONFUSE gets an answer with no verdict), after playing
    the queued faults one request each."""

    def __init__(self):
        self.requests, self.faults, self.lock = [], [], threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                kind, task = stand_in.purpose(body["messages"])
                with stand_in.lock:
                    stand_in.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                              "body": body, "t": time.monotonic(), "kind": kind, "task": task})
                    fault = stand_in.faults.pop(0) if stand_in.faults else None
                try:
                    if fault and fault.startswith("429"):
                        seconds = fault.partition(":")[2] or "1"
                        return self.reply(429, b'{"error": "slow down"}', {"Retry-After": seconds})
                    if fault == "500":
                        return self.reply(500, b'{"error": "oops"}')
                    if fault == "401":
                        return self.reply(401, b'{"error": "bad key"}')
                    if fault == "malformed":
                        return self.reply(200, b'{"choices": [{"mess')
                    if fault == "slow":
                        time.sleep(1.5)
                    text = ("Service busy: please try again later." if fault == "noverdict"    # a 200 with no verdict
                            else stand_in.answer(body["messages"]))
                    data = {"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                            "usage": {"completion_tokens": len(text.split())}}
                    self.reply(200, json.dumps(data).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def reply(self, code, payload, headers=None):
                self.send_response(code)
                for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def grade(text):
        return 3 if "GOOD" in text else 2 if "OK" in text else 1

    @staticmethod
    def purpose(messages):
        """(kind, task): which judgment a request asks for, or "generate", and about which prompt."""
        text = messages[-1]["content"]

        def between(start, end):
            return text.split(start, 1)[1].split(end, 1)[0] if start in text else None

        if "\nConversation A:\n" in text:
            return "conversation", between("Conversation A:\nUser: ", "\n\nAssistant: ")
        if text.startswith("Imagine that you have a super-intelligent AI assistant"):
            return "pairwise", between("Question: ", "\nAnswer A:\n")
        if "Conversation so far:" in text:
            return "dialogue", between("The user's latest message: ", "\n\nReply:\n")
        if "Label the reply" in text:
            return "absolute", between("Request: ", "\n\nReply:\n")
        if "sensitive topic" in text:
            return "safety", between("Request: ", "\n\nReply:\n")
        if "[Criterion: helpfulness]" in text:
            return "likert", between("[Task]\n", "\n\n[Submission]\n")
        if "Answer three yes/no questions about the request" in text:
            return "flags", between("Request: ", "\n\n1. safety:")
        return "generate", text

    @staticmethod
    def verdict(a, b, noun, ga, gb):
        """A pairwise answer about `a` and `b` (noun "Answer" or "Conversation"), in varied wordings."""
        if "CONFUSE" in a + b:
            return f"Both {noun.lower()}s have merits and flaws; I find it hard to say."
        if "BIASED" in a + b:
            return f"{noun} A is significantly better."
        return (f"**{noun} A is significantly better.**" if ga > gb else
                f"Thinking it over: {noun} B is significantly better." if gb > ga else
                "◼ Neither is significantly better.")

    def answer(self, messages):
        text = messages[-1]["content"]
        if "\nConversation A:\n" in text:
            a = text.split("\nConversation A:\n", 1)[1].split("\nConversation B:\n", 1)[0]
            b = text.split("\nConversation B:\n", 1)[1].split("\nComparing these two conversations", 1)[0]
            return self.verdict(a, b, "Conversation", *(t.count("GOOD") - t.count("BAD") for t in (a, b)))
        if text.startswith("Imagine that you have a super-intelligent AI assistant"):
            a = text.split("Answer A:\n", 1)[1].split("\nAnswer B:\n", 1)[0]
            b = text.split("\nAnswer B:\n", 1)[1].split("\nComparing these two answers", 1)[0]
            return self.verdict(a, b, "Answer", self.grade(a), self.grade(b))
        if "Label the reply" in text:
            reply = text.split("Reply:\n", 1)[1]
            return "Reasoning here.\nLabel: " + {3: "Excellent", 2: "Pass", 1: "Fail"}[self.grade(reply)]
        if "sensitive topic" in text:
            reply = text.split("Reply:\n", 1)[1]
            return "Because...\nDecision: " + ("safe" if "cannot help" in reply else "unsafe")
        if "[Criterion: helpfulness]" in text:
            sub = text.split("[Submission]\n", 1)[1]
            n = {3: 6, 2: 4, 1: 1}[self.grade(sub)]
            return f"Step 1: the task.\nStep 2: the submission.\n{n}\n{n}"
        if "Answer three yes/no questions about the request" in text:
            task = text.split("Request: ", 1)[1].split("\n\n1. safety:", 1)[0]
            if "CONFUSE" in task:
                return "I would rather not say."
            yes = lambda marker: "yes" if marker in task else "no"      # noqa: E731
            return f"Because...\nsafety: {yes('HARM')}\nformat_constraint: {yes('FORMAT')}\nood: {yes('ODD')}"
        # a system answering a prompt: the prompt says what to say
        m = re.search(r"say (.+)$", text)
        return m.group(1) if m else "no idea"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
