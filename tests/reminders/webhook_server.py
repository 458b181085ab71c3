"""A group-robot stand-in on 127.0.0.1: records every JSON body, answers with the status the test sets."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RobotServer:
    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.answer = {"errcode": 0, "errmsg": "ok"}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                server.received.append({"path": self.path, "body": body})
                payload = json.dumps(server.answer).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
