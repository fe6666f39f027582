#!/usr/bin/env python3
"""A loopback HTTP proxy that misbehaves on purpose, placed between Kura and an S3 server in the
tests (Tests/kuraTests/FaultInjectionTests.swift). Each request is forwarded on a fresh upstream
connection; every Nth request (N = --every) gets the fault of --mode instead:

  status     answer 503 SlowDown (an S3 error body) without forwarding
  reset      close the client connection abruptly (RST), mid-request
  truncate   forward, then send the client only half of the response and close
  slow       forward, then trickle the response in small pieces with pauses
  down       for --seconds after the Nth request, reset every connection (a server restarting)
  count      forward everything (requests are counted; the count is printed on SIGINT)
  always     answer 500 InternalError to the Nth request and every one after (a server that
             keeps failing, from the middle of a backup on)

Prints its port on stdout, then serves until killed. Counts go to stderr on exit.
"""
import argparse, os, signal, socket, struct, sys, threading, time

def read_head(sock, buffer):
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            return None, buffer
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest

def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0

def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()

class Proxy:
    def __init__(self, upstream, mode, every, seconds):
        self.upstream, self.mode, self.every, self.seconds = upstream, mode, every, seconds
        self.count, self.faults, self.lock, self.down_until = 0, 0, threading.Lock(), 0.0
        self.log = False

    def decide(self):
        with self.lock:
            self.count += 1
            if self.mode == "count":
                return None
            if self.mode == "always":
                if self.count < self.every:
                    return None
                self.faults += 1
                return "always"
            if self.mode == "down":
                if self.count == self.every:
                    self.down_until = time.time() + self.seconds
                if time.time() < self.down_until:
                    self.faults += 1
                    return "reset"
                return None
            if self.count % self.every == 0:
                self.faults += 1
                return self.mode
            return None

    def serve(self, client):
        buffer = b""
        try:
            while True:
                head, buffer = read_head(client, buffer)
                if head is None:
                    break
                length = content_length(head)
                if self.log:
                    print(head.split(b"\r\n")[0].decode(errors="replace"), file=sys.stderr, flush=True)
                fault = self.decide()
                if fault == "reset":
                    reset(client)
                    return
                if b"expect: 100-continue" in head.lower() and len(buffer) < length:
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                while len(buffer) < length:
                    data = client.recv(65536)
                    if not data:
                        return
                    buffer += data
                body, buffer = buffer[:length], buffer[length:]
                if fault in ("status", "always"):
                    code, reason, s3 = (503, "Slow Down", "SlowDown") if fault == "status" else (500, "Internal Server Error", "InternalError")
                    xml = ("<?xml version=\"1.0\"?><Error><Code>%s</Code><Message>injected</Message></Error>" % s3).encode()
                    client.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n" % (code, reason.encode(), len(xml)) + xml)
                    continue
                lines = head.split(b"\r\n")
                lines = [l for l in lines if not l.lower().startswith(b"connection:") and not l.lower().startswith(b"expect:")]
                request = b"\r\n".join(lines[:-2]) + b"\r\nConnection: close\r\n\r\n" + body
                upstream = socket.create_connection(self.upstream)
                upstream.sendall(request)
                response = b""
                while True:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    response += data
                upstream.close()
                if fault == "truncate":
                    client.sendall(response[: max(1, len(response) // 2)])
                    reset(client)
                    return
                if fault == "slow":
                    for start in range(0, len(response), 16384):
                        client.sendall(response[start:start + 16384])
                        time.sleep(0.02)
                else:
                    client.sendall(response)
                # The upstream reply says "Connection: close": the client opens a new connection.
                break
        except OSError:
            pass
        try:
            client.close()
        except OSError:
            pass

def main():
    # Descriptors inherited from the test process (other tests' pipes) would keep those pipes open
    # for as long as the proxy runs: close everything but stdin, stdout and stderr.
    os.closerange(3, 65536)
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True, help="HOST:PORT")
    parser.add_argument("--mode", required=True, choices=["status", "reset", "truncate", "slow", "down", "always", "count"])
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--log", action="store_true", help="print each request's first line on stderr")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Started in the background by a shell, a process inherits SIGINT ignored, and Python then
    # installs no KeyboardInterrupt: ask for it, as SIGINT is how the count is asked for.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    host, _, port = args.upstream.rpartition(":")
    proxy = Proxy((host, int(port)), args.mode, args.every, args.seconds)
    proxy.log = args.log
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    try:
        while True:
            client, _ = listener.accept()
            threading.Thread(target=proxy.serve, args=(client,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        print("requests %d faults %d" % (proxy.count, proxy.faults), file=sys.stderr, flush=True)

if __name__ == "__main__":
    main()
