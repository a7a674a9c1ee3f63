#!/usr/bin/env python3
"""Damaged audio files for scripts/corrupt-corpus, deterministic (fixed seed).

usage: corrupt_corpus.py OUTDIR FIXTURE...

Writes OUTDIR/<source>.<damage>.bin for each fixture and OUTDIR/corpus.copy,
the same files as COPY text rows (name, bytea in hex).  Damages: truncation
at many offsets, bit flips, zeroed ranges, shuffled and duplicated blocks,
swapped headers between formats, declared sizes far beyond the data (an ID3
tag, MP4 boxes, a Xing frame count, a WAV header), and MP3 frame headers
followed by garbage.
"""
import os
import random
import struct
import sys

SEED = 6


def syncsafe(n):
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3_len(d):
    """Length of a leading ID3v2 tag (0 if none)."""
    if d[:3] == b"ID3" and len(d) >= 10:
        s = d[6:10]
        return 10 + ((s[0] << 21) | (s[1] << 14) | (s[2] << 7) | s[3])
    return 0


def mp4_boxes(d):
    """(offset, size, type) of the top-level MP4 boxes."""
    out, i = [], 0
    while i + 8 <= len(d):
        size, typ = struct.unpack(">I4s", d[i:i + 8])
        out.append((i, size, typ))
        if size < 8:
            break
        i += size
    return out


def find_all(d, pat):
    i, out = d.find(pat), []
    while i >= 0:
        out.append(i)
        i = d.find(pat, i + 1)
    return out


def wav_header(rate, channels, bits, data_len, fmt_tag=1):
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate & 0xFFFFFFFF, (rate * block) & 0xFFFFFFFF,
                      block & 0xFFFF, bits)
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", data_len & 0xFFFFFFFF))


