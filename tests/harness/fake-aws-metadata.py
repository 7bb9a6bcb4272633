#!/usr/bin/env python3
"""A fake of the AWS credential services, on 127.0.0.1 only, for ddbfs's credential tests
(Python 3 standard library only).

    fake-aws-metadata.py STATE_DIR [--watch-pid PID]

Listens on 127.0.0.1 and a free port, writes the port to STATE_DIR/port, and serves:

  EC2 instance metadata (IMDS)
    PUT  /latest/api/token                              -> a session token (IMDSv2)
    GET  /latest/meta-data/iam/security-credentials/    -> the role's name
    GET  /latest/meta-data/iam/security-credentials/R   -> credentials JSON
  container credentials (ECS / EKS)
    GET  /container/ANYTHING                            -> credentials JSON
  STS
    POST /sts/ or /  Action=AssumeRoleWithWebIdentity   -> XML answer or <Error>

Behaviour is scripted by STATE_DIR/scenario.json, read again on every request (write it with a
rename; missing keys take the defaults below), and every request is appended to STATE_DIR/log.jsonl
as one JSON object: method, path, headers (lower-cased names), body, status.

  {"imds": {"token": "required" | "optional" | "refused",  # refused: PUT answers 403 (IMDSv1)
            "role": "ddbfs-role" | null,                    # null: no role (404)
            "status": 200, "expire_in": 21600, "delay": 0},
   "container": {"auth": null | "the Authorization value required",
                 "status": 200, "expire_in": 21600, "delay": 0},
   "sts": {"token": null | "the WebIdentityToken required", "status": 200,
           "error": null | {"code": "...", "message": "..."}, "expire_in": 3600, "delay": 0,
           "secret_xml": null | "the SecretAccessKey as written in the XML (entities allowed)"}}

Credentials handed out are numbered per service, so a test sees a refresh: AccessKeyId
ASIAFAKE<IMDS|CONT|STS><n>, SecretAccessKey FAKESECRET<...>, Token FAKETOKEN<...>. Tests check
that no FAKESECRET or FAKETOKEN ever reaches a message or a log. expire_in is seconds from now.
"""

import datetime
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    "imds": {"token": "required", "role": "ddbfs-role", "status": 200, "expire_in": 21600,
             "delay": 0},
    "container": {"auth": None, "status": 200, "expire_in": 21600, "delay": 0},
    "sts": {"token": None, "status": 200, "error": None, "expire_in": 3600, "delay": 0,
            "secret_xml": None},
}


