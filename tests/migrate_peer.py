#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fake migration peers for tests/migrate_test.sh (the stream: include/dvm/migrate.h).

  migrate_peer.py dst PATH MODE [FILE]
      Listen on the unix socket PATH (print "listening" once it does), take one
      migration stream up to its END record, then by MODE:
        close     close before "ready"
        go-close  "ready", read the source's line (printed: "got go"), close
        go-error  "ready", read the line, answer "error EIO x"
        record    save the stream's bytes to FILE, answer "error ECANCELED recorded"
  migrate_peer.py src PATH FILE MODE
      Connect to a destination on PATH, send the stream saved in FILE, print its
      answer ("answer ready"), then by MODE:
        close     close without "go"
        junk      send "nogo" instead of "go", then wait for the close
"""
import os
import socket
import struct
import sys

HEADER = 32
RECORD = 24
END = 3


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        got = conn.recv(n - len(buf))
        if not got:
            raise EOFError("the stream ends early")
        buf += got
    return buf


def read_line(conn):
    line = b""
    while not line.endswith(b"\n") and len(line) < 512:
        got = conn.recv(1)
        if not got:
            break
        line += got
    return line.decode(errors="replace").rstrip("\n")


def read_stream(conn):
    data = read_exact(conn, HEADER)
    while True:
        rec = read_exact(conn, RECORD)
        rtype, length = struct.unpack_from("<II", rec)
        data += rec + read_exact(conn, length)
        if rtype == END:
            return data


def dst(path, mode, out=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    s.bind(path)
    s.listen(1)
    print("listening", flush=True)
    conn, _ = s.accept()
    s.close()
    os.unlink(path)
    conn.settimeout(60)
    data = read_stream(conn)
    print("stream %d bytes" % len(data), flush=True)
    if mode == "record":
        with open(out, "wb") as f:
            f.write(data)
        conn.sendall(b"error ECANCELED recorded\n")
    elif mode in ("go-close", "go-error"):
        conn.sendall(b"ready\n")
        print("got " + read_line(conn), flush=True)
        if mode == "go-error":
            conn.sendall(b"error EIO x\n")
    elif mode != "close":
        sys.exit("unknown mode " + mode)
    conn.close()


def src(path, stream, mode):
    with open(stream, "rb") as f:
        data = f.read()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(60)
    conn.connect(path)
    conn.sendall(data)
    print("answer " + read_line(conn), flush=True)
    if mode == "junk":
        conn.sendall(b"nogo\n")
        read_line(conn)  # until the destination closes
    elif mode != "close":
        sys.exit("unknown mode " + mode)
    conn.close()


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "dst":
        dst(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    elif len(sys.argv) == 5 and sys.argv[1] == "src":
        src(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
