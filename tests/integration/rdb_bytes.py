"""RDB value bodies built by hand (a type byte and its encoding, without the
DUMP footer), as src/rdb/rdb_io.h, src/rdb/rdb_lp.h and src/rdb/rdb_zl.h lay
them out: shared by tests/integration/test_dump.py (RESTORE of the encodings
before RDB 10 on raftcache and redis-server) and tests/fuzz/gen_corpus.py
(the seed corpus of fuzz_rdb). Nothing here needs a server.
"""

import struct

def _crc64_table():
    table = []
    for b in range(256):
        crc = b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x95AC9329AC4BC9B5 if crc & 1 else 0)
        table.append(crc)
    return table


CRC64_TABLE = _crc64_table()


def crc64(data):
    """Redis's CRC-64 (Jones polynomial, reflected), a byte at a time: the
    tests' own, so a payload a test damages or builds carries a valid
    footer."""
    crc = 0
    for b in data:
        crc = CRC64_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def with_footer(body, version=10):
    """A DUMP payload: body, the RDB version, the CRC-64 of both."""
    data = body + struct.pack("<H", version)
    return data + struct.pack("<Q", crc64(data))


# RDB type bytes (src/rdb/rdb_value.h)
STRING, LIST, SET, ZSET, HASH, ZSET_2 = 0, 1, 2, 3, 4, 5
HASH_ZIPMAP, LIST_ZIPLIST, SET_INTSET, ZSET_ZIPLIST, HASH_ZIPLIST = 9, 10, 11, 12, 13
LIST_QUICKLIST, HASH_LISTPACK, ZSET_LISTPACK, LIST_QUICKLIST_2 = 14, 16, 17, 18


def rlen(n):
    """An RDB length: 6 or 14 bits, or 0x80 and 32 bits big-endian."""
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | n >> 8, n & 0xFF])
    return b"\x80" + struct.pack(">I", n)


def rstr(s):
    """An RDB string, its bytes as they are (no integer or LZF encoding)."""
    s = s if isinstance(s, bytes) else str(s).encode()
    return rlen(len(s)) + s


def text_score(d):
    """A ZSET score before RDB 8: 253 NaN, 254 +inf, 255 -inf, or text."""
    if d == "nan":
        return b"\xfd"
    if d in ("inf", "+inf"):
        return b"\xfe"
    if d == "-inf":
        return b"\xff"
    return bytes([len(d)]) + d.encode()


# ---------------------------------------------------------------- ziplist

def zl_int_entry(v):
    """The smallest integer encoding of v, as Redis's ziplist writer chose."""
    if 0 <= v <= 12:
        return bytes([0xF1 + v])
    for enc, fmt, lo, hi in ((0xFE, "<b", -128, 127), (0xC0, "<h", -2 ** 15, 2 ** 15 - 1),
                             (0xF0, None, -2 ** 23, 2 ** 23 - 1),
                             (0xD0, "<i", -2 ** 31, 2 ** 31 - 1)):
        if lo <= v <= hi:
            data = struct.pack("<i", v)[:3] if fmt is None else struct.pack(fmt, v)
            return bytes([enc]) + data
    return b"\xe0" + struct.pack("<q", v)


def zl_str_entry(s):
    if len(s) < 64:
        return bytes([len(s)]) + s
    if len(s) < 16384:
        return bytes([0x40 | len(s) >> 8, len(s) & 0xFF]) + s
    return b"\x80" + struct.pack(">I", len(s)) + s


def ziplist(elements, count=None, tail=None):
    """A ziplist of elements (int, or str/bytes stored as integers when they
    are canonical ones, as Redis did); count and tail override the header."""
    entries, prev, last = b"", 0, 10
    for e in elements:
        if isinstance(e, str):
            e = e.encode()
        if isinstance(e, bytes):
            try:
                if str(int(e)).encode() == e and -2 ** 63 <= int(e) < 2 ** 63:
                    e = int(e)
            except ValueError:
                pass
        body = zl_int_entry(e) if isinstance(e, int) else zl_str_entry(e)
        head = bytes([prev]) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
        last = 10 + len(entries)
        entries += head + body
        prev = len(head) + len(body)
    total = 10 + len(entries) + 1
    n = len(elements) if count is None else count
    return (struct.pack("<IIH", total, last if tail is None else tail, min(n, 65535)) + entries +
            b"\xff")