def damages(name, d, others, rng):
    n = len(d)
    yield "empty_after_header", d[:min(n, 10)]
    for off in sorted({1, 2, 3, 4, 7, 10, 11, 45, 100, 128, 417, 418, 1000, 4096,
                       n // 4, n // 3, n // 2, 2 * n // 3, 3 * n // 4, n - 100, n - 2, n - 1}):
        if 0 < off < n:
            yield "trunc_%d" % off, d[:off]
    for k in (1, 1, 4, 16, 64, 512):
        b = bytearray(d)
        for _ in range(k):
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        yield "flip_%d_%d" % (k, rng.randrange(1000)), bytes(b)
    head = id3_len(d) if d[:3] == b"ID3" else 0
    b = bytearray(d)
    for j in range(head, min(n, head + 64)):
        b[j] ^= 0xFF
    yield "flip_first_frame", bytes(b)
    for length in (16, 417, n // 8, n // 4):
        start = rng.randrange(max(1, n - length))
        yield "zero_%d_%d" % (start, length), d[:start] + bytes(length) + d[start + length:]
    yield "zero_head_512", bytes(min(n, 512)) + d[512:]
    yield "zero_tail_512", d[:max(0, n - 512)] + bytes(min(n, 512))
    yield "ff_range", d[:n // 2] + b"\xff" * (n // 8) + d[n // 2 + n // 8:]
    blocks = [d[i:i + 1024] for i in range(0, n, 1024)]
    shuffled = blocks[:]
    rng.shuffle(shuffled)
    yield "shuffled_blocks", b"".join(shuffled)
    yield "blocks_reversed", b"".join(reversed(blocks))
    yield "doubled", d + d
    yield "repeated_head", d[:n // 3] * 5
    # Headers swapped between formats.
    for oname, o in others:
        if oname != name:
            yield "head_of_" + oname, o[:64] + d[64:]
            yield "body_of_" + oname, d[:max(head, 64)] + o[max(id3_len(o), 64):]
            break
    # Declared sizes far beyond the data.
    if d[:3] == b"ID3":
        yield "id3_size_huge", d[:6] + syncsafe(0x0FFFFFFF) + d[10:]
        yield "id3_size_past_end", d[:6] + syncsafe(n + 1) + d[10:]
        yield "id3_size_zero", d[:6] + syncsafe(0) + d[10:]
        yield "id3_version_255", d[:3] + b"\xff\xff" + d[5:]
        yield "id3_footer_flag", d[:5] + b"\x10" + d[6:]
        yield "id3_only_huge", b"ID3\x04\x00\x00" + syncsafe(0x0FFFFFFF)
        yield "id3_nested", (b"ID3\x04\x00\x00" + syncsafe(n) + d) * 3
        for fr in (b"APIC", b"TIT2", b"TXXX", b"PRIV"):
            i = d.find(fr)
            if i >= 0:
                yield "id3_frame_%s_huge" % fr.decode(), d[:i + 4] + b"\x7f\xff\xff\xff" + d[i + 8:]
    else:
        yield "id3_prepended_huge", b"ID3\x04\x00\x00" + syncsafe(0x0FFFFFFF) + d
        yield "id3_prepended_short", b"ID3\x03\x00\x00" + syncsafe(n // 2) + d
    for tag in (b"Xing", b"Info"):
        i = d.find(tag)
        if i >= 0:
            yield "xing_frames_huge", d[:i + 4] + b"\x00\x00\x00\x0f\xff\xff\xff\xff\xff\xff\xff\xff" + d[i + 16:]
            yield "xing_toc_garbage", d[:i + 8] + bytes(rng.randrange(256) for _ in range(108)) + d[i + 116:]
    boxes = mp4_boxes(d)
    if boxes and boxes[0][2] == b"ftyp":
        for off, size, typ in boxes:
            t = typ.decode("latin-1")
            yield "box_%s_size_huge" % t, d[:off] + b"\xff\xff\xff\xff" + d[off + 4:]
            yield "box_%s_size_zero" % t, d[:off] + b"\x00\x00\x00\x00" + d[off + 4:]
            yield "box_%s_size_1" % t, d[:off] + b"\x00\x00\x00\x01" + d[off + 4:] + b"\xff" * 8
        for inner in (b"stsz", b"stco", b"stts", b"stsc", b"esds", b"mdhd", b"mvhd", b"stsd", b"trak"):
            for i in find_all(d, inner)[:1]:
                yield "%s_count_huge" % inner.decode(), d[:i + 8] + b"\x7f\xff\xff\xff" * 2 + d[i + 16:]
                yield "%s_size_huge" % inner.decode(), d[:i - 4] + b"\x7f\xff\xff\xff" + d[i:]
        moov = [b for b in boxes if b[2] == b"moov"]
        if moov:
            off = moov[0][0]
            yield "moov_first", d[:boxes[0][1]] + d[off:] + d[boxes[0][1]:off]
            yield "moov_missing", d[:off]
    # MP3 frame headers followed by garbage.
    for hdr in (b"\xff\xfb\x90\x64", b"\xff\xfb\xe0\x44", b"\xff\xf3\x18\xc4", b"\xff\xfa\x10\x00"):
        garbage = bytes(rng.randrange(256) for _ in range(rng.choice([4, 100, 417, 2000])))
        yield "frame_garbage_%s" % hdr.hex(), hdr + garbage
    yield "frames_then_garbage", b"".join(b"\xff\xfb\x90\x64" + bytes(rng.randrange(256) for _ in range(413))
                                          for _ in range(40))
    yield "sync_words_only", b"\xff\xfb" * 4096
    yield "data_after_garbage", bytes(rng.randrange(256) for _ in range(3000)) + d[head:]
    # A WAV header claiming impossible parameters, then this file's bytes.
    for rate, ch, bits, fmt_tag in ((0xFFFFFFFF, 2, 16, 1), (44100, 65535, 16, 1), (1, 1, 8, 1),
                                    (44100, 2, 0, 1), (44100, 2, 32, 3), (44100, 1, 16, 0x55),
                                    (8000, 1, 16, 0xFFFE)):
        yield "wav_%d_%d_%d_%x" % (rate, ch, bits, fmt_tag), wav_header(rate, ch, bits, 0xFFFFFFFF, fmt_tag) + d


def main():
    outdir, fixtures = sys.argv[1], sorted(sys.argv[2:])
    rng = random.Random(SEED)
    os.makedirs(outdir, exist_ok=True)
    sources = [(os.path.basename(f), open(f, "rb").read()) for f in fixtures]
    count = 0
    with open(os.path.join(outdir, "corpus.copy"), "w") as copy:
        for name, d in sources:
            seen = set()
            for damage, data in damages(name, d, sources, rng):
                if not data or data in seen:
                    continue
                seen.add(data)
                fname = "%s.%s.bin" % (name, damage)
                with open(os.path.join(outdir, fname), "wb") as f:
                    f.write(data)
                copy.write("%s\t\\\\x%s\n" % (fname, data.hex()))
                count += 1
    print(count)


if __name__ == "__main__":
    main()
