/* SPDX-License-Identifier: MIT */
/*
 * gen_entries - append N entries to the own feed of the node in DATADIR, fast: store_append()
 * in transactions of --tx entries, signed with DATADIR/node.key. For the sync tests, which need a
 * node holding tens of thousands of entries (one `kortnod log append` per entry is far too slow).
 *
 * Usage: gen_entries DATADIR N [--pad BYTES] [--tx ENTRIES] [--type TYPE]
 * Each payload is the canonical msgpack array [i, bin(BYTES)] (i counts from the feed's tip + 1).
 * Prints the feed's new tip seq.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static uint8_t *put_uint(uint8_t *p, uint64_t v)
{
    if (v < 128) {
        *p++ = (uint8_t)v;
    } else if (v <= UINT8_MAX) {
        *p++ = 0xcc;
        *p++ = (uint8_t)v;
    } else if (v <= UINT16_MAX) {
        *p++ = 0xcd;
        *p++ = (uint8_t)(v >> 8);
        *p++ = (uint8_t)v;
    } else if (v <= UINT32_MAX) {
        *p++ = 0xce;
        for (int s = 24; s >= 0; s -= 8)
            *p++ = (uint8_t)(v >> s);
    } else {
        *p++ = 0xcf;
        for (int s = 56; s >= 0; s -= 8)
            *p++ = (uint8_t)(v >> s);
    }
    return p;
}

static size_t payload_for(uint64_t i, size_t pad, uint8_t *buf)
{
    uint8_t *p = buf;
    *p++ = 0x92;
    p = put_uint(p, i);
    if (pad <= UINT8_MAX) {
        *p++ = 0xc4;
        *p++ = (uint8_t)pad;
    } else {
        *p++ = 0xc5;
        *p++ = (uint8_t)(pad >> 8);
        *p++ = (uint8_t)pad;
    }
    for (size_t k = 0; k < pad; k++)
        *p++ = (uint8_t)(i * 31 + k * 7);
    return (size_t)(p - buf);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int usage(void)
{
    fprintf(stderr, "usage: gen_entries DATADIR N [--pad BYTES] [--tx ENTRIES] [--type TYPE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct store_identity id = { 0 };
    struct store *s = NULL;
    const char *type = "test.gen";
    size_t pad = 64, tx = 1000;
    char path[4096];
    int r, rc = 1;

    if (argc < 3)
        return usage();
    char *end;
    uint64_t n = strtoull(argv[2], &end, 10);
    if (*end || n == 0)
        return usage();
    for (int i = 3; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--pad"))
            pad = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--tx"))
            tx = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--type"))
            type = argv[++i];
        else
            return usage();
    }
    if (pad > UINT16_MAX || tx == 0)
        return usage();
    uint8_t *buf = malloc(pad + 32);
    if (!buf)
        return 1;

    snprintf(path, sizeof(path), "%s/node.key", argv[1]);
    if ((r = store_identity_load(path, &id)) < 0) {
        fprintf(stderr, "gen_entries: %s: %s\n", path, kn_strerror(r));
        goto out;
    }
    snprintf(path, sizeof(path), "%s/kortnod.db", argv[1]);
    if ((r = store_open(path, STORE_SYNC_NORMAL, &s)) < 0) {
        fprintf(stderr, "gen_entries: %s: %s\n", path, kn_strerror(r));
        goto out;
    }
    store_set_identity(s, &id);

    struct store_entry e = { 0 };
    uint64_t done = 0;
    while (done < n) {
        if ((r = store_tx_begin(s)) < 0)
            goto db_fail;
        for (size_t k = 0; k < tx && done < n; k++, done++) {
            size_t len = payload_for(done + 1, pad, buf);
            struct store_draft d = { type, now_ms(), NULL, 0, buf, len };
            if ((r = store_append(s, &d, &e)) < 0) {
                store_tx_rollback(s);
                goto db_fail;
            }
        }
        if ((r = store_tx_commit(s)) < 0)
            goto db_fail;
    }
    printf("%" PRIu64 "\n", e.seq);
    rc = 0;
    goto out;
db_fail:
    fprintf(stderr, "gen_entries: appending: %s (%s)\n", kn_strerror(r), store_last_error(s));
out:
    store_close(s);
    store_identity_finish(&id);
    free(buf);
    return rc;
}
