#!/usr/bin/env python3
"""Seed 000's plugin server, as its README describes it: a Python stdlib
HTTP server that lists plugins/ on every request and sends files for
/download/{id}/{version}. The peer that bench/registry/run measures patchbay
against. By default it does the least work the API allows (names and
versions from file names; no zip is opened), so the ratio is a lower bound;
READ_METADATA=1 also reads each zip's manifest for the description."""
import json
import os
import re
import sys
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PLUGIN_DIR = sys.argv[2] if len(sys.argv) > 2 else "plugins"
READ_METADATA = os.environ.get("READ_METADATA") == "1"
NAME = re.compile(r"^(?P<id>[a-z0-9_-]+)_v(?P<version>[0-9][0-9A-Za-z.+-]*)\.zip$")


def plugins():
    out = []
    for filename in sorted(os.listdir(PLUGIN_DIR)):
        m = NAME.match(filename)
        if not m:
            continue
        path = os.path.join(PLUGIN_DIR, filename)
        description = ""
        if not READ_METADATA:
            out.append(entry(m, filename, path, description))
            continue
        try:
            with zipfile.ZipFile(path) as z:
                for manifest in ("metadata.json", "plugin.json"):
                    if manifest in z.namelist():
                        description = json.loads(z.read(manifest)).get("description", "")
                        break
        except (zipfile.BadZipFile, ValueError):
            continue
        out.append(entry(m, filename, path, description))
    return out


def entry(m, filename, path, description):
    return {
        "id": m["id"],
        "name": m["id"].replace("_", " ").replace("-", " ").title(),
        "version": m["version"],
        "filename": filename,
        "size": os.path.getsize(path),
        "download_url": f"/download/{m['id']}/{m['version']}",
        "description": description,
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/api/plugins":
            body = json.dumps(plugins()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        m = re.match(r"^/download/([a-z0-9_-]+)/([0-9][0-9A-Za-z.+-]*)$", self.path)
        if m:
            path = os.path.join(PLUGIN_DIR, f"{m[1]}_v{m[2]}.zip")
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    data = f.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
