"""A loopback TCP proxy process standing in front of the S3 server, to cut it off or kill it mid-request.

The S3 server (moto) keeps its objects in memory, so restarting it would lose the lake; a client
cannot tell this proxy's death from the server's. With --die-on REGEX the proxy forwards a request
whose request line matches, then a part of its body, and exits at once: the server dies in the
middle of a write, every connection is dropped and the port refuses connections until restarted.

    python tcp_proxy.py --listen PORT --target PORT [--die-on REGEX] [--body-bytes N]
"""

import argparse
import asyncio
import os
import re

CHUNK = 65536


async def pump(reader, writer, watch=None):
    try:
        while data := await reader.read(CHUNK):
            if watch is not None:
                data = await watch(data, writer)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def watcher(die_on: re.Pattern, body_bytes: int):
    async def watch(data: bytes, writer) -> bytes:
        match = die_on.search(data)
        if match is None:
            return data
        # The request head and at most body_bytes of its body (none yet if it waits for 100-continue).
        head_end = data.find(b"\r\n\r\n", match.end())
        head_end = len(data) if head_end < 0 else head_end + 4
        writer.write(data[: head_end + body_bytes])
        await writer.drain()
        await asyncio.sleep(0.2)  # let the server read it, then die with the request unfinished
        os._exit(1)

    return watch


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--die-on", type=lambda text: re.compile(text.encode()))
    parser.add_argument("--body-bytes", type=int, default=200)
    args = parser.parse_args()

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", args.target)
        except OSError:
            client_writer.close()
            return
        watch = watcher(args.die_on, args.body_bytes) if args.die_on else None
        await asyncio.gather(pump(client_reader, server_writer, watch), pump(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
