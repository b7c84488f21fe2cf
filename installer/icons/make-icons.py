#!/usr/bin/env python3
"""Builds icon.ico (Windows) and icon.icns (macOS) from the app's PNG icons, with PNG entries
(both formats allow them), so no image library is needed. Run after changing src-tauri/icons."""
import pathlib
import struct

here = pathlib.Path(__file__).resolve().parent
src = here.parent.parent / "src-tauri" / "icons"
pngs = {32: src / "32x32.png", 128: src / "128x128.png", 256: src / "icon.png"}


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def ico(entries):
    head = struct.pack("<HHH", 0, 1, len(entries))
    offset = 6 + 16 * len(entries)
    table, body = b"", b""
    for data in entries:
        w, h = png_size(data)
        table += struct.pack("<BBBBHHII", w % 256, h % 256, 0, 0, 1, 32, len(data), offset + len(body))
        body += data
    return head + table + body


def icns(entries):
    # PNG-payload types: icp5 32x32, ic07 128x128, ic08 256x256.
    kinds = {32: b"icp5", 128: b"ic07", 256: b"ic08"}
    body = b"".join(kinds[png_size(d)[0]] + struct.pack(">I", 8 + len(d)) + d for d in entries)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


datas = [pngs[s].read_bytes() for s in sorted(pngs)]
for s, d in zip(sorted(pngs), datas):
    assert png_size(d) == (s, s), f"{pngs[s]} is not {s}x{s}"
(here / "icon.ico").write_bytes(ico(datas))
(here / "icon.icns").write_bytes(icns(datas))
print("wrote", here / "icon.ico", here / "icon.icns")
