/* SPDX-License-Identifier: MIT */
/*
 * The card reader at the hand-over table: `kortnod reader list|read|watch|status`, the check of
 * `handover complete --from-reader`, and the sentence "matches order X" that the daemon and
 * `reader watch` show for an inserted card.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "node.h"
#include "reader.h"

/* The holder's HSA-id from the order's sealed data: 1 found, 0 none, <0 cannot read. */
static int holder_hsa_id(struct store *s, const char *order, char out[READER_MAX_HSA_ID + 1])
{
    uint8_t *text = NULL;
    size_t len;
    out[0] = '\0';
    int r = store_holder_personal(s, "order", order, &text, &len);
    if (r == KN_ENOTFOUND)
        return 0;
    if (r < 0)
        return r;
    json_t *j = json_loadb((const char *)text, len, 0, NULL);
    const char *v = json_string_value(json_object_get(j, "hsa_id"));
    if (v && strlen(v) <= READER_MAX_HSA_ID) {
        snprintf(out, READER_MAX_HSA_ID + 1, "%s", v);
        r = 1;
    }
    /* no copy of personal data outlives the check */
    const char *k;
    json_t *val;
    json_object_foreach (j, k, val)
        if (json_is_string(val))
            sodium_memzero((void *)json_string_value(val), strlen(json_string_value(val)));
    json_decref(j);
    sodium_memzero(text, len);
    free(text);
    return r;
}

bool node_reader_match(struct store *s, const struct reader_identity *id, char order[65],
                       char *text, size_t text_size, bool *hsa_checked)
{
    if (hsa_checked)
        *hsa_checked = false;
    struct store_card card;
    char hsa[READER_MAX_HSA_ID + 1];
    order[0] = '\0';
    if (!id->chip[0]) {
        snprintf(text, text_size, "the card gives no chip serial: choose its order by hand");
        return false;
    }
    int r = store_card_by_chip(s, id->chip, &card);
    if (r == KN_ENOTFOUND) {
        snprintf(text, text_size, "no card with chip %s was shipped: not a card to hand over here",
                 id->chip);
        return false;
    }
    if (r < 0) {
        snprintf(text, text_size, "looking up the card: %s", kn_strerror(r));
        return false;
    }
    snprintf(order, 65, "%s", card.order);
    if (strcmp(card.state, "stored") != 0) {
        snprintf(text, text_size, "the card of order %s, which is %s, not waiting for hand-over",
                 card.order, card.state);
        return false;
    }
    r = holder_hsa_id(s, card.order, hsa);
    if (r == 1 && strcmp(hsa, id->hsa_id) != 0) {
        snprintf(text, text_size,
                 "the chip is order %s's card, but its certificate is not the holder's: do not "
                 "hand it over",
                 card.order);
        sodium_memzero(hsa, sizeof(hsa));
        return false;
    }
    sodium_memzero(hsa, sizeof(hsa));
    if (hsa_checked)
        *hsa_checked = r == 1;
    snprintf(text, text_size, "matches order %s%s", card.order,
             r == 1 ? " (chip and the holder's HSA-id)" : " (chip)");
    return true;
}

