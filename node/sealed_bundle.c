/* SPDX-License-Identifier: MIT */
/*
 * Bundles for carrying by hand (a USB stick, the post): an export file (docs/log-format.md)
 * encrypted and authenticated with a key derived from the network key, with libsodium's
 * secretstream (XChaCha20-Poly1305) in chunks, the last one marked final. A lost stick reveals
 * nothing; a bundle of another network, an altered byte, or a cut-off file is refused before
 * anything of it is read into the log.
 *
 *   "KNSEAL02" (8 bytes) | secretstream header (24 bytes) |
 *   chunks: length (4 bytes, big-endian, of what follows) | ciphertext (plaintext + 17 bytes)
 *
 * The first chunk's plaintext says who made the bundle and when, and what the maker held: node
 * id (32 bytes), ms since 1970 (8, big-endian), the number of feeds that follow (4, big-endian;
 * 0 when the maker held more than fit in one chunk), and each feed as author (32) and latest
 * seq (8, big-endian). The rest is the export file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <unistd.h>

#include "node.h"

#define MAGIC     "KNSEAL02"
#define MAGIC_LEN 8
#define CHUNK     (64u << 10)
#define ABOUT_LEN (STORE_KEY_LEN + 8 + 4) /* without the feeds */
#define FEED_LEN  (STORE_KEY_LEN + 8)
#define MAX_FEEDS ((CHUNK - ABOUT_LEN) / FEED_LEN)

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void bundle_key(const uint8_t netkey[32],
                       uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES])
{
    static const char label[] = "kortnod bundle v1";
    crypto_generichash(key, crypto_secretstream_xchacha20poly1305_KEYBYTES, (const uint8_t *)label,
                       sizeof(label) - 1, netkey, 32);
}

