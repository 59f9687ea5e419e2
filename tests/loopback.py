"""A test's HTTP server on 127.0.0.1: an ephemeral port, served from a daemon thread, stopped and
closed on exit. Subclasses build their request handler and pass it in."""
import threading
from http.server import ThreadingHTTPServer


class LoopbackServer:
    def __init__(self, handler, path: str = ""):
        self.stop = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
