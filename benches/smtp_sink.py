#!/usr/bin/env python3
"""An SMTP sink for benches/digests.sh: accepts every message on 127.0.0.1:PORT
(EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; many connections at once),
keeps nothing but counts, and writes "<count> <first unix time> <last unix
time> <bytes>" to STATUS after every message.

    smtp_sink.py PORT STATUS
"""
import asyncio
import os
import socket
import sys
import time

port, status_path = int(sys.argv[1]), sys.argv[2]
state = {"count": 0, "first": 0.0, "last": 0.0, "bytes": 0}


def record(size):
    now = time.time()
    if state["count"] == 0:
        state["first"] = now
    state["count"] += 1
    state["last"] = now
    state["bytes"] += size
    # Replaced whole, so a reader never sees it half written.
    with open(status_path + ".tmp", "w") as f:
        f.write(f'{state["count"]} {state["first"]:.3f} {state["last"]:.3f} {state["bytes"]}\n')
    os.replace(status_path + ".tmp", status_path)


QUICKACK = os.environ.get("QUICKACK") == "1"


def quickack(writer):
    if QUICKACK:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


async def session(reader, writer):
    writer.write(b"220 sink ESMTP\r\n")
    while True:
        quickack(writer)
        line = await reader.readline()
        if not line:
            break
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            writer.write(b"354 end with .\r\n")
            await writer.drain()
            size = 0
            while True:
                quickack(writer)
                data = await reader.readline()
                if not data or data in (b".\r\n", b".\n"):
                    break
                size += len(data)
            record(size)
            writer.write(b"250 queued\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


async def main():
    with open(status_path, "w") as f:
        f.write("0 0 0 0\n")
    server = await asyncio.start_server(session, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


asyncio.run(main())
