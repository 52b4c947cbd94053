"""A loopback HTTP proxy in front of the S3 server that drops conditional request headers: a store that takes
`If-None-Match` / `If-Match` and ignores them, as some S3-compatible stores do.

Every request goes to the target whole (method, path, headers, body as sent, chunked or not) but for the
headers named by --drop; every reply comes back whole. The requests' signatures no longer match their
headers, which the S3 server under test (moto) does not verify.

    python tests/s3_header_proxy.py --listen PORT --target PORT --drop If-None-Match [--drop If-Match]
"""

import argparse
import http.client
import http.server

# Hop-by-hop headers, and those this proxy sets itself.
NOT_FORWARDED = {"connection", "keep-alive", "proxy-connection", "expect", "te", "upgrade"}


def chunked_body(stream) -> bytes:
    """The raw bytes of a chunked body, size lines and trailers included, read to its end."""
    raw = b""
    while True:
        size_line = stream.readline()
        raw += size_line
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        raw += stream.read(size + 2)  # the chunk and its CRLF
    while True:  # trailers, then the empty line
        line = stream.readline()
        raw += line
        if line in (b"\r\n", b"\n", b""):
            return raw


def handler(target: int, dropped: set[str]) -> type[http.server.BaseHTTPRequestHandler]:
    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = chunked_body(self.rfile)
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            upstream = http.client.HTTPConnection("127.0.0.1", target, timeout=120)
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in NOT_FORWARDED and name.lower() not in dropped:
                    upstream.putheader(name, value)
            upstream.endheaders(body or None)
            reply = upstream.getresponse()
            data = reply.read()
            self.send_response_only(reply.status, reply.reason)
            for name, value in reply.getheaders():
                if name.lower() not in NOT_FORWARDED | {"transfer-encoding", "content-length"}:
                    self.send_header(name, value)
            # A HEAD reply tells the length of a body it does not send.
            length = reply.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
            self.send_header("Content-Length", length or "0")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            upstream.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Forward


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--drop", action="append", default=[], help="a request header to drop (repeatable)")
    args = parser.parse_args()
    dropped = {name.lower() for name in args.drop}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.listen), handler(args.target, dropped))
    server.serve_forever()


if __name__ == "__main__":
    main()