int node_reader_handover(struct node *n, json_t *body, const char *reader)
{
    const char *order = json_string_value(json_object_get(body, "order"));
    const char *typed = json_string_value(json_object_get(body, "serial"));
    struct reader_identity id;
    struct store_card card;
    char name[READER_MAX_NAME], why[160], hsa[READER_MAX_HSA_ID + 1];
    int r = -1;

    if (!order) {
        fprintf(stderr, "kortnod: handover complete: --order is required\n");
        return -1;
    }
    if ((r = store_domain_sync(n->store, false, NULL)) < 0 && r != KN_ENOHUB) {
        fprintf(stderr, "kortnod: handover complete: %s\n", kn_strerror(r));
        return -1;
    }
    if ((r = store_card_get(n->store, order, &card)) < 0) {
        fprintf(stderr, "kortnod: handover complete: %s\n",
                r == KN_ENOTFOUND ? "no such order is known here" : kn_strerror(r));
        return -1;
    }
    if (strcmp(card.state, "stored") != 0) {
        fprintf(stderr, "kortnod: refused: order %s is %s; a card is handed over from storage\n",
                order, card.state);
        return -1;
    }
    if ((r = reader_read(reader, &id, name, why, sizeof(why))) < 0) {
        fprintf(stderr, "kortnod: handover complete: reading the card%s%s: %s\n",
                reader ? " in " : "", reader ? reader : "", why);
        fprintf(stderr, "Nothing was recorded. Without a reader, type the serial printed on the "
                        "card: --serial SERIAL (recorded as not read by a reader).\n");
        return -1;
    }
    r = -1;
    if (typed && strcmp(typed, card.serial) != 0) {
        fprintf(stderr, "kortnod: refused: serial %s is not the card shipped for order %s\n", typed,
                order);
        goto out;
    }
    bool checked = false;
    if (card.chip[0]) {
        if (!id.chip[0]) {
            fprintf(stderr,
                    "kortnod: refused: the card in %s gives no chip serial, and order %s's card "
                    "was shipped with chip %s\n",
                    name, order, card.chip);
            goto out;
        }
        if (strcmp(id.chip, card.chip) != 0) {
            fprintf(stderr,
                    "kortnod: refused: wrong card: the card in %s has chip %s; order %s's card "
                    "was shipped with chip %s\n",
                    name, id.chip, order, card.chip);
            goto out;
        }
        checked = true;
    }
    int h = holder_hsa_id(n->store, order, hsa);
    bool hsa_checked = false;
    if (h == 1) {
        if (strcmp(hsa, id.hsa_id) != 0) {
            fprintf(stderr,
                    "kortnod: refused: wrong holder: the certificate on the card in %s is %s, "
                    "not the holder's HSA-id of order %s\n",
                    name, id.hsa_id[0] ? "for another person" : "missing", order);
            goto out;
        }
        hsa_checked = checked = true;
    }
    if (!checked) {
        fprintf(stderr,
                "kortnod: refused: nothing the card says can be checked against order %s: its "
                "shipment has no chip serial%s. Check the card by eye and type --serial.\n",
                order,
                h == 0 ? " and its holder no HSA-id"
                       : " and this node cannot read the holder's data");
        goto out;
    }
    json_object_set_new(body, "serial", json_string(card.serial));
    if (id.chip[0])
        json_object_set_new(body, "chip", json_string(id.chip));
    json_object_set_new(body, "atr", json_string(id.atr));
    json_object_set_new(body, "read_by_reader", json_true());
    if (hsa_checked)
        json_object_set_new(body, "hsa_id_checked", json_true());
    printf("card read in %s: matches order %s (%s%s)\n", name, order, card.chip[0] ? "chip" : "",
           hsa_checked ? (card.chip[0] ? ", HSA-id" : "HSA-id") : "");
    r = 0;
out:
    sodium_memzero(hsa, sizeof(hsa));
    sodium_memzero(&id, sizeof(id));
    return r;
}

/* ---- reader watch ---- */

struct watch {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    struct reader_watch *w;
    struct node *n; /* to say which order a card is for; NULL without a node */
    bool json;
};

