"""What a ClickHouse server does with an HTTP insert whose client dies mid-body.

Why the processor's checkpoint is not streamed (docs/ARCHITECTURE.md, "A checkpoint lands
whole"): this sends INSERTs over a raw socket and closes it before the body is complete,
three ways, then counts what landed.

    python3 tests/python/cut_insert.py [http://127.0.0.1:18123]

On ClickHouse 18.16 (this machine's server) the two streamed forms commit the rows that
arrived; the multipart external-data form, which motcua's Store::insert_whole uses, inserts
nothing. Uses a scratch table in `default` and drops it. A measurement to read, not a test.
"""

import socket
import sys
import time
import urllib.parse
import urllib.request

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18123"
HOST, PORT = urllib.parse.urlparse(URL).hostname, urllib.parse.urlparse(URL).port or 8123
TABLE = "default.motcua_cut_insert"


def query(sql: str) -> str:
    return urllib.request.urlopen(URL + "/", data=sql.encode()).read().decode().strip()


def send_and_die(params: dict, headers: str, parts: list) -> None:
    """Sends a request's head and the given body pieces, then closes: a killed client."""
    s = socket.create_connection((HOST, PORT))
    path = "/?" + urllib.parse.urlencode(params)
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    for p in parts:
        s.sendall(p)
        time.sleep(0.2)
    s.close()
    time.sleep(1)


def chunk(b: bytes) -> bytes:
    return b"%x\r\n" % len(b) + b + b"\r\n"


def main() -> None:
    query(f"DROP TABLE IF EXISTS {TABLE}")
    query(f"CREATE TABLE {TABLE} (x UInt32) ENGINE = MergeTree ORDER BY x")
    insert = {"query": f"INSERT INTO {TABLE} FORMAT TSV"}
    landed = lambda: int(query(f"SELECT count() FROM {TABLE}"))  # noqa: E731

    # Chunked transfer, three rows sent, the closing zero-length chunk never.
    send_and_die(insert, "Transfer-Encoding: chunked\r\n", [chunk(b"1\n2\n"), chunk(b"3\n")])
    chunked = landed()
    # A declared length of 100 bytes, 6 sent.
    send_and_die(insert, "Content-Length: 100\r\n", [b"10\n11\n"])
    short = landed() - chunked
    # Multipart external data (INSERT ... SELECT FROM _data), every row sent, no closing
    # boundary.
    boundary = "motcua-cut-insert"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"_data\"; filename=\"_data\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n20\n21\n22\n"
    ).encode()
    external = {
        "query": f"INSERT INTO {TABLE} SELECT x FROM _data",
        "_data_structure": "x UInt32",
        "_data_format": "TSV",
    }
    send_and_die(
        external,
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body) + 40}\r\n",
        [body],
    )
    multipart = landed() - chunked - short
    version = query("SELECT version()")
    query(f"DROP TABLE {TABLE}")
    print(f"ClickHouse {version}, rows landed from a request cut off mid-body:")
    print(f"  chunked, no last chunk:               {chunked} of 3")
    print(f"  Content-Length 100, 6 bytes sent:     {short} of 2")
    print(f"  multipart _data, no closing boundary: {multipart} of 3")


if __name__ == "__main__":
    main()
