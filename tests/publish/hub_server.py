"""A small local stand-in for the Hub's HTTP API, recording every request huggingface_hub makes to it.

It answers the calls `create_repo` and `upload_folder` make (repo creation, pre-upload, commit) the way the Hub
documents them; `fail` makes one route answer an error status, as the Hub does for a taken name.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HubServer:
    requests: list[Recorded] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # path fragment -> status
    committed: dict[str, bytes] = field(default_factory=dict)

    def start(self) -> str:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                hub.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
                status, payload = hub.answer(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_HEAD = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict]:
        for fragment, status in self.fail.items():
            if fragment in path:
                return status, {"error": f"refused by the test server ({status})"}
        if path == "/api/repos/create":
            repo = json.loads(body)
            return 200, {"url": f"{self.url}/{repo.get('organization') or 'me'}/{repo['name']}"}
        if path == "/api/validate-yaml":  # the Hub checks a README's front matter before the commit
            import yaml

            content = json.loads(body)["content"]
            ok = content.startswith("---\n") and isinstance(yaml.safe_load(content.split("---\n")[1]), dict)
            return (200, {}) if ok else (400, {"error": "invalid YAML front matter"})
        if "/preupload/" in path:
            files = json.loads(body)["files"]
            return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                   for f in files]}
        if "/commit/" in path:
            for line in body.splitlines():
                item = json.loads(line)
                if item.get("key") == "file":
                    self.committed[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            repo = path.removeprefix("/api/models/").split("/commit/")[0]
            return 200, {"commitUrl": f"{self.url}/{repo}/commit/{'1' * 40}", "commitOid": "1" * 40}
        return 404, {"error": f"not served by the test server: {method} {path}"}
