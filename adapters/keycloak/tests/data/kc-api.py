#!/usr/bin/env python3
"""A stand-in for Keycloak's admin REST API, for tests: the token endpoint
and `partial-export`, answering as Keycloak does (secrets masked, no
users), built from the real export in KC_FIXTURE.

usage: kc-api.py PORTFILE  (writes the port it listens on)
Accepts client admin-cli, user admin, password s3cret.
"""
import copy, json, os, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

TOKEN = "tok-4f1c"
realms = {r["realm"]: r for r in json.load(open(os.environ["KC_FIXTURE"]))}


def masked(r):
    r = copy.deepcopy(r)
    r.pop("users", None)
    for c in r.get("clients", []):
        if "secret" in c:
            c["secret"] = "**********"
    return r


class H(BaseHTTPRequestHandler):
    def answer(self, code, obj):
        body = json.dumps(obj, indent=2, separators=(",", " : ")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)).decode()
        if url.path == "/realms/master/protocol/openid-connect/token":
            f = urllib.parse.parse_qs(body)
            ok = f.get("client_id") == ["admin-cli"] and f.get("username") == ["admin"] and f.get("password") == ["s3cret"]
            return self.answer(200, {"access_token": TOKEN, "token_type": "Bearer"}) if ok else self.answer(401, {"error": "invalid_grant"})
        parts = url.path.split("/")
        if len(parts) == 5 and parts[1:3] == ["admin", "realms"] and parts[4] == "partial-export":
            if self.headers.get("Authorization") != "Bearer " + TOKEN:
                return self.answer(401, {"error": "HTTP 401 Unauthorized"})
            r = realms.get(parts[3])
            return self.answer(200, masked(r)) if r else self.answer(404, {"error": "Realm not found."})
        self.answer(404, {"error": "not found"})

    def log_message(self, *a):
        pass


s = HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
