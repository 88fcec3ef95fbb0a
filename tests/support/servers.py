"""A test HTTP server on a free loopback port, serving from a daemon thread.

The hostile servers, proxies and relays of the tests all start this way, and all provoke clients
that hang up mid-answer (a bounded read, a refused body): that is the test, not an error to print.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.port = self.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address) -> None:
        pass  # a client that hangs up is part of these tests

    def close(self) -> None:
        self.shutdown()
        self.server_close()
