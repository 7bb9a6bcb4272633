#!/usr/bin/env python3
"""faultproxy: an HTTP/1.1 proxy on loopback that injects DynamoDB's failures (standard library).

    faultproxy.py --upstream http://127.0.0.1:PORT [--port-file F] [--port N]
                  [--config rules.json | --rule SPEC ...] [--seed N] [--stats-file F]

It sits between ddbfs and dynalite (which never throttles, never returns UnprocessedItems and never
drops a connection) and, by its rules, answers a share of the requests with what real DynamoDB and
real networks do. Keep-alive on both sides; request and response bodies by Content-Length; the
operation is the X-Amz-Target header (`DynamoDB_20120810.Scan` -> `Scan`).

Configuration (a JSON file, the body of `POST /__faults/config`, or --rule/--seed/--mode):

    {"seed": 1, "mode": "normal" | "down",
     "down": {"fault": "503"},                       # what every request gets in mode "down"
     "rules": [{"fault": "throttle", "share": 0.2, "op": "*"},
               {"fault": "partial_batch", "share": 0.3, "keep": 0.5}]}

For each request, first a rule with `"every": K` applies if this is the K-th, 2K-th... request
whose `op` it matches (deterministic: the fault surely happens); else one uniform draw from a
random.Random(seed) picks at most one rule with a `share` among those whose `op` matches (shares
add up, in order; the rest is forwarded untouched), so a scenario is reproducible for a given order
of requests. `op` is an operation name or "*" (the default); `"limit": N` stops a rule after it
has applied N times. Faults (`fault`):

  throttle        400 ProvisionedThroughputExceededException (not forwarded)
  throttling      400 ThrottlingException (not forwarded)
  request_limit   400 RequestLimitExceeded (not forwarded)
  500, 503        HTTP 500 InternalServerError / 503 ServiceUnavailable; with "after": true the
                  request is forwarded first (the write happened, the answer is lost)
  reset_before    the connection is reset (RST) without forwarding
  reset_mid       forwarded; the headers and half the body are sent, then the connection is reset
  delay           forwarded; the answer is held for `delay_s` seconds (default 30) before it is sent
  truncate        forwarded; a well-formed HTTP 200 whose body is cut to `keep` (default 0.5) of its
                  bytes (Content-Length tells the cut length: the JSON is what is broken)
  partial_batch   BatchWriteItem only: forwards a share `keep` (default 0.5, at random per item,
                  0 to all) of the items and returns the others as UnprocessedItems, as DynamoDB
                  does under load

Mode "down" applies `down.fault` (default 503) to every request: an outage (with partial_batch,
to every BatchWriteItem, and `keep` 0 hands every item back: a table out of write capacity).
A request the upstream server does not answer (it is down) is counted as fault `upstream_error`
and its connection is reset.

Control (same port, never forwarded): `GET /__faults/stats` returns the counts (also written to
--stats-file after every request): {"requests", "forwarded", "faults": {fault: n},
"by_op": {op: {"requests": n, fault: n}}, "unprocessed_items", "items_forwarded"};
`POST /__faults/config` replaces the configuration (and resets the RNG to its seed);
`POST /__faults/reset` zeroes the counts; `POST /__faults/upstream` with {"url": "http://..."}
points the proxy at another server.
"""

import argparse
import http.client
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse

THROTTLES = {
    "throttle": ("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                 "The level of configured provisioned throughput for the table was exceeded. "
                 "Consider increasing your provisioning level with the UpdateTable API."),
    "throttling": ("com.amazon.coral.availability#ThrottlingException",
                   "Rate of requests exceeds the allowed throughput."),
    "request_limit": ("com.amazonaws.dynamodb.v20120810#RequestLimitExceeded",
                      "Throughput exceeds the current throughput limit for your account. Please "
                      "contact AWS Support at https://aws.amazon.com/support request a limit "
                      "increase"),
}
SERVER_ERRORS = {
    "500": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "Internal server error"),
    "503": (503, "com.amazon.coral.availability#ServiceUnavailableException",
            "Service Unavailable"),
}
FAULTS = set(THROTTLES) | set(SERVER_ERRORS) | {"reset_before", "reset_mid", "delay", "truncate",
                                                 "partial_batch"}
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
UPSTREAM_TIMEOUT_S = 120


class ConfigError(ValueError):
    pass