def zipmap(pairs, count=None):
    """A zipmap (Redis 2.4 and older): a count byte, then field, value pairs."""
    def zlen(n):
        return bytes([n]) if n < 254 else b"\xfe" + struct.pack("<I", n)
    out = bytes([len(pairs) if count is None else count])
    for f, v in pairs:
        f, v = f.encode(), v.encode()
        out += zlen(len(f)) + f + zlen(len(v)) + b"\x00" + v
    return out + b"\xff"


# --------------------------------------------------------------- listpack

def lp_entry(s):
    """A listpack string entry (src/rdb/rdb_lp.h), with its back-length."""
    if len(s) < 64:
        e = bytes([0x80 | len(s)]) + s
    elif len(s) < 4096:
        e = bytes([0xE0 | len(s) >> 8, len(s) & 0xFF]) + s
    else:
        e = b"\xf0" + struct.pack("<I", len(s)) + s
    n = len(e)  # the back-length: rdb_lp.c's sizes, the high 7 bits first
    size = 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4
    back = bytes([(n >> (7 * (size - 1 - i))) & 127 | (128 if i else 0) for i in range(size)])
    return e + back


def listpack(elements):
    """A listpack of string entries (integers as their text: a reader takes
    either)."""
    body = b"".join(lp_entry(e if isinstance(e, bytes) else str(e).encode()) for e in elements)
    return struct.pack("<IH", 6 + len(body) + 1, len(elements)) + body + b"\xff"


# ---------------------------------------------------- bodies of each type

def legacy_bodies():
    """name -> (body, the commands that build the same value): one for each
    encoding before RDB 10 that redis-server 7.0 reads. A sorted set's
    ziplist is in score order, as Redis wrote it (redis-server keeps the
    order it is given; raftcache sorts)."""
    big = "x" * 300
    zl_list = ["a", "-100", "7", "30000", "-8000000", "2000000000", "-9000000000", "", big,
               "after-big"]
    return {
        "list": (bytes([LIST]) + rlen(3) + rstr("a") + rstr("12") + rstr(big),
                 [("RPUSH", "a", "12", big)]),
        "list_ziplist": (bytes([LIST_ZIPLIST]) + rstr(ziplist(zl_list)), [("RPUSH", *zl_list)]),
        "list_quicklist": (bytes([LIST_QUICKLIST]) + rlen(3) + rstr(ziplist(["a", "b"])) +
                           rstr(ziplist([])) + rstr(ziplist(["1", big])),
                           [("RPUSH", "a", "b", "1", big)]),
        "zset_text": (bytes([ZSET]) + rlen(4) + b"".join(
            rstr(m) + text_score(s) for m, s in (("a", "1.5"), ("b", "inf"), ("c", "-inf"),
                                                 ("d", "0.10000000000000001"))),
            [("ZADD", "1.5", "a", "inf", "b", "-inf", "c", "0.1", "d")]),
        "zset_ziplist": (bytes([ZSET_ZIPLIST]) + rstr(ziplist(["c", "-inf", "a", "1.5", "b", "3"])),
                         [("ZADD", "1.5", "a", "3", "b", "-inf", "c")]),
        "zset_ziplist_big": (bytes([ZSET_ZIPLIST]) + rstr(ziplist(
            [x for i in range(200) for x in (f"m{i}", str(i))])),
            [("ZADD", *[x for i in range(200) for x in (str(i), f"m{i}")])]),
        "hash_ziplist": (bytes([HASH_ZIPLIST]) + rstr(ziplist(["f1", "v1", "f2", "300", "7", big])),
                         [("HSET", "f1", "v1", "f2", "300", "7", big)]),
        "hash_zipmap": (bytes([HASH_ZIPMAP]) + rstr(zipmap([("name", "raft"), ("n", "7")])),
                        [("HSET", "name", "raft", "n", "7")]),
        "hash_zipmap_long": (bytes([HASH_ZIPMAP]) + rstr(zipmap([("f", big)])),
                             [("HSET", "f", big)]),
    }