static void print_event(struct watch *wa, const struct reader_event *ev)
{
    char order[65] = "", match[200] = "";
    bool ok = false;
    if (ev->kind == READER_EV_INSERTED && wa->n) {
        store_domain_sync(wa->n->store, false, NULL);
        ok = node_reader_match(wa->n->store, &ev->id, order, match, sizeof(match), NULL);
    }
    if (wa->json) {
        json_t *j = json_pack("{s:s,s:s,s:I,s:I}", "event", reader_event_name(ev->kind), "reader",
                              ev->reader, "at_ms", (json_int_t)ev->at_ms, "seen_ms",
                              (json_int_t)ev->seen_ms);
        if (ev->kind == READER_EV_INSERTED) {
            json_object_set_new(j, "atr", json_string(ev->id.atr));
            json_object_set_new(j, "chip", json_string(ev->id.chip));
            json_object_set_new(j, "hsa_id", json_string(ev->id.hsa_id));
            json_object_set_new(j, "cert_serial", json_string(ev->id.cert_serial));
            if (match[0]) {
                json_object_set_new(j, "matches", json_boolean(ok));
                json_object_set_new(j, "order", order[0] ? json_string(order) : json_null());
                json_object_set_new(j, "match", json_string(match));
            }
        }
        if (ev->detail[0])
            json_object_set_new(j, "detail", json_string(ev->detail));
        char *s = json_dumps(j, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(j);
    } else {
        char ts[32];
        node_format_time((uint64_t)ev->at_ms, ts);
        printf("%s %s", ts, reader_event_name(ev->kind));
        if (ev->reader[0])
            printf(" [%s]", ev->reader);
        if (ev->kind == READER_EV_INSERTED)
            printf(" chip %s, HSA-id %s, ATR %s (%lld ms)", ev->id.chip[0] ? ev->id.chip : "none",
                   ev->id.hsa_id[0] ? ev->id.hsa_id : "none", ev->id.atr,
                   (long long)(ev->at_ms - ev->seen_ms));
        if (match[0])
            printf(": %s%s", ok ? "" : "NOT TO HAND OVER: ", match);
        if (ev->detail[0])
            printf(": %s", ev->detail);
        printf("\n");
    }
    fflush(stdout);
}

static void on_reader_event(struct reader_watch *w, const struct reader_event *ev, void *data)
{
    (void)w;
    print_event(data, ev);
}

static void on_watch_signal(uv_signal_t *s, int signum)
{
    struct watch *wa = s->data;
    (void)signum;
    reader_watch_stop(wa->w);
    wa->w = NULL;
    uv_close((uv_handle_t *)&wa->sigint, NULL);
    uv_close((uv_handle_t *)&wa->sigterm, NULL);
}

static int watch_run(const char *dir, bool json)
{
    struct watch wa;
    memset(&wa, 0, sizeof(wa));
    wa.json = json;
    /* Without a node here the events are shown without the order they are for. */
    if (node_open(dir, &wa.n) < 0)
        wa.n = NULL;
    int r = uv_loop_init(&wa.loop);
    if (r < 0)
        goto out;
    uv_signal_init(&wa.loop, &wa.sigint);
    uv_signal_init(&wa.loop, &wa.sigterm);
    wa.sigint.data = wa.sigterm.data = &wa;
    uv_signal_start(&wa.sigint, on_watch_signal, SIGINT);
    uv_signal_start(&wa.sigterm, on_watch_signal, SIGTERM);
    if ((r = reader_watch_start(&wa.loop, on_reader_event, &wa, &wa.w)) < 0) {
        uv_close((uv_handle_t *)&wa.sigint, NULL);
        uv_close((uv_handle_t *)&wa.sigterm, NULL);
    } else if (!json) {
        printf("watching the card readers (Ctrl-C to stop)\n");
        fflush(stdout);
    }
    uv_run(&wa.loop, UV_RUN_DEFAULT);
    uv_loop_close(&wa.loop);
out:
    node_close(wa.n);
    if (r < 0) {
        fprintf(stderr, "kortnod: reader watch: %s\n", kn_strerror(r));
        return 1;
    }
    return 0;
}

/* ---- reader read, list, status ---- */

static int read_run(const char *dir, const char *reader, bool json)
{
    struct reader_identity id;
    struct node *n = NULL;
    char name[READER_MAX_NAME], why[160], order[65] = "", match[200] = "";
    bool ok = false;
    int r = reader_read(reader, &id, name, why, sizeof(why));
    if (r < 0) {
        fprintf(stderr, "kortnod: reader read: %s\n", why);
        return 1;
    }
    if (node_open(dir, &n) == 0) {
        store_domain_sync(n->store, false, NULL);
        ok = node_reader_match(n->store, &id, order, match, sizeof(match), NULL);
        node_close(n);
    }
    if (json) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "reader", name, "atr", id.atr, "chip",
                              id.chip, "hsa_id", id.hsa_id, "cert_serial", id.cert_serial);
        if (match[0]) {
            json_object_set_new(j, "matches", json_boolean(ok));
            json_object_set_new(j, "order", order[0] ? json_string(order) : json_null());
            json_object_set_new(j, "match", json_string(match));
        }
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
    } else {
        printf("reader       %s\natr          %s\nchip serial  %s\nHSA-id       %s\n"
               "certificate  %s\n",
               name, id.atr, id.chip[0] ? id.chip : "(the card has no CPLC)",
               id.hsa_id[0] ? id.hsa_id : "(no PKCS#15 certificate)",
               id.cert_serial[0] ? id.cert_serial : "-");
        if (match[0])
            printf("this node    %s\n", match);
    }
    sodium_memzero(&id, sizeof(id));
    return 0;
}

