/* SPDX-License-Identifier: MIT */
/*
 * The sealed bundle reader (node/sealed_bundle.c). The first input byte chooses:
 *  - even: the rest is a file given to node_bundle_open as it is: refused, or opened whole;
 *  - odd: the rest is sealed, opened again (the same bytes back), then one byte of the sealed
 *    file, chosen by the input, is changed or the file is cut there: refused, nothing left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "node.h"

static const uint8_t netkey[32] = { 7, 7, 7 };

static char dir[64];

static void cleanup(void)
{
    static const char *const names[] = { "in", "plain", "sealed", "sealed.tmp" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        remove(p);
    }
    rmdir(dir);
}

static void path(char *out, size_t size, const char *name)
{
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/kn-fuzz-sealed-XXXXXX");
        FUZZ_CHECK(mkdtemp(dir) != NULL);
        atexit(cleanup);
    }
    snprintf(out, size, "%s/%s", dir, name);
}

static void put(const char *p, const uint8_t *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    FUZZ_CHECK(f && fwrite(data, 1, n, f) == n && fclose(f) == 0);
}

static uint8_t *get(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    FUZZ_CHECK(f);
    uint8_t *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[128], plain[128], sealed[128], why[128];
    if (size == 0)
        return 0;
    path(in, sizeof(in), "in");
    path(plain, sizeof(plain), "plain");
    path(sealed, sizeof(sealed), "sealed");
    if (data[0] % 2 == 0) {
        put(in, data + 1, size - 1);
        int r = node_bundle_open(netkey, in, plain, NULL, why, sizeof(why));
        FUZZ_CHECK(r == 0 || r == KN_ECRYPTO || r == KN_ETRUNC || r == KN_EFORMAT);
        FUZZ_CHECK(r == 0 || (why[0] && access(plain, F_OK) != 0));
        return 0;
    }
    put(in, data + 1, size - 1);
    struct node_bundle_about about = { .made_ms = size }, back_about;
    memset(about.node, data[0], sizeof(about.node));
    FUZZ_CHECK(node_bundle_seal(netkey, &about, in, sealed) == 0);
    FUZZ_CHECK(node_bundle_open(netkey, sealed, plain, &back_about, why, sizeof(why)) == 0);
    FUZZ_CHECK(back_about.made_ms == about.made_ms &&
               memcmp(back_about.node, about.node, sizeof(about.node)) == 0);
    size_t n, m;
    uint8_t *back = get(plain, &n), *s = get(sealed, &m);
    FUZZ_CHECK(n == size - 1 && memcmp(back, data + 1, n) == 0);
    size_t at = (size > 2 ? (size_t)data[1] * 257 + data[size - 1] : 0) % m;
    if (data[0] & 2) {
        s[at] ^= 0x01; /* one bit anywhere: the magic, the header, a length or a chunk */
        put(sealed, s, m);
    } else {
        put(sealed, s, at); /* cut off there */
    }
    int r = node_bundle_open(netkey, sealed, plain, NULL, why, sizeof(why));
    FUZZ_CHECK(r == KN_ECRYPTO || r == KN_ETRUNC || r == KN_EFORMAT);
    FUZZ_CHECK(access(plain, F_OK) != 0);
    free(back);
    free(s);
    return 0;
}