def damaged_legacy_bodies():
    """name -> body: payloads both servers refuse ("Bad data format")."""
    good = ziplist(["a", "b"])
    return {
        "ziplist_count": bytes([LIST_ZIPLIST]) + rstr(ziplist(["a", "b"], count=3)),
        "ziplist_tail": bytes([LIST_ZIPLIST]) + rstr(ziplist(["a", "b"], tail=10)),
        "ziplist_prevlen": bytes([LIST_ZIPLIST]) + rstr(good[:13] + b"\x05" + good[14:]),
        "ziplist_encoding": bytes([LIST_ZIPLIST]) + rstr(good[:11] + b"\xc1" + good[12:]),
        "ziplist_no_end": bytes([LIST_ZIPLIST]) + rstr(good[:-1] + b"\x00"),
        "ziplist_empty": bytes([LIST_ZIPLIST]) + rstr(ziplist([])),
        "quicklist_empty_nodes": bytes([LIST_QUICKLIST]) + rlen(1) + rstr(ziplist([])),
        "quicklist_empty_string": bytes([LIST_QUICKLIST]) + rlen(1) + rstr(b""),
        "list_empty": bytes([LIST]) + rlen(0),
        "zset_text_nan": bytes([ZSET]) + rlen(1) + rstr("m") + text_score("nan"),
        "zset_text_dup": bytes([ZSET]) + rlen(2) + (rstr("m") + text_score("1")) * 2,
        "zset_text_empty_score": bytes([ZSET]) + rlen(1) + rstr("m") + b"\x00",
        "zset_ziplist_odd": bytes([ZSET_ZIPLIST]) + rstr(ziplist(["a", "1", "b"])),
        "zset_ziplist_dup": bytes([ZSET_ZIPLIST]) + rstr(ziplist(["a", "1", "a", "2"])),
        "hash_ziplist_dup": bytes([HASH_ZIPLIST]) + rstr(ziplist(["f", "1", "f", "2"])),
        "zipmap_dup": bytes([HASH_ZIPMAP]) + rstr(zipmap([("f", "1"), ("f", "2")])),
        "zipmap_count": bytes([HASH_ZIPMAP]) + rstr(zipmap([("f", "1")], count=2)),
        "zipmap_empty": bytes([HASH_ZIPMAP]) + rstr(zipmap([])),
        "zipmap_short_len5": bytes([HASH_ZIPMAP]) + rstr(b"\x01\xfe\x01\x00\x00\x00f\x01\x001\xff"),
    }


def intset(values, width):
    return struct.pack("<II", width, len(values)) + b"".join(
        v.to_bytes(width, "little", signed=True) for v in sorted(values))


def modern_bodies():
    """name -> body: each encoding of RDB 10 (redis-server 7.0's), as
    src/rdb/rdb_value.h writes them, with the string encodings of
    src/rdb/rdb_io.h (integers; LZF: a literal run and a back-reference
    making "abc" * 4)."""
    pairs = ["f1", "v1", "f2", "300"]
    return {
        "string": bytes([STRING]) + rstr("hello"),
        "string_int8": bytes([STRING]) + b"\xc0\x7b",
        "string_int16": bytes([STRING]) + b"\xc1" + struct.pack("<h", -3000),
        "string_int32": bytes([STRING]) + b"\xc2" + struct.pack("<i", 70000),
        "string_lzf": bytes([STRING]) + b"\xc3" + rlen(7) + rlen(12) + b"\x02abc\xe0\x00\x02",
        "quicklist_2": bytes([LIST_QUICKLIST_2]) + rlen(2) + rlen(2) + rstr(listpack(["a", "1"])) +
        rlen(1) + rstr("plain element"),
        "set": bytes([SET]) + rlen(2) + rstr("a") + rstr("b"),
        "intset16": bytes([SET_INTSET]) + rstr(intset([1, 2, -40000 // 2], 2)),
        "intset64": bytes([SET_INTSET]) + rstr(intset([1, 2 ** 40], 8)),
        "zset_2": bytes([ZSET_2]) + rlen(2) + rstr("a") + struct.pack("<d", 1.5) + rstr("b") +
        struct.pack("<d", float("-inf")),
        "zset_listpack": bytes([ZSET_LISTPACK]) + rstr(listpack(["a", "1", "b", "2.5"])),
        "hash": bytes([HASH]) + rlen(2) + b"".join(rstr(x) for x in pairs),
        "hash_listpack": bytes([HASH_LISTPACK]) + rstr(listpack(pairs)),
    }
