#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seeds of the reader's fuzz targets: tests/fuzz/gen_reader_seeds.py tests/fuzz/corpus

der:  the certificates of tests/vectors/reader/.
apdu: a card's side of a whole identification as kortnod's reader asks it (reader/card.c):
      GET DATA CPLC, SELECT/READ BINARY of EF.DIR, ODF, CDF and the certificate in 0xE0-byte
      chunks; each answer is a 2-byte big-endian length and the bytes (fuzz_apdu.c).
"""
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OK, EOF = b"\x90\x00", b"\x62\x82"


def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        head = bytes([n])
    elif n < 0x100:
        head = bytes([0x81, n])
    else:
        head = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + head + value


def frames(answers):
    return b"".join(len(a).to_bytes(2, "big") + a for a in answers)


def card(cert, cplc=True, cla00=False, pkcs15=True):
    aid = bytes.fromhex("A000000063504B43532D3135")
    efdir = tlv(0x61, tlv(0x4F, aid) + tlv(0x50, b"SITHS") + tlv(0x51, bytes.fromhex("3F005015")))
    odf = tlv(0xA4, tlv(0x30, tlv(0x04, bytes.fromhex("3F0050154404"))))
    cdf = tlv(0x30, tlv(0x30, tlv(0x0C, b"Autentisering")) + tlv(0x30, tlv(0x04, b"\x45"))
              + tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0x04, bytes.fromhex("3F0050154331"))))))
    answers = []
    if cla00:
        answers.append(b"\x6e\x00")
    cplc_data = bytes.fromhex("4790504001020304050607081234567800000000") + bytes(22)
    answers.append(b"\x9f\x7f\x2a" + cplc_data + OK if cplc else b"\x6a\x88")
    if not pkcs15:
        return frames(answers + [b"\x6a\x82", b"\x6a\x82"])
    for content in (efdir, odf, cdf):
        answers += [OK, content + EOF]
    answers.append(OK)
    for off in range(0, len(cert), 0xE0):
        answers.append(cert[off:off + 0xE0] + OK)
    return frames(answers)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fuzz", "corpus")
    vec = os.path.join(ROOT, "tests", "vectors", "reader")
    certs = {name: open(os.path.join(vec, name + ".der"), "rb").read()
             for name in ("hsa-test1", "no-serial")}
    seeds = {
        "der": certs,
        "apdu": {
            "card": card(certs["hsa-test1"]),
            "no-cplc": card(certs["hsa-test1"], cplc=False),
            "cla00": card(certs["hsa-test1"], cla00=True),
            "no-pkcs15": card(certs["hsa-test1"], pkcs15=False),
            "no-serial": card(certs["no-serial"]),
        },
    }
    for target, files in seeds.items():
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(out, target, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