static int list_run(void)
{
    struct reader_list l;
    int r = reader_list_get(&l);
    if (r < 0) {
        fprintf(stderr, "kortnod: reader list: %s\n", kn_strerror(r));
        return 1;
    }
    if (l.count == 0)
        printf("no card readers\n");
    for (size_t i = 0; i < l.count; i++)
        printf("%s\n", l.names[i]);
    return 0;
}

/* The daemon's live reader state, from DATA/status.json (node/daemon.c writes it). */
static int status_run(const char *dir, bool json)
{
    char path[4200];
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/status.json", dir);
    json_t *st = json_load_file(path, 0, &jerr);
    json_int_t updated = st ? json_integer_value(json_object_get(st, "updated_ms")) : 0;
    bool running = st && node_now_ms() - (uint64_t)updated < 5000;
    json_t *rd = running ? json_object_get(st, "reader") : NULL;
    if (json) {
        json_t *out =
            json_pack("{s:b,s:O}", "daemon_running", running, "reader", rd ? rd : json_null());
        json_dumpf(out, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(out);
    } else if (!running) {
        printf("the daemon is not running (kortnod run): no live reader state\n");
    } else if (!rd) {
        printf("the daemon does not watch card readers (reader = off in kortnod.conf)\n");
    } else {
        const char *detail = json_string_value(json_object_get(rd, "detail"));
        printf("smart card service: %s%s%s\n", json_string_value(json_object_get(rd, "service")),
               detail && *detail ? ": " : "", detail && *detail ? detail : "");
        size_t i;
        json_t *r;
        json_array_foreach (json_object_get(rd, "readers"), i, r) {
            json_t *card = json_object_get(r, "card");
            printf("%s: ", json_string_value(json_object_get(r, "name")));
            if (!card || json_is_null(card))
                printf("no card\n");
            else if (json_object_get(card, "error"))
                printf("card inserted, not read: %s\n",
                       json_string_value(json_object_get(card, "error")));
            else
                printf("card inserted: chip %s, %s\n",
                       json_string_value(json_object_get(card, "chip")),
                       json_string_value(json_object_get(card, "match")));
        }
    }
    json_decref(st);
    return running ? 0 : 1;
}

int node_cmd_reader(const char *dir, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    bool json = false;
    const char *reader = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(sub, "read") && !reader && strncmp(argv[i], "--", 2) != 0)
            reader = argv[i];
        else {
            fprintf(stderr, "kortnod: reader %s: unexpected argument '%s'\n", sub, argv[i]);
            return 2;
        }
    }
    if (!strcmp(sub, "list") && !json)
        return list_run();
    if (!strcmp(sub, "read"))
        return read_run(dir, reader, json);
    if (!strcmp(sub, "watch"))
        return watch_run(dir, json);
    if (!strcmp(sub, "status"))
        return status_run(dir, json);
    fprintf(stderr, "kortnod: reader takes: list | read [READER] [--json] | watch [--json] | "
                    "status [--json]\n");
    return 2;
}
