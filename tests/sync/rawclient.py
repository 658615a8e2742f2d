# SPDX-License-Identifier: MIT
"""A misbehaving peer for tests/sync/badpeer.sh: raw bytes to a daemon's port, no handshake.

    python3 rawclient.py PORT garbage BYTES [WAIT_S]
        connect, send BYTES random bytes (stop early if the daemon closes), then wait up to
        WAIT_S (default 5) for the daemon to close the connection.
    python3 rawclient.py PORT hold BYTES [WAIT_S]
        connect, send BYTES random bytes (a handshake cut short), then hold the socket open,
        sending nothing, until the daemon closes it (at most WAIT_S, default 20).

Prints one line: "closed after S seconds (N bytes sent; how)" or "open after S seconds", and
exits 0 when the daemon closed the connection, 1 when it was still open at the end.
"""
import os
import socket
import sys
import time


def main():
    port, mode, nbytes = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    wait = float(sys.argv[4]) if len(sys.argv) > 4 else (5.0 if mode == "garbage" else 20.0)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.monotonic()
    data = os.urandom(nbytes)
    sent = 0
    how = None
    try:
        while sent < len(data):
            sent += s.send(data[sent:sent + 65536])
    except (BrokenPipeError, ConnectionResetError) as e:
        how = "while sending: " + type(e).__name__
    while how is None:
        left = wait - (time.monotonic() - t0)
        if left <= 0:
            break
        s.settimeout(left)
        try:
            got = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            how = "reset"
            break
        if not got:
            how = "EOF"
            break
        # The daemon never answers a client's first handshake message with anything else.
        how = "the daemon sent %d bytes" % len(got)
        print("unexpected: " + how)
        return 2
    elapsed = time.monotonic() - t0
    s.close()
    if how is None:
        print("open after %.2f seconds (%d bytes sent)" % (elapsed, sent))
        return 1
    print("closed after %.2f seconds (%d bytes sent; %s)" % (elapsed, sent, how))
    return 0


if __name__ == "__main__":
    sys.exit(main())
