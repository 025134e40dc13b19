#!/usr/bin/env python3
"""A small HTTPS/1.1 server for CurlKitTests: real TLS on loopback, optional client-certificate verification,
and a few misbehaving paths. Prints "PORT <n>" on stdout once listening; runs until killed.

Paths (any method):
  /ok                    200 JSON {"connection", "connections", "requests", "method", "bodyLength"}
  /status/503            503 JSON (?retry-after=N adds a Retry-After header)
  /huge?len=N            200 with Content-Length N
  /huge-chunked?len=N    200 chunked, N bytes, no Content-Length
  /slow?ms=N             waits N ms, then like /ok; every JSON answer carries "maxConcurrent", the most /slow
                         requests seen in progress at once
  /hang                  reads the request, never answers
  /drop-once             the first time: closes the connection without answering; afterwards like /ok
  /drop-always           closes the connection without answering
Every response carries X-Request-ID: bank-<request number>.

Options: --cert/--key (server identity), --client-ca (require a client certificate issued by it),
--no-handshake (accept TCP, never start TLS).
"""
import argparse
import json
import signal
import socket
import ssl
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--client-ca")
parser.add_argument("--no-handshake", action="store_true")
args = parser.parse_args()

# The test runner blocks SIGTERM in its threads and children inherit the mask: unblock it.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.minimum_version = ssl.TLSVersion.TLSv1_2
context.load_cert_chain(args.cert, args.key)
if args.client_ca:
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(args.client_ca)

lock = threading.Lock()
state = {"connections": 0, "requests": 0, "dropped": False, "slow": 0, "maxConcurrent": 0}
held = []  # sockets kept open on purpose (/hang, --no-handshake)


def read_request(stream):
    line = stream.readline(65537)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        line = stream.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = stream.read(length) if length else b""
    return method, target, headers, body


def respond(tls, status, body, extra=(), number=0, head_only=False):
    reason = {200: "OK", 503: "Service Unavailable"}.get(status, "X")
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    head += f"X-Request-ID: bank-{number}\r\n"
    for name, value in extra:
        head += f"{name}: {value}\r\n"
    tls.sendall(head.encode() + b"\r\n" + (b"" if head_only else body))


def serve(conn):
    with lock:
        state["connections"] += 1
        index = state["connections"]
    if args.no_handshake:
        held.append(conn)
        return
    tls = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
    try:
        tls.do_handshake()
    except (ssl.SSLError, OSError):
        # OpenSSL has sent its alert (e.g. "certificate required"). Close like nginx does (lingering): stop
        # writing, drain what the client still sends, so no RST destroys the alert before the client reads it.
        try:
            tls.shutdown(socket.SHUT_WR)
            tls.settimeout(2)
            while tls.recv(65536):
                pass
        except OSError:
            pass
        tls.close()
        return
    stream = tls.makefile("rb")
    try:
        while True:
            request = read_request(stream)
            if request is None:
                break
            method, target, headers, body = request
            path, _, query = target.partition("?")
            params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            with lock:
                state["requests"] += 1
                number = state["requests"]
                first_drop = path == "/drop-once" and not state["dropped"]
                if first_drop:
                    state["dropped"] = True
            if path == "/drop-always" or first_drop:
                tls.close()
                return
            if path == "/slow":
                with lock:
                    state["slow"] += 1
                    state["maxConcurrent"] = max(state["maxConcurrent"], state["slow"])
                time.sleep(int(params.get("ms", "100")) / 1000)
                with lock:
                    state["slow"] -= 1
            if path == "/hang":
                held.append(tls)
                time.sleep(3600)
                return
            if path == "/huge":
                n = int(params.get("len", "0"))
                tls.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nX-Request-ID: bank-{number}\r\n\r\n".encode())
                chunk = b"x" * 65536
                while n > 0:
                    tls.sendall(chunk[: min(n, len(chunk))])
                    n -= len(chunk)
                continue
            if path == "/huge-chunked":
                n = int(params.get("len", "0"))
                tls.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                while n > 0:
                    size = min(n, 65536)
                    tls.sendall(f"{size:x}\r\n".encode() + b"y" * size + b"\r\n")
                    n -= size
                tls.sendall(b"0\r\n\r\n")
                continue
            with lock:
                info = {"connection": index, "connections": state["connections"], "requests": state["requests"],
                        "method": method, "bodyLength": len(body), "maxConcurrent": state["maxConcurrent"]}
            status = 503 if path == "/status/503" else 200
            extra = [("Retry-After", params["retry-after"])] if "retry-after" in params else []
            respond(tls, status, json.dumps(info).encode(), extra=extra, number=number, head_only=method == "HEAD")
    except (ssl.SSLError, OSError, ValueError):
        pass
    finally:
        try:
            tls.close()
        except OSError:
            pass


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(128)
print(f"PORT {listener.getsockname()[1]}", flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