int node_bundle_seal(const uint8_t netkey[32], const struct node_bundle_about *about,
                     const char *plain_path, const char *out_path)
{
    uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_state st;
    uint8_t *in = kn_xmalloc(CHUNK),
            *out = kn_xmalloc(CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES);
    FILE *f = fopen(plain_path, "rb"), *g = NULL;
    char *tmp = NULL;
    int r = 0;
    if (!f) {
        r = KN_EIO;
        goto out;
    }
    size_t tl = strlen(out_path) + 8;
    tmp = kn_xmalloc(tl);
    snprintf(tmp, tl, "%s.tmp", out_path);
    if (!(g = fopen(tmp, "wb"))) {
        r = KN_EIO;
        goto out;
    }
    bundle_key(netkey, key);
    crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
    sodium_memzero(key, sizeof(key));
    if (fwrite(MAGIC, 1, MAGIC_LEN, g) != MAGIC_LEN ||
        fwrite(header, 1, sizeof(header), g) != sizeof(header))
        r = KN_EIO;
    if (r == 0) {
        /* The about chunk, built in the plaintext buffer: it fits by construction. */
        size_t nfeeds = json_object_size(about->clock), at = ABOUT_LEN;
        const char *hex;
        json_t *seq;
        if (nfeeds > MAX_FEEDS)
            nfeeds = 0;
        memcpy(in, about->node, STORE_KEY_LEN);
        put_be(in + STORE_KEY_LEN, about->made_ms, 8);
        put_be(in + STORE_KEY_LEN + 8, nfeeds, 4);
        json_object_foreach (nfeeds ? about->clock : NULL, hex, seq) {
            if (store_unhex(hex, in + at, STORE_KEY_LEN) < 0)
                memset(in + at, 0, STORE_KEY_LEN);
            put_be(in + at + STORE_KEY_LEN, (uint64_t)json_integer_value(seq), 8);
            at += FEED_LEN;
        }
        unsigned long long clen;
        crypto_secretstream_xchacha20poly1305_push(&st, out, &clen, in, at, NULL, 0, 0);
        uint8_t len[4];
        put_be(len, clen, 4);
        if (fwrite(len, 1, 4, g) != 4 || fwrite(out, 1, clen, g) != clen)
            r = KN_EIO;
    }
    /* Read ahead one chunk, so the last one is known when it is sealed. */
    size_t n = fread(in, 1, CHUNK, f);
    while (r == 0) {
        int c = fgetc(f);
        bool last = c == EOF;
        unsigned long long clen;
        crypto_secretstream_xchacha20poly1305_push(
            &st, out, &clen, in, n, NULL, 0,
            last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
        uint8_t len[4] = { (uint8_t)(clen >> 24), (uint8_t)(clen >> 16), (uint8_t)(clen >> 8),
                           (uint8_t)clen };
        if (fwrite(len, 1, 4, g) != 4 || fwrite(out, 1, clen, g) != clen)
            r = KN_EIO;
        if (last)
            break;
        in[0] = (uint8_t)c;
        n = 1 + fread(in + 1, 1, CHUNK - 1, f);
    }
    if (ferror(f))
        r = KN_EIO;
    if (fflush(g) != 0 || fclose(g) != 0)
        r = KN_EIO;
    g = NULL;
    if (r == 0 && rename(tmp, out_path) != 0)
        r = KN_EIO;
out:
    if (g)
        fclose(g);
    if (r < 0 && tmp)
        remove(tmp);
    if (f)
        fclose(f);
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(in, CHUNK);
    free(in);
    free(out);
    free(tmp);
    return r;
}

int node_bundle_export(struct node *n, const uint8_t netkey[32], json_t *since,
                       const char *out_path, uint64_t *count)
{
    struct node_bundle_about about = { .made_ms = node_now_ms() };
    size_t len = strlen(n->dir) + 40;
    char *plain = kn_xmalloc(len);
    snprintf(plain, len, "%s/.bundle-export-%ld", n->dir, (long)getpid());
    memcpy(about.node, n->id.pk, STORE_KEY_LEN);
    int r = node_clock_json(n, &about.clock);
    if (r == 0)
        r = node_export(n, plain, since, count);
    if (r == 0)
        r = node_bundle_seal(netkey, &about, plain, out_path);
    remove(plain);
    free(plain);
    json_decref(about.clock);
    return r;
}

int node_bundle_open(const uint8_t netkey[32], const char *in_path, const char *plain_path,
                     struct node_bundle_about *about, char *why, size_t why_size)
{
    uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    uint8_t head[MAGIC_LEN + crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_state st;
    uint8_t *in = kn_xmalloc(CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES),
            *out = kn_xmalloc(CHUNK);
    FILE *f = fopen(in_path, "rb"), *g = NULL;
    int r = 0;
    bool final = false, first = true;
    if (about)
        about->clock = NULL;
    snprintf(why, why_size, "%s", "");
    if (!f) {
        snprintf(why, why_size, "cannot read it");
        r = KN_EIO;
        goto out;
    }
    if (fread(head, 1, sizeof(head), f) != sizeof(head) || memcmp(head, MAGIC, MAGIC_LEN) != 0) {
        snprintf(why, why_size, "not a kortnod bundle (or cut off at its start)");
        r = KN_EFORMAT;
        goto out;
    }
    bundle_key(netkey, key);
    r = crypto_secretstream_xchacha20poly1305_init_pull(&st, head + MAGIC_LEN, key) == 0
            ? 0
            : KN_ECRYPTO;
    sodium_memzero(key, sizeof(key));
    if (r < 0 || !(g = fopen(plain_path, "wb"))) {
        snprintf(why, why_size, "%s",
                 r < 0 ? "a malformed header" : "cannot write a temporary file");
        r = r < 0 ? KN_EFORMAT : KN_EIO;
        goto out;
    }
    for (;;) {
        uint8_t len[4];
        size_t got = fread(len, 1, 4, f);
        if (got == 0 && feof(f))
            break;
        uint32_t clen =
            (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3];
        if (got != 4 || final || clen < crypto_secretstream_xchacha20poly1305_ABYTES ||
            clen > CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES) {
            snprintf(why, why_size, "%s", final ? "bytes after its end" : "cut off, or malformed");
            r = final ? KN_EFORMAT : KN_ETRUNC;
            goto out;
        }
        if (fread(in, 1, clen, f) != clen) {
            snprintf(why, why_size, "cut off (the file ends inside a chunk)");
            r = KN_ETRUNC;
            goto out;
        }
        unsigned long long n;
        uint8_t tag;
        if (crypto_secretstream_xchacha20poly1305_pull(&st, out, &n, &tag, in, clen, NULL, 0) !=
            0) {
            snprintf(why, why_size, "not of this network, or altered (it does not authenticate)");
            r = KN_ECRYPTO;
            goto out;
        }
        final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
        if (first) {
            /* Who made it, when, and what it held: a chunk of its own, never the last. */
            uint64_t nfeeds = n >= ABOUT_LEN ? get_be(out + STORE_KEY_LEN + 8, 4) : 0;
            if (n < ABOUT_LEN || final || n != ABOUT_LEN + nfeeds * FEED_LEN) {
                snprintf(why, why_size, "a malformed first chunk");
                r = KN_EFORMAT;
                goto out;
            }
            if (about) {
                memcpy(about->node, out, STORE_KEY_LEN);
                about->made_ms = get_be(out + STORE_KEY_LEN, 8);
                about->clock = nfeeds ? json_object() : NULL;
                for (uint64_t i = 0; i < nfeeds; i++) {
                    const uint8_t *feed = out + ABOUT_LEN + i * FEED_LEN;
                    char hex[STORE_ID_HEX_LEN + 1];
                    store_hex(feed, STORE_KEY_LEN, hex);
                    json_object_set_new(
                        about->clock, hex,
                        json_integer((json_int_t)(get_be(feed + STORE_KEY_LEN, 8) & INT64_MAX)));
                }
            }
            first = false;
            continue;
        }
        if (fwrite(out, 1, n, g) != n) {
            snprintf(why, why_size, "cannot write a temporary file");
            r = KN_EIO;
            goto out;
        }
    }
    if (!final) {
        snprintf(why, why_size, "cut off (its last chunk is missing)");
        r = KN_ETRUNC;
    }
out:
    if (g && fclose(g) != 0 && r == 0)
        r = KN_EIO;
    if (r < 0 && about) {
        json_decref(about->clock);
        about->clock = NULL;
    }
    if (r < 0)
        remove(plain_path);
    if (f)
        fclose(f);
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(out, CHUNK);
    free(in);
    free(out);
    return r;
}