def check_config(cfg):
    """Validates a configuration dict; returns it with defaults filled. Raises ConfigError."""
    if not isinstance(cfg, dict):
        raise ConfigError("the configuration must be a JSON object")
    out = {"seed": cfg.get("seed", 0), "mode": cfg.get("mode", "normal"),
           "down": dict(cfg.get("down") or {"fault": "503"}), "rules": []}
    if out["mode"] not in ("normal", "down"):
        raise ConfigError(f"mode {out['mode']!r}: expected 'normal' or 'down'")
    if out["down"].get("fault", "503") not in FAULTS:
        raise ConfigError(f"down.fault {out['down'].get('fault')!r}: expected one of "
                          f"{sorted(FAULTS)}")
    out["down"].setdefault("fault", "503")
    total = 0.0
    for i, r in enumerate(cfg.get("rules") or []):
        if not isinstance(r, dict) or r.get("fault") not in FAULTS:
            raise ConfigError(f"rule {i}: 'fault' must be one of {sorted(FAULTS)}: {r!r}")
        every = r.get("every", 0)
        if not isinstance(every, int) or every < 0:
            raise ConfigError(f"rule {i}: 'every' must be a whole number: {r!r}")
        share = r.get("share", 0.0 if every else 1.0)
        if not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ConfigError(f"rule {i}: 'share' must be a number from 0 to 1: {r!r}")
        total += share
        rule = dict(r)
        rule["share"] = float(share)
        rule["every"] = every
        rule["_seen"] = 0
        limit = r.get("limit", 0)
        if not isinstance(limit, int) or limit < 0:
            raise ConfigError(f"rule {i}: 'limit' must be a whole number: {r!r}")
        rule["limit"] = limit
        rule["_applied"] = 0
        rule.setdefault("op", "BatchWriteItem" if r["fault"] == "partial_batch" else "*")
        out["rules"].append(rule)
    if total > 1.0 + 1e-9:
        raise ConfigError(f"the rules' shares add up to {total}, more than 1")
    return out


def parse_rule(spec):
    """FAULT:SHARE[:OP][,key=value...], e.g. 'throttle:0.2', 'partial_batch:0.3,keep=0.4',
    'delay:0.01:Scan,delay_s=5'."""
    head, *kvs = spec.split(",")
    parts = head.split(":")
    rule = {"fault": parts[0]}
    if len(parts) > 1:
        rule["share"] = float(parts[1])
    if len(parts) > 2:
        rule["op"] = parts[2]
    for kv in kvs:
        k, _, v = kv.partition("=")
        try:
            rule[k] = json.loads(v)
        except ValueError:
            rule[k] = v
    return rule


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.d = {"requests": 0, "forwarded": 0, "faults": {}, "by_op": {},
                  "unprocessed_items": 0, "items_forwarded": 0}

    def count(self, op, fault=None):
        """One request for op (fault None), or one fault applied to it."""
        with self.lock:
            by = self.d["by_op"].setdefault(op, {"requests": 0})
            if fault is None:
                self.d["requests"] += 1
                by["requests"] += 1
            else:
                self.d["faults"][fault] = self.d["faults"].get(fault, 0) + 1
                by[fault] = by.get(fault, 0) + 1

    def add(self, **counts):
        with self.lock:
            for k, v in counts.items():
                self.d[k] += v

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.d))


class Proxy:
    def __init__(self, upstream, cfg, stats_file=None):
        self.upstream = upstream
        self.stats = Stats()
        self.stats_file = stats_file
        self.lock = threading.Lock()  # cfg and rng
        self.set_config(cfg)

    def set_config(self, cfg):
        cfg = check_config(cfg)
        with self.lock:
            self.cfg = cfg
            self.rng = random.Random(cfg["seed"])

    def choose(self, op):
        """The rule that applies to this request (a dict) or None, and a per-request RNG."""
        with self.lock:
            cfg = self.cfg
            u = self.rng.random()
            sub = random.Random(self.rng.getrandbits(64))
            if cfg["mode"] == "down":
                if cfg["down"]["fault"] == "partial_batch" and op != "BatchWriteItem":
                    return None, sub
                return dict(cfg["down"], share=1.0), sub
            rules = [r for r in cfg["rules"] if r["op"] in ("*", op) and
                     (r["fault"] != "partial_batch" or op == "BatchWriteItem") and
                     (not r["limit"] or r["_applied"] < r["limit"])]
            for r in rules:
                if r["every"]:
                    r["_seen"] += 1
                    if r["_seen"] % r["every"] == 0:
                        r["_applied"] += 1
                        return r, sub
            acc = 0.0
            for r in rules:
                acc += r["share"]
                if u < acc:
                    r["_applied"] += 1
                    return r, sub
        return None, sub

    def write_stats(self):
        if not self.stats_file:
            return
        tmp = f"{self.stats_file}.tmp.{threading.get_ident()}"
        with open(tmp, "w") as f:
            json.dump(self.stats.snapshot(), f)
        os.replace(tmp, self.stats_file)


# ---------------------------------------------------------------------------------------------
# HTTP on raw sockets


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method, self.target, self.version = method, target, version
        self.headers = headers  # [(name, value)] as received
        self.body = body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


