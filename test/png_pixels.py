#!/usr/bin/env python3
"""Pixel checks of a PNG for test/plots.sql, with the standard library only.

usage: png_pixels.py FILE.hex X0 X1 Y0 Y1 [X0 X1 Y0 Y1 ...]
FILE.hex holds the PNG as hex (what psql's \\copy of encode(png, 'hex')
writes).  Prints, for each rectangle [X0, X1) x [Y0, Y1), the number of
pixels that are not white, separated by spaces.  The decoder is written
from the PNG specification (8-bit RGB or RGBA, no interlace, filters 0-4),
independent of cairo, which wrote the file.
"""
import struct
import sys
import zlib


def decode(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    with open(sys.argv[1]) as f:
        w, h, bpp, rows = decode(bytes.fromhex(f.read().strip()))
    counts = []
    args = [int(v) for v in sys.argv[2:]]
    for x0, x1, y0, y1 in zip(*[iter(args)] * 4):
        n = 0
        for y in range(max(0, y0), min(h, y1)):
            line = rows[y]
            for x in range(max(0, x0), min(w, x1)):
                if min(line[x * bpp:x * bpp + 3]) < 250:
                    n += 1
        counts.append(str(n))
    print(" ".join(counts))


main()
