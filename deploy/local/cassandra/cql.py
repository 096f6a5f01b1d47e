#!/usr/bin/env python3
"""Minimal CQL client (native protocol v4, standard library only).

Used by deploy/local/services/cassandra.sh as the readiness check, and handy by hand:

    cql.py "SELECT release_version FROM system.local"
    cql.py -H "USE ks" "SELECT * FROM t"          # statements share one connection
    echo "CREATE KEYSPACE ...; CREATE TABLE ...;" | cql.py   # stdin, split on ';' at line end

Rows are printed tab-separated (NULL for null), one per line; -H adds a header line.
Exit status: 0 all statements succeeded, 1 the server returned an error,
2 could not connect / protocol failure / timeout. No authentication support
(the local node runs with AllowAllAuthenticator).
"""
import argparse
import datetime
import decimal
import ipaddress
import socket
import struct
import sys
import uuid

VERSION = 0x04
OP_ERROR, OP_STARTUP, OP_READY, OP_AUTHENTICATE, OP_QUERY, OP_RESULT = 0x00, 0x01, 0x02, 0x03, 0x07, 0x08
CONSISTENCY = {"ANY": 0, "ONE": 1, "TWO": 2, "THREE": 3, "QUORUM": 4, "ALL": 5,
               "LOCAL_QUORUM": 6, "EACH_QUORUM": 7, "SERIAL": 8, "LOCAL_SERIAL": 9, "LOCAL_ONE": 10}


class CqlError(Exception):
    """The server answered with an ERROR frame."""


class Conn:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.stream = 0
        self.warnings = []
        op, body = self.request(OP_STARTUP, _string_map({"CQL_VERSION": "3.0.0"}))
        if op == OP_AUTHENTICATE:
            raise CqlError("server requires authentication (not supported)")
        if op != OP_READY:
            raise IOError("unexpected answer to STARTUP: opcode %d" % op)

    def request(self, opcode, body):
        self.stream = (self.stream + 1) % 32768
        self.sock.sendall(struct.pack(">BBhBi", VERSION, 0, self.stream, opcode, len(body)) + body)
        while True:
            header = self._recv(9)
            version, flags, stream, op, length = struct.unpack(">BBhBi", header)
            payload = self._recv(length)
            if version & 0x7F != VERSION:
                raise IOError("server answered with protocol version %d" % (version & 0x7F))
            if stream != self.stream:  # events (stream -1) or stale answers
                continue
            if flags & 0x01:
                raise IOError("compressed frame (not negotiated)")
            pos = 0
            if flags & 0x02:  # tracing id
                pos += 16
            if flags & 0x08:  # warnings: [string list]
                n = struct.unpack(">H", payload[pos:pos + 2])[0]
                pos += 2
                for _ in range(n):
                    w, pos = _read_string(payload, pos)
                    self.warnings.append(w)
            if flags & 0x04:  # custom payload: [bytes map]
                n = struct.unpack(">H", payload[pos:pos + 2])[0]
                pos += 2
                for _ in range(n):
                    _, pos = _read_string(payload, pos)
                    ln = struct.unpack(">i", payload[pos:pos + 4])[0]
                    pos += 4 + max(ln, 0)
            payload = payload[pos:]
            if op == OP_ERROR:
                code = struct.unpack(">i", payload[:4])[0]
                msg, _ = _read_string(payload, 4)
                raise CqlError("error 0x%04x: %s" % (code, msg))
            return op, payload

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise IOError("connection closed by server")
            buf += chunk
        return bytes(buf)

    def query(self, cql, consistency):
        q = cql.encode("utf-8")
        body = struct.pack(">i", len(q)) + q + struct.pack(">HB", consistency, 0)
        op, payload = self.request(OP_QUERY, body)
        if op != OP_RESULT:
            raise IOError("unexpected answer to QUERY: opcode %d" % op)
        kind = struct.unpack(">i", payload[:4])[0]
        if kind == 2:
            return _parse_rows(payload, 4)
        return None, None  # void, set_keyspace, schema_change

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _string_map(m):
    out = struct.pack(">H", len(m))
    for k, v in m.items():
        for s in (k, v):
            b = s.encode()
            out += struct.pack(">H", len(b)) + b
    return out


def _read_string(buf, pos):
    n = struct.unpack(">H", buf[pos:pos + 2])[0]
    return buf[pos + 2:pos + 2 + n].decode("utf-8", "replace"), pos + 2 + n


def _read_type(buf, pos):
    tid = struct.unpack(">H", buf[pos:pos + 2])[0]
    pos += 2
    if tid == 0x0000:  # custom
        name, pos = _read_string(buf, pos)
        return ("custom", name), pos
    if tid in (0x0020, 0x0022):  # list, set
        sub, pos = _read_type(buf, pos)
        return (tid, sub), pos
    if tid == 0x0021:  # map
        k, pos = _read_type(buf, pos)
        v, pos = _read_type(buf, pos)
        return (tid, k, v), pos
    if tid == 0x0030:  # udt
        _ks, pos = _read_string(buf, pos)
        _name, pos = _read_string(buf, pos)
        n = struct.unpack(">H", buf[pos:pos + 2])[0]
        pos += 2
        fields = []
        for _ in range(n):
            fname, pos = _read_string(buf, pos)
            ftype, pos = _read_type(buf, pos)
            fields.append((fname, ftype))
        return (tid, fields), pos
    if tid == 0x0031:  # tuple
        n = struct.unpack(">H", buf[pos:pos + 2])[0]
        pos += 2
        subs = []
        for _ in range(n):
            t, pos = _read_type(buf, pos)
            subs.append(t)
        return (tid, subs), pos
    return (tid,), pos


