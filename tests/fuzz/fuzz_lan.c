/* SPDX-License-Identifier: MIT */
/*
 * LAN announcements (node/lan.c), lan_decode() with a fixed key. The first input byte chooses:
 *  - even: the rest is a datagram as it came: refused with a reason and nothing filled in, or
 *    accepted, and then it is the very packet lan_encode_nonce() makes of what was read;
 *  - odd: the rest is a plaintext (cut or padded with zeros to 44 bytes, then a nonce), sealed
 *    here with secretbox as docs/protocol.md says, so that the checks behind the MAC are reached:
 *    the verdict must be the one the layout gives; then one bit of the packet, chosen by the
 *    input, is flipped, or the packet is cut there: refused.
 */
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "kn.h"
#include "lan.h"

static const uint8_t netkey[32] = { 7, 7, 7 };

#define BOX_OFF (LAN_MAGIC_LEN + LAN_NONCE_LEN)

/* What decode() fills *a with first: a refusal leaves it so. */
static void fill(struct lan_announce *a)
{
    memset(a, 0xa5, sizeof(*a));
}

static void check_refused(int r, const char *why, const struct lan_announce *a)
{
    struct lan_announce sentinel;
    fill(&sentinel);
    FUZZ_CHECK(r == KN_ETRUNC || r == KN_ETRAIL || r == KN_EFORMAT || r == KN_ECRYPTO ||
               r == KN_EVERSION || r == KN_EFIELD || r == KN_EPROTO);
    FUZZ_CHECK(why && why[0]);
    FUZZ_CHECK(memcmp(a, &sentinel, sizeof(*a)) == 0);
}

static int decode(const uint8_t *key, const uint8_t *buf, size_t len, struct lan_announce *a,
                  const char **why)
{
    fill(a);
    *why = NULL;
    return lan_decode(key, buf, len, a, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[32], pkt[LAN_PACKET_LEN], again[LAN_PACKET_LEN];
    struct lan_announce a;
    const char *why;
    int r;

    if (sodium_init() < 0)
        abort();
    if (size == 0)
        return 0;
    lan_key(netkey, key);
    if (data[0] % 2 == 0) {
        r = decode(key, data + 1, size - 1, &a, &why);
        if (r < 0) {
            check_refused(r, why, &a);
            return 0;
        }
        FUZZ_CHECK(r == 0 && why && why[0] == '\0');
        FUZZ_CHECK(size - 1 == LAN_PACKET_LEN);
        FUZZ_CHECK(a.role >= 0 && a.role <= LAN_ROLE_MAX && a.port != 0);
        lan_encode_nonce(key, &a, data + 1 + LAN_MAGIC_LEN, again);
        FUZZ_CHECK(memcmp(again, data + 1, LAN_PACKET_LEN) == 0);
        return 0;
    }

    uint8_t plain[LAN_PLAIN_LEN] = { 0 };
    size_t n = size - 1 < LAN_PLAIN_LEN ? size - 1 : LAN_PLAIN_LEN;
    memcpy(plain, data + 1, n);
    memcpy(pkt, LAN_MAGIC, LAN_MAGIC_LEN);
    memset(pkt + LAN_MAGIC_LEN, 0, LAN_NONCE_LEN);
    if (size - 1 > LAN_PLAIN_LEN) {
        size_t m = size - 1 - LAN_PLAIN_LEN;
        memcpy(pkt + LAN_MAGIC_LEN, data + 1 + LAN_PLAIN_LEN,
               m < LAN_NONCE_LEN ? m : LAN_NONCE_LEN);
    }
    crypto_secretbox_easy(pkt + BOX_OFF, plain, sizeof(plain), pkt + LAN_MAGIC_LEN, key);

    uint16_t port = (uint16_t)(plain[2] << 8 | plain[3]);
    int want = plain[0] != 1 ? KN_EVERSION : plain[1] > 2 ? KN_EFIELD : port == 0 ? KN_EPROTO : 0;
    r = decode(key, pkt, sizeof(pkt), &a, &why);
    FUZZ_CHECK(r == want);
    if (r < 0) {
        check_refused(r, why, &a);
    } else {
        uint64_t t = 0;
        for (int i = 0; i < 8; i++)
            t = t << 8 | plain[36 + i];
        FUZZ_CHECK(a.role == plain[1] && a.port == port && a.time_ms == t);
        FUZZ_CHECK(memcmp(a.node, plain + 4, 32) == 0);
        lan_encode_nonce(key, &a, pkt + LAN_MAGIC_LEN, again);
        FUZZ_CHECK(memcmp(again, pkt, LAN_PACKET_LEN) == 0);
    }

    /* One bit anywhere (magic, nonce, MAC, ciphertext), or a cut: refused either way. */
    size_t at = (size_t)data[size - 1] * 251 + (size > 2 ? data[size - 2] : 0);
    if (data[0] & 2) {
        at %= LAN_PACKET_LEN * 8;
        pkt[at / 8] ^= (uint8_t)(1u << (at % 8));
        r = decode(key, pkt, sizeof(pkt), &a, &why);
        FUZZ_CHECK(r == (at < LAN_MAGIC_LEN * 8 ? KN_EFORMAT : KN_ECRYPTO));
    } else {
        at %= LAN_PACKET_LEN;
        uint8_t *cut = malloc(at ? at : 1); /* exact size, so that ASan sees a read past it */
        FUZZ_CHECK(cut);
        memcpy(cut, pkt, at);
        r = decode(key, cut, at, &a, &why);
        free(cut);
        FUZZ_CHECK(r == KN_ETRUNC);
    }
    check_refused(r, why, &a);
    return 0;
}