def read_request(rfile):
    """The next request on a connection, or None at a clean end of the connection."""
    line = rfile.readline(MAX_HEADER_BYTES)
    while line in (b"\r\n", b"\n"):
        line = rfile.readline(MAX_HEADER_BYTES)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3:
        raise ValueError(f"bad request line {line[:100]!r}")
    headers = []
    size = 0
    while True:
        h = rfile.readline(MAX_HEADER_BYTES)
        size += len(h)
        if not h or size > MAX_HEADER_BYTES:
            raise ValueError("headers cut short or too large")
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers.append((k.strip(), v.strip()))
    req = Request(parts[0], parts[1], parts[2], headers, b"")
    if (req.header("Transfer-Encoding") or "").lower() not in ("", "identity"):
        raise ValueError("chunked request bodies are not supported")
    n = int(req.header("Content-Length") or 0)
    if n < 0 or n > MAX_BODY_BYTES:
        raise ValueError(f"Content-Length {n} out of range")
    req.body = rfile.read(n) if n else b""
    if len(req.body) != n:
        raise ValueError("request body cut short")
    return req


def response_bytes(status, reason, headers, body, content_length=None):
    lines = [f"HTTP/1.1 {status} {reason}"]
    for k, v in headers:
        if k.lower() in ("content-length", "transfer-encoding", "connection"):
            continue
        lines.append(f"{k}: {v}")
    lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def error_response(status, aws_type, message):
    body = json.dumps({"__type": aws_type, "message": message}).encode()
    reason = {400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
    headers = [("Content-Type", "application/x-amz-json-1.0"),
               ("x-amzn-RequestId", f"FAULTPROXY{random.getrandbits(48):012X}")]
    return response_bytes(status, reason, headers, body)


def reset(sock):
    """Closes sock with an RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Upstream:
    """One keep-alive connection to the upstream server, reopened when it breaks."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.conn = None
        self.url = None

    def send(self, req, body):
        url = self.proxy.upstream
        if self.conn is None or url != self.url:
            self.close()
            u = urllib.parse.urlsplit(url)
            self.conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                                   timeout=UPSTREAM_TIMEOUT_S)
            self.url = url
        headers = {k: v for k, v in req.headers
                   if k.lower() not in ("content-length", "connection", "expect", "keep-alive")}
        try:
            self.conn.request(req.method, req.target, body=body, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if resp.will_close:
            self.close()
        return resp.status, resp.reason, resp.getheaders(), data

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def split_batch(body, keep, rng):
    """(forwarded request body, UnprocessedItems {table: [requests]}, items kept, items held)."""
    doc = json.loads(body)
    kept_items, held = {}, {}
    n_kept = n_held = 0
    for table, reqs in doc.get("RequestItems", {}).items():
        for r in reqs:
            if rng.random() < keep:
                kept_items.setdefault(table, []).append(r)
                n_kept += 1
            else:
                held.setdefault(table, []).append(r)
                n_held += 1
    doc["RequestItems"] = kept_items
    return json.dumps(doc).encode(), held, n_kept, n_held


class Handler(threading.Thread):
    def __init__(self, proxy, sock):
        super().__init__(daemon=True)
        self.proxy, self.sock = proxy, sock
        self.upstream = Upstream(proxy)

    def run(self):
        rfile = self.sock.makefile("rb")
        try:
            while True:
                req = read_request(rfile)
                if req is None:
                    break
                if not self.handle(req):
                    return  # the socket is closed or reset
        except (OSError, ValueError) as e:
            print(f"faultproxy: connection: {e}", file=sys.stderr)
        finally:
            self.upstream.close()
            try:
                self.sock.close()
            except OSError:
                pass

    def send(self, data):
        self.sock.sendall(data)

    def control(self, req):
        path = urllib.parse.urlsplit(req.target).path
        p = self.proxy
        try:
            if req.method == "GET" and path == "/__faults/stats":
                body = json.dumps(p.stats.snapshot()).encode()
            elif req.method == "POST" and path == "/__faults/config":
                p.set_config(json.loads(req.body or b"{}"))
                body = b"{}"
            elif req.method == "POST" and path == "/__faults/reset":
                p.stats.reset()
                body = b"{}"
            elif req.method == "POST" and path == "/__faults/upstream":
                p.upstream = json.loads(req.body)["url"]
                body = b"{}"
            else:
                self.send(response_bytes(404, "Not Found", [], b"no such control path\n"))
                return True
        except (ValueError, KeyError) as e:
            self.send(response_bytes(400, "Bad Request", [], f"{e}\n".encode()))
            return True
        self.send(response_bytes(200, "OK", [("Content-Type", "application/json")], body))
        return True

    def handle(self, req):
        """Answers one request; returns False when the connection is gone."""
        if req.target.startswith("/__faults/"):
            return self.control(req)
        p = self.proxy
        target = req.header("X-Amz-Target") or ""
        op = target.rsplit(".", 1)[-1] if target else "?"
        p.stats.count(op)
        rule, rng = p.choose(op)
        fault = rule["fault"] if rule else None
        try:
            return self.apply(req, op, rule, fault, rng)
        finally:
            p.write_stats()

    def forward(self, req, op, body=None):
        """The upstream's answer, or None (and the client connection reset) when it failed."""
        try:
            ans = self.upstream.send(req, req.body if body is None else body)
        except (OSError, http.client.HTTPException) as e:
            self.proxy.stats.count(op, "upstream_error")
            print(f"faultproxy: upstream {self.proxy.upstream}: {e}", file=sys.stderr)
            reset(self.sock)
            return None
        self.proxy.stats.add(forwarded=1)
        return ans

    def apply(self, req, op, rule, fault, rng):
        stats = self.proxy.stats
        if fault is not None:
            stats.count(op, fault)
        if fault in THROTTLES:
            self.send(error_response(400, *THROTTLES[fault]))
            return True
        if fault in SERVER_ERRORS and not rule.get("after"):
            self.send(error_response(*SERVER_ERRORS[fault]))
            return True
        if fault == "reset_before":
            reset(self.sock)
            return False
        body = None
        held, n_kept = {}, 0
        if fault == "partial_batch":
            body, held, n_kept, n_held = split_batch(req.body, float(rule.get("keep", 0.5)), rng)
            stats.add(unprocessed_items=n_held, items_forwarded=n_kept)
            if n_kept == 0:
                answer = {"UnprocessedItems": held, "ConsumedCapacity": [
                    {"TableName": t, "CapacityUnits": 0.0} for t in held]}
                self.send(response_bytes(200, "OK", [
                    ("Content-Type", "application/x-amz-json-1.0")], json.dumps(answer).encode()))
                return True
        ans = self.forward(req, op, body)
        if ans is None:
            return False
        status, reason, headers, data = ans
        if fault in SERVER_ERRORS:  # after: the request was applied, the answer is lost
            self.send(error_response(*SERVER_ERRORS[fault]))
            return True
        if fault == "partial_batch" and status == 200 and held:
            doc = json.loads(data)
            un = doc.setdefault("UnprocessedItems", {})
            for t, reqs in held.items():
                un.setdefault(t, []).extend(reqs)
            data = json.dumps(doc).encode()
        if fault == "reset_mid":
            whole = response_bytes(status, reason, headers, data)
            head = len(whole) - len(data)
            self.send(whole[:head + len(data) // 2])
            reset(self.sock)
            return False
        if fault == "truncate":
            cut = data[:int(len(data) * float(rule.get("keep", 0.5)))]
            self.send(response_bytes(status, reason, headers, cut))
            return True
        if fault == "delay":
            time.sleep(float(rule.get("delay_s", 30)))
        try:
            self.send(response_bytes(status, reason, headers, data))
        except OSError:
            return False  # the client gave up waiting
        return True


def serve(proxy, port, port_file, watch_pid=0):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    if port_file:
        tmp = f"{port_file}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{ls.getsockname()[1]}\n")
        os.replace(tmp, port_file)
    if watch_pid:
        def watch():
            while True:
                try:
                    os.kill(watch_pid, 0)
                except ProcessLookupError:
                    os._exit(0)
                time.sleep(1)
        threading.Thread(target=watch, daemon=True).start()
    while True:
        sock, _ = ls.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Handler(proxy, sock).start()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of the real server")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--config", help="a JSON configuration file (see above)")
    ap.add_argument("--rule", action="append", default=[],
                    help="FAULT:SHARE[:OP][,key=value...] (repeatable; after --config's rules)")
    ap.add_argument("--seed", type=int, help="RNG seed (default: the config's, else 0)")
    ap.add_argument("--mode", choices=("normal", "down"))
    ap.add_argument("--stats-file", help="write the counts here after every request")
    ap.add_argument("--watch-pid", type=int, default=0, help="exit when this process is gone")
    a = ap.parse_args(argv[1:])
    cfg = {}
    if a.config:
        with open(a.config) as f:
            cfg = json.load(f)
    cfg.setdefault("rules", [])
    cfg["rules"] = list(cfg["rules"]) + [parse_rule(r) for r in a.rule]
    if a.seed is not None:
        cfg["seed"] = a.seed
    if a.mode:
        cfg["mode"] = a.mode
    if not a.upstream.startswith("http://"):
        print("faultproxy: --upstream must be http://HOST:PORT", file=sys.stderr)
        return 2
    try:
        proxy = Proxy(a.upstream, cfg, a.stats_file)
    except ConfigError as e:
        print(f"faultproxy: bad configuration: {e}", file=sys.stderr)
        return 2
    try:
        serve(proxy, a.port, a.port_file, a.watch_pid)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
