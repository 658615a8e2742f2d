/* SPDX-License-Identifier: MIT */
/*
 * ui_fill - a hub node with a large, real log for the web interface's benchmark
 * (tests/bench/ui.sh): `kortnod init`'s hub in DIR, then OFFICES offices (two administrators
 * each) and orders placed and shipped until the log holds N events, all written through
 * store_domain_write as the hub's commands write them (in transactions of 1,000).
 *
 * Usage: ui_fill DIR N [OFFICES]   (defaults: 100000 events, 40 offices)
 * Prints the number of events written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

static int write_json(struct node *n, const char *type, const char *json)
{
    uint8_t *payload;
    size_t len;
    char err[256], reason[256];
    int r = node_payload_from_json(json, &payload, &len, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "ui_fill: %s: %s\n", type, err);
        return r;
    }
    r = store_domain_write(n->store, type, payload, len, node_now_ms(), NULL, reason,
                           sizeof(reason));
    free(payload);
    if (r < 0)
        fprintf(stderr, "ui_fill: %s: %s %s\n", type, kn_strerror(r), reason);
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: ui_fill DIR [N] [OFFICES]\n");
        return 2;
    }
    long events = argc > 2 ? atol(argv[2]) : 100000, offices = argc > 3 ? atol(argv[3]) : 40;
    struct node *n;
    char json[512];
    int r = node_init(argv[1], "hub", "Benchmark hub", NULL, NULL, &n);
    if (r < 0) {
        fprintf(stderr, "ui_fill: init %s: %s\n", argv[1], kn_strerror(r));
        return 1;
    }
    long written = 0;
    r = store_tx_begin(n->store);
    for (long o = 0; o < offices && r >= 0; o++) {
        snprintf(json, sizeof(json),
                 "{\"office\":\"office-%ld\",\"kind\":\"%s\",\"name\":\"Office %ld\","
                 "\"town\":\"Town %ld\",\"place\":\"Storgatan %ld\",\"booking\":\"070-%ld\","
                 "\"days\":\"mon,wed,fri\"}",
                 o, o % 2 ? "private" : "organisation", o, o, o + 1, o);
        r = write_json(n, "office.registered", json);
        for (int a = 0; r >= 0 && a < 2; a++) {
            snprintf(json, sizeof(json),
                     "{\"office\":\"office-%ld\",\"admin\":\"adm-%ld-%d\",\"name\":\"Admin %d\"}",
                     o, o, a, a);
            r = write_json(n, "admin.added", json);
        }
        written += 3;
    }
    for (long i = 0; written < events && r >= 0; i++) {
        snprintf(json, sizeof(json),
                 "{\"order\":\"B%07ld\",\"care_provider\":\"region-%ld\",\"office\":\"office-%ld\","
                 "\"card_type\":\"siths-e-id\"}",
                 i, i % 21, i % offices);
        r = write_json(n, "order.placed", json);
        if (r >= 0 && ++written < events) {
            snprintf(json, sizeof(json),
                     "{\"order\":\"B%07ld\",\"serial\":\"SN-B%07ld\",\"rek\":\"RR%07ld\"}", i, i,
                     i);
            r = write_json(n, "card.shipped", json);
            written++;
        }
        if (r >= 0 && written % 1000 < 2) {
            r = store_tx_commit(n->store);
            if (r >= 0)
                r = store_tx_begin(n->store);
            fprintf(stderr, "\rui_fill: %ld of %ld events", written, events);
        }
    }
    if (r >= 0)
        r = store_tx_commit(n->store);
    fprintf(stderr, "\n");
    node_close(n);
    if (r < 0)
        return 1;
    printf("%ld\n", written);
    return 0;
}