class State:
    def __init__(self, state_dir):
        self.dir = state_dir
        self.lock = threading.Lock()
        self.counters = {}
        self.imds_tokens = set()

    def scenario(self, service):
        out = dict(DEFAULTS[service])
        try:
            with open(os.path.join(self.dir, "scenario.json"), encoding="utf-8") as f:
                out.update(json.load(f).get(service) or {})
        except FileNotFoundError:
            pass
        return out

    def next(self, name):
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + 1
            return self.counters[name]

    def log(self, entry):
        with self.lock:
            try:
                with open(os.path.join(self.dir, "log.jsonl"), "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
            except FileNotFoundError:  # a slow answer after the test removed the directory
                pass


def iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def credentials(state, tag, expire_in):
    n = state.next(tag)
    return {"AccessKeyId": f"ASIAFAKE{tag}{n}", "SecretAccessKey": f"FAKESECRET{tag}{n}/x+y",
            "Token": f"FAKETOKEN{tag}{n}==", "Expiration": iso(time.time() + expire_in)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):  # quiet: the log file says what happened
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8", errors="replace") if n else ""

    def _answer(self, status, body, ctype="application/json", body_in=""):
        data = body.encode() if isinstance(body, str) else body
        self.state.log({"method": self.command, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body_in, "status": status, "time": time.time()})
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True

    def do_PUT(self):
        body = self._body()
        sc = self.state.scenario("imds")
        time.sleep(sc["delay"])
        if self.path != "/latest/api/token":
            return self._answer(404, "not found", "text/plain", body)
        if sc["token"] == "refused":
            return self._answer(403, "Forbidden", "text/plain", body)
        if not self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
            return self._answer(400, "Bad Request", "text/plain", body)
        token = f"FAKEIMDSTOKEN{self.state.next('imds-token')}"
        with self.state.lock:
            self.state.imds_tokens.add(token)
        return self._answer(200, token, "text/plain", body)

    def do_GET(self):
        if self.path.startswith("/latest/"):
            return self._imds()
        if self.path.startswith("/container/"):
            return self._container()
        return self._answer(404, "not found", "text/plain")

    def _imds(self):
        sc = self.state.scenario("imds")
        time.sleep(sc["delay"])
        token = self.headers.get("x-aws-ec2-metadata-token")
        with self.state.lock:
            known = token in self.state.imds_tokens
        if (sc["token"] == "required" and not known) or (token is not None and not known):
            return self._answer(401, "Unauthorized", "text/plain")
        prefix = "/latest/meta-data/iam/security-credentials/"
        if not self.path.startswith(prefix):
            return self._answer(404, "not found", "text/plain")
        role = self.path[len(prefix):]
        if not sc["role"] or (role and role != sc["role"]):
            return self._answer(404, "not found", "text/plain")
        if not role:
            return self._answer(200, sc["role"], "text/plain")
        if sc["status"] != 200:
            return self._answer(sc["status"], "error", "text/plain")
        c = credentials(self.state, "IMDS", sc["expire_in"])
        c.update({"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": iso(time.time())})
        return self._answer(200, json.dumps(c))

    def _container(self):
        sc = self.state.scenario("container")
        time.sleep(sc["delay"])
        if sc["auth"] is not None and self.headers.get("Authorization") != sc["auth"]:
            return self._answer(401, json.dumps({"code": "Unauthorized",
                                                 "message": "bad authorization"}))
        if sc["status"] != 200:
            return self._answer(sc["status"], json.dumps({"code": "Error", "message": "failed"}))
        c = credentials(self.state, "CONT", sc["expire_in"])
        c["RoleArn"] = "arn:aws:iam::123456789012:role/ddbfs"
        return self._answer(200, json.dumps(c))

    def do_POST(self):
        body = self._body()
        sc = self.state.scenario("sts")
        time.sleep(sc["delay"])
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        get = lambda k: (form.get(k) or [None])[0]
        if self.path not in ("/", "/sts/") or get("Action") != "AssumeRoleWithWebIdentity":
            return self._answer(404, "not found", "text/plain", body)
        err = sc["error"]
        if err is None and sc["token"] is not None and get("WebIdentityToken") != sc["token"]:
            err = {"code": "InvalidIdentityToken", "message": "Couldn't verify the token"}
        if err is None and not (get("RoleArn") and get("RoleSessionName")
                                and get("Version") == "2011-06-15"):
            err = {"code": "ValidationError", "message": "missing RoleArn or RoleSessionName"}
        if err is not None:
            xml = ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                   f"  <Error>\n    <Type>Sender</Type>\n    <Code>{esc(err['code'])}</Code>\n"
                   f"    <Message>{esc(err['message'])}</Message>\n  </Error>\n"
                   "  <RequestId>fake-request-id</RequestId>\n</ErrorResponse>\n")
            return self._answer(sc["status"] if sc["status"] != 200 else 400, xml, "text/xml",
                                body)
        c = credentials(self.state, "STS", sc["expire_in"])
        secret = sc["secret_xml"] if sc["secret_xml"] is not None else esc(c["SecretAccessKey"])
        xml = ("<AssumeRoleWithWebIdentityResponse "
               "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
               "  <AssumeRoleWithWebIdentityResult>\n"
               "    <SubjectFromWebIdentityToken>system:serviceaccount:ns:ddbfs"
               "</SubjectFromWebIdentityToken>\n"
               "    <Audience>sts.amazonaws.com</Audience>\n"
               "    <AssumedRoleUser>\n"
               f"      <Arn>{esc(get('RoleArn'))}/{esc(get('RoleSessionName'))}</Arn>\n"
               "      <AssumedRoleId>AROAFAKE:session</AssumedRoleId>\n"
               "    </AssumedRoleUser>\n"
               "    <Credentials>\n"
               f"      <SessionToken>{esc(c['Token'])}</SessionToken>\n"
               f"      <SecretAccessKey>{secret}</SecretAccessKey>\n"
               f"      <Expiration>{c['Expiration']}</Expiration>\n"
               f"      <AccessKeyId>{c['AccessKeyId']}</AccessKeyId>\n"
               "    </Credentials>\n"
               "    <Provider>oidc.example.com</Provider>\n"
               "  </AssumeRoleWithWebIdentityResult>\n"
               "  <ResponseMetadata><RequestId>fake-request-id</RequestId></ResponseMetadata>\n"
               "</AssumeRoleWithWebIdentityResponse>\n")
        return self._answer(sc["status"], xml, "text/xml", body)


def esc(s):
    return (s or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def serve(state_dir):
    """Starts the server in a thread; returns (server, port)."""
    handler = type("BoundHandler", (Handler,), {"state": State(state_dir)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    state_dir = argv[1]
    watch = int(argv[3]) if len(argv) > 3 and argv[2] == "--watch-pid" else None
    server, port = serve(state_dir)
    tmp = os.path.join(state_dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, os.path.join(state_dir, "port"))
    while True:
        time.sleep(0.5)
        if watch is not None:
            try:
                os.kill(watch, 0)
            except ProcessLookupError:
                server.shutdown()
                return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