def _parse_rows(buf, pos):
    flags, ncols = struct.unpack(">ii", buf[pos:pos + 8])
    pos += 8
    if flags & 0x0002:  # has_more_pages: paging state
        n = struct.unpack(">i", buf[pos:pos + 4])[0]
        pos += 4 + max(n, 0)
    names, types = [], []
    if not flags & 0x0004:  # metadata present
        if flags & 0x0001:  # global table spec
            _, pos = _read_string(buf, pos)
            _, pos = _read_string(buf, pos)
        for _ in range(ncols):
            if not flags & 0x0001:
                _, pos = _read_string(buf, pos)
                _, pos = _read_string(buf, pos)
            name, pos = _read_string(buf, pos)
            t, pos = _read_type(buf, pos)
            names.append(name)
            types.append(t)
    nrows = struct.unpack(">i", buf[pos:pos + 4])[0]
    pos += 4
    rows = []
    for _ in range(nrows):
        row = []
        for c in range(ncols):
            n = struct.unpack(">i", buf[pos:pos + 4])[0]
            pos += 4
            if n < 0:
                row.append(None)
            else:
                row.append(_decode(types[c] if types else (0x0003,), buf[pos:pos + n]))
                pos += n
        rows.append(row)
    return names, rows


def _decode(t, b):
    tid = t[0]
    try:
        if tid in (0x0001, 0x000D):  # ascii, varchar
            return b.decode("utf-8", "replace")
        if tid in (0x0002, 0x0005, 0x0009, 0x0013, 0x0014, 0x000E):  # ints, counter, varint
            return int.from_bytes(b, "big", signed=True)
        if tid == 0x0004:
            return b != b"\x00"
        if tid == 0x0007:
            return struct.unpack(">d", b)[0]
        if tid == 0x0008:
            return struct.unpack(">f", b)[0]
        if tid == 0x0006:  # decimal: int scale + varint unscaled
            scale = struct.unpack(">i", b[:4])[0]
            return decimal.Decimal(int.from_bytes(b[4:], "big", signed=True)).scaleb(-scale)
        if tid == 0x000B:  # timestamp, ms since epoch
            ms = struct.unpack(">q", b)[0]
            epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            return (epoch + datetime.timedelta(milliseconds=ms)).isoformat()
        if tid in (0x000C, 0x000F):
            return str(uuid.UUID(bytes=b))
        if tid == 0x0010:
            return str(ipaddress.ip_address(b))
        if tid == 0x0011:  # date: days since epoch, centred on 2^31
            days = struct.unpack(">I", b)[0] - (1 << 31)
            return (datetime.date(1970, 1, 1) + datetime.timedelta(days=days)).isoformat()
        if tid == 0x0012:  # time: ns since midnight
            return str(struct.unpack(">q", b)[0])
        if tid in (0x0020, 0x0022, 0x0021):  # list, set, map
            n = struct.unpack(">i", b[:4])[0]
            pos, items = 4, []
            for _ in range(n * (2 if tid == 0x0021 else 1)):
                ln = struct.unpack(">i", b[pos:pos + 4])[0]
                pos += 4
                items.append(None if ln < 0 else b[pos:pos + ln])
                pos += max(ln, 0)
            if tid == 0x0021:
                return {_decode(t[1], k): _decode(t[2], v) if v is not None else None
                        for k, v in zip(items[::2], items[1::2])}
            vals = [_decode(t[1], x) if x is not None else None for x in items]
            return vals if tid == 0x0020 else "{" + ", ".join(map(str, vals)) + "}"
    except (struct.error, ValueError, IndexError):
        pass
    return "0x" + b.hex()  # blob, custom, udt, tuple, duration, vector


def _fmt(v):
    return "NULL" if v is None else str(v)


def _statements(text):
    out, cur = [], []
    for line in text.splitlines():
        cur.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(cur).strip().rstrip(";"))
            cur = []
    rest = "\n".join(cur).strip().rstrip(";")
    if rest:
        out.append(rest)
    return [s for s in out if s.strip()]


def main():
    ap = argparse.ArgumentParser(description="Minimal CQL client (protocol v4, no auth).")
    ap.add_argument("statements", nargs="*", help="CQL statements (default: read stdin)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("-p", "--port", type=int, default=9042)
    ap.add_argument("-t", "--timeout", type=float, default=10.0, help="seconds, per connect/answer")
    ap.add_argument("-c", "--consistency", default="ONE", choices=sorted(CONSISTENCY))
    ap.add_argument("-H", "--header", action="store_true", help="print column names before rows")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing, only the exit status")
    ap.add_argument("--expect-rows", action="store_true",
                    help="fail (exit 1) if the last statement returned no rows")
    a = ap.parse_args()
    stmts = a.statements or _statements(sys.stdin.read())
    try:
        conn = Conn(a.host, a.port, a.timeout)
    except (OSError, IOError, CqlError, struct.error) as e:
        if not a.quiet:
            print("cql: cannot connect to %s:%d: %s" % (a.host, a.port, e), file=sys.stderr)
        return 2
    rows = None
    try:
        for s in stmts:
            names, rows = conn.query(s, CONSISTENCY[a.consistency])
            if conn.warnings and not a.quiet:
                for w in conn.warnings:
                    print("cql: warning: %s" % w, file=sys.stderr)
            conn.warnings = []
            if rows is None or a.quiet:
                continue
            if a.header:
                print("\t".join(names))
            for r in rows:
                print("\t".join(_fmt(v) for v in r))
    except CqlError as e:
        if not a.quiet:
            print("cql: %s" % e, file=sys.stderr)
        return 1
    except (OSError, IOError, struct.error) as e:
        if not a.quiet:
            print("cql: %s" % e, file=sys.stderr)
        return 2
    finally:
        conn.close()
    if a.expect_rows and not rows:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
