#!/usr/bin/python3
# Forward TCP ports of the host's loopback into a test bed's network namespace:
#
#   bed-forward.py NETNS_PATH PORT…
#
# For each PORT, a listening socket on 127.0.0.1:PORT is made *inside* the namespace at NETNS_PATH (setns before
# socket(), then back to our own), and each connection accepted there is joined to a new connection to
# 127.0.0.1:PORT on the host. So the fixture registry, which runs once per run on the host's loopback, is
# reachable from inside every bed at the same address, and nothing of the bed's network touches the host's.
# Prints "ready" once every socket listens. Runs until killed (by its PID: tests/bed/bed stop).
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(listener, port):
    while True:
        conn, _ = listener.accept()
        try:
            up = socket.create_connection(("127.0.0.1", port))
        except OSError as e:
            print(f"bed-forward: 127.0.0.1:{port}: {e}", file=sys.stderr, flush=True)
            conn.close()
            continue
        for a, b in ((conn, up), (up, conn)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


def main():
    path, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    own = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    bed = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    listeners = []
    setns(bed)
    try:
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen(128)
            listeners.append((s, port))
    finally:
        setns(own)
    os.close(bed)
    os.close(own)
    threads = [threading.Thread(target=serve, args=l, daemon=True) for l in listeners]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()


main()
