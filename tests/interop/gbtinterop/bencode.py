# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small bencoder (any dictionary, so odd or hostile torrents too) and a
decoder that also returns the raw bytes of the top-level "info" value."""


def bencode(obj):
    out = []

    def enc(o):
        if isinstance(o, bool):
            raise TypeError("bool in bencode")
        if isinstance(o, int):
            out.append(b"i%de" % o)
        elif isinstance(o, (bytes, bytearray)):
            out.append(b"%d:" % len(o))
            out.append(bytes(o))
        elif isinstance(o, str):
            enc(o.encode("utf-8"))
        elif isinstance(o, (list, tuple)):
            out.append(b"l")
            for x in o:
                enc(x)
            out.append(b"e")
        elif isinstance(o, dict):
            out.append(b"d")
            items = [(k.encode("utf-8") if isinstance(k, str) else k, v) for k, v in o.items()]
            for k, v in sorted(items):
                enc(k)
                enc(v)
            out.append(b"e")
        else:
            raise TypeError("cannot bencode %r" % type(o))

    enc(obj)
    return b"".join(out)


def bdecode(data):
    """Decodes bencode; returns (value, raw_info_span or None)."""
    info_span = [None]

    def dec(i, depth):
        c = data[i:i + 1]
        if c == b"i":
            j = data.index(b"e", i)
            return int(data[i + 1:j]), j + 1
        if c == b"l":
            i += 1
            lst = []
            while data[i:i + 1] != b"e":
                v, i = dec(i, depth + 1)
                lst.append(v)
            return lst, i + 1
        if c == b"d":
            i += 1
            d = {}
            while data[i:i + 1] != b"e":
                k, i = dec(i, depth + 1)
                start = i
                v, i = dec(i, depth + 1)
                if depth == 0 and k == b"info":
                    info_span[0] = data[start:i]
                d[k] = v
            return d, i + 1
        if c.isdigit():
            j = data.index(b":", i)
            n = int(data[i:j])
            return data[j + 1:j + 1 + n], j + 1 + n
        raise ValueError("bad bencode at %d" % i)

    v, end = dec(0, 0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return v, info_span[0]
