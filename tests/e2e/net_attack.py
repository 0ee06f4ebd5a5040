#!/usr/bin/python3
"""Hostile clients against a running promdir-collector; prints figures as JSON.

  net_attack.py --port P --pid PID ATTACK [--seconds S]

ATTACK is one of:
  slowloris   64 clients send a request head one byte every 0.5 s
  headers     4 clients stream header lines as fast as they can
  line        4 clients stream one line that never ends
  flood       300 connections opened at once that send nothing
  slowread    8 clients ask for /metrics 16 times (pipelined) and never read
              the answers (a small receive buffer), for --seconds

For each it reports: the collector's peak RSS during the attack (sampled
from /proc every 20 ms), each client's time until the collector cut it off
(null if it never did within --seconds), what the client read back, and
whether /metrics and /-/healthy were served meanwhile (and how long they
took). It asserts nothing: the calling test does.
"""

import argparse
import json
import socket
import threading
import time


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def run(self):
        while not self.stop:
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except OSError:
                return
            time.sleep(0.02)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def get(port, path, timeout=5.0):
    """(status or None, seconds) of one GET on a fresh connection."""
    start = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(timeout)
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return int(data.split(b" ", 2)[1]), time.monotonic() - start
    except (OSError, ValueError, IndexError):
        return None, time.monotonic() - start


def drip(port, payload_fn, interval, deadline, result):
    """Sends payload_fn(i) every `interval` until the server closes."""
    start = time.monotonic()
    reply = b""
    try:
        s = connect(port)
        s.settimeout(0.001)
        i = 0
        while time.monotonic() < deadline:
            try:
                s.sendall(payload_fn(i))
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
            i += 1
            try:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
            except socket.timeout:
                pass
            except (ConnectionResetError, BrokenPipeError):
                break
            if interval:
                time.sleep(interval)
        else:
            result["cut_after_s"] = None
            result["reply"] = reply[:40].decode("latin-1")
            return
        s.close()
    except OSError as e:
        result["error"] = str(e)
    result["cut_after_s"] = round(time.monotonic() - start, 3)
    result["reply"] = reply[:40].decode("latin-1")


def probe_during(port, results, stop):
    while not stop.is_set():
        time.sleep(0.3)
        results.append({"metrics": get(port, "/metrics"), "healthy": get(port, "/-/healthy")})


def run(args):
    port, seconds = args.port, args.seconds
    deadline = time.monotonic() + seconds
    sampler = Sampler(args.pid)
    sampler.start()
    base = rss_kib(args.pid)
    if args.attack == "slowloris":
        head = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10000
        n, interval = 64, 0.5
        payload = lambda i: head[i:i + 1]
    elif args.attack == "headers":
        n, interval = 4, 0
        payload = lambda i: (b"GET /metrics HTTP/1.1\r\n" if i == 0 else b"") + \
            b"".join(b"X-Flood-%d: %s\r\n" % (i * 64 + k, b"v" * 50) for k in range(64))
    elif args.attack == "line":
        n, interval = 4, 0
        payload = lambda i: (b"GET /" if i == 0 else b"") + b"A" * 65536
    elif args.attack == "slowread":
        n, interval = 8, None
    else:
        n, interval = 300, None
    results = [dict() for _ in range(n)]
    probes, stop = [], threading.Event()
    prober = threading.Thread(target=probe_during, args=(port, probes, stop), daemon=True)
    if args.attack == "slowread":
        socks = []
        for r in results:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            # Pipelined: more body than the kernel's socket buffers hold.
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 16)
            socks.append(s)
        time.sleep(0.5)
        prober.start()
        time.sleep(max(0, deadline - time.monotonic()))
        for s in socks:
            s.close()
    elif args.attack == "flood":
        socks, opened_at = [], time.monotonic()
        for r in results:
            try:
                socks.append(connect(port))
            except OSError as e:
                r["error"] = str(e)
        # Which were refused at once (503 or closed), which stayed open.
        time.sleep(0.3)
        prober.start()
        for s, r in zip(socks, results):
            s.settimeout(0.01)
            try:
                data = s.recv(100)
                r["reply"] = data[:40].decode("latin-1")
                r["cut_after_s"] = round(time.monotonic() - opened_at, 3)
            except socket.timeout:
                r["reply"] = ""
            except OSError:
                r["reply"] = "reset"
        open_ones = [(s, r) for s, r in zip(socks, results) if r.get("reply") == ""]
        for s, r in open_ones:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                s.recv(100)
                r["cut_after_s"] = round(time.monotonic() - opened_at, 3)
            except socket.timeout:
                r["cut_after_s"] = None
            except OSError:
                r["cut_after_s"] = round(time.monotonic() - opened_at, 3)
        for s in socks:
            s.close()
    else:
        threads = [threading.Thread(target=drip, args=(port, payload, interval, deadline, r))
                   for r in results]
        for t in threads:
            t.start()
        prober.start()
        for t in threads:
            t.join()
    stop.set()
    prober.join()
    sampler.stop = True
    sampler.join()
    cuts = [r.get("cut_after_s") for r in results]
    replies = {}
    for r in results:
        key = r.get("reply", "")[:12]
        replies[key] = replies.get(key, 0) + 1
    out = {
        "attack": args.attack,
        "clients": n,
        "rss_before_kib": base,
        "rss_peak_kib": sampler.peak,
        "cut_off": sum(c is not None for c in cuts),
        "max_cut_s": max((c for c in cuts if c is not None), default=None),
        "replies": replies,
        "probes": len(probes),
        "metrics_ok": sum(p["metrics"][0] == 200 for p in probes),
        "healthy_ok": sum(p["healthy"][0] == 200 for p in probes),
        "max_metrics_s": round(max((p["metrics"][1] for p in probes), default=0), 3),
        "max_healthy_s": round(max((p["healthy"][1] for p in probes), default=0), 3),
    }
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("attack", choices=["slowloris", "headers", "line", "flood", "slowread"])
    run(p.parse_args())


if __name__ == "__main__":
    main()
