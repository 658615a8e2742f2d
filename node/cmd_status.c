/* SPDX-License-Identifier: MIT */
/*
 * `kortnod status`: for every peer and every path it was reached by (TCP, LAN, bundle), when it
 * last synced and what it still lacks, and what is waiting for the hub. What the daemon sees
 * now comes from DATA/status.json; what the node has seen before, from its record of links
 * (store_links), which also holds bundles carried by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"

struct waiting_ctx {
    json_t *clock;       /* {author hex: seq} the peer holds */
    const uint8_t *skip; /* a feed not to count (the hub's own, to the hub), or NULL */
    uint64_t waiting;
};

static int count_waiting(void *ud, const struct store_feed *f)
{
    struct waiting_ctx *w = ud;
    char hex[STORE_ID_HEX_LEN + 1];
    if (w->skip && memcmp(w->skip, f->author, STORE_KEY_LEN) == 0)
        return 0;
    store_hex(f->author, STORE_KEY_LEN, hex);
    json_int_t have = json_integer_value(json_object_get(w->clock, hex));
    if ((uint64_t)have < f->seq)
        w->waiting += f->seq - (uint64_t)have;
    return 0;
}

/* Entries held here that a node holding clock lacks. */
static json_int_t waiting_for(struct node *n, json_t *clock, const uint8_t *skip)
{
    struct waiting_ctx w = { clock, skip, 0 };
    store_clock(n->store, count_waiting, &w);
    return (json_int_t)w.waiting;
}

/* One row per (node, path): the record, with the daemon's live view over it. */
static json_t *row_for(json_t *rows, const char *node, const char *path)
{
    size_t i;
    json_t *r;
    json_array_foreach (rows, i, r)
        if (!strcmp(json_string_value(json_object_get(r, "node")), node) &&
            !strcmp(json_string_value(json_object_get(r, "path")), path))
            return r;
    r = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:b,s:n}", "node", node, "path", path, "addr",
                  "", "connected", false, "last_sync_ms", (json_int_t)0, "last_try_ms",
                  (json_int_t)0, "entries_in", (json_int_t)0, "entries_out", (json_int_t)0,
                  "forgotten", false, "clock");
    json_array_append_new(rows, r);
    return r;
}

static int add_link(void *data, const struct store_link *l)
{
    char hex[STORE_ID_HEX_LEN + 1];
    json_error_t jerr;
    store_hex(l->node, STORE_KEY_LEN, hex);
    json_t *r = row_for(data, hex, l->path);
    json_object_set_new(r, "addr", json_string(l->addr));
    json_object_set_new(r, "last_sync_ms", json_integer((json_int_t)l->last_ok_ms));
    json_object_set_new(r, "last_try_ms", json_integer((json_int_t)l->last_try_ms));
    json_object_set_new(r, "entries_in", json_integer((json_int_t)l->entries_in));
    json_object_set_new(r, "entries_out", json_integer((json_int_t)l->entries_out));
    json_object_set_new(r, "forgotten", json_boolean(l->dead_ms != 0));
    if (l->clock)
        json_object_set_new(r, "clock", json_loads(l->clock, 0, &jerr));
    return 0;
}

struct freshest {
    const uint8_t *node;
    uint64_t at;
    json_t *clock;
};

static int take_freshest(void *data, const struct store_link *l)
{
    struct freshest *f = data;
    json_error_t jerr;
    if (!l->clock || memcmp(l->node, f->node, STORE_KEY_LEN) != 0 ||
        (f->clock && l->last_ok_ms <= f->at))
        return 0;
    json_decref(f->clock);
    f->clock = json_loads(l->clock, 0, &jerr);
    f->at = l->last_ok_ms;
    return 0;
}

json_t *node_link_clock(struct node *n, const uint8_t node[STORE_KEY_LEN])
{
    struct freshest f = { .node = node };
    if (store_links(n->store, take_freshest, &f) < 0) {
        json_decref(f.clock);
        return NULL;
    }
    return f.clock;
}

/* "3 s ago", "5 min ago", "2 h ago", "4 days ago", or "never". */
static void ago(uint64_t now, uint64_t then, char *out, size_t size)
{
    uint64_t s = then && now > then ? (now - then) / 1000 : 0;
    if (!then)
        snprintf(out, size, "never");
    else if (s < 120)
        snprintf(out, size, "%llu s ago", (unsigned long long)s);
    else if (s < 7200)
        snprintf(out, size, "%llu min ago", (unsigned long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(out, size, "%llu h ago", (unsigned long long)(s / 3600));
    else
        snprintf(out, size, "%llu days ago", (unsigned long long)(s / 86400));
}

static void describe(struct node *n, const char *node_hex, const uint8_t *hub, char *out,
                     size_t size)
{
    uint8_t pk[STORE_KEY_LEN];
    struct store_trust t;
    snprintf(out, size, "node %.8s…", node_hex);
    if (store_unhex(node_hex, pk, STORE_KEY_LEN) < 0)
        return;
    if (hub && memcmp(pk, hub, STORE_KEY_LEN) == 0)
        snprintf(out, size, "node %.8s… (the hub)", node_hex);
    else if (store_trust_node(n->store, pk, &t) == 0 && t.role[0])
        snprintf(out, size, "node %.8s… (%s, %s)", node_hex, t.role, t.office);
}

int node_status_doc(struct node *n, json_t *live, json_t **out)
{
    char path[4200], hubhex[STORE_ID_HEX_LEN + 1] = "";
    uint8_t hub[STORE_KEY_LEN];
    json_error_t jerr;
    uint64_t now = node_now_ms();
    size_t i;
    json_t *p, *rows = json_array();

    bool have_hub = store_meta_get(n->store, "hub", hubhex, sizeof(hubhex)) == 0 &&
                    store_unhex(hubhex, hub, STORE_KEY_LEN) == 0;
    bool am_hub = have_hub && memcmp(hub, n->id.pk, STORE_KEY_LEN) == 0;
    /* The daemon's own view when it asks (the web interface), else what it last wrote. */
    snprintf(path, sizeof(path), "%s/status.json", n->dir);
    json_t *st = live ? json_incref(live) : json_load_file(path, 0, &jerr);
    json_int_t updated = st ? json_integer_value(json_object_get(st, "updated_ms")) : 0;
    bool running = live || (st && now - (uint64_t)updated < 5000);
    int r = store_links(n->store, add_link, rows);
    if (r < 0) {
        json_decref(st);
        json_decref(rows);
        return r;
    }
    /* The daemon's view: what is connected now, what it holds right now. */
    json_array_foreach (running ? json_object_get(st, "peers") : NULL, i, p) {
        const char *node = json_string_value(json_object_get(p, "node"));
        const char *pth = json_string_value(json_object_get(p, "path"));
        if (!node || !pth)
            continue;
        json_t *row = row_for(rows, node, pth);
        const char *source = json_string_value(json_object_get(p, "source"));
        if (source && strcmp(source, "incoming") != 0)
            json_object_set(row, "addr", json_object_get(p, "addr"));
        if (json_is_true(json_object_get(p, "forgotten")))
            json_object_set_new(row, "forgotten", json_true());
        if (json_is_true(json_object_get(p, "connected"))) {
            json_object_set_new(row, "connected", json_true());
            json_object_set(row, "live_waiting", json_object_get(p, "waiting"));
        }
        /* What moved since the daemon last wrote its record of the link. */
        static const char *const counts[][2] = { { "entries_in", "unnoted_in" },
                                                 { "entries_out", "unnoted_out" } };
        for (int k = 0; k < 2; k++)
            json_object_set_new(
                row, counts[k][0],
                json_integer(json_integer_value(json_object_get(row, counts[k][0])) +
                             json_integer_value(json_object_get(p, counts[k][1]))));
        json_int_t last = json_integer_value(json_object_get(p, "last_sync_ms"));
        if (last > json_integer_value(json_object_get(row, "last_sync_ms")))
            json_object_set_new(row, "last_sync_ms", json_integer(last));
    }
    /* What each peer lacks, as far as this node knows; the freshest view of the hub. */
    json_t *hub_row = NULL;
    json_array_foreach (rows, i, p) {
        json_t *clock = json_object_get(p, "clock");
        /* A peer holds its own feed whatever an older record says. */
        uint8_t peer[STORE_KEY_LEN];
        bool known =
            store_unhex(json_string_value(json_object_get(p, "node")), peer, STORE_KEY_LEN) == 0;
        json_t *counted = json_object_get(p, "live_waiting");
        if (json_is_integer(counted))
            json_object_set(p, "waiting", counted); /* the daemon's count, a second old at most */
        else
            json_object_set_new(p, "waiting",
                                json_is_object(clock)
                                    ? json_integer(waiting_for(n, clock, known ? peer : NULL))
                                    : json_null());
        json_object_del(p, "live_waiting");
        if (have_hub && !strcmp(json_string_value(json_object_get(p, "node")), hubhex) &&
            json_is_object(clock) &&
            (!hub_row || json_integer_value(json_object_get(p, "last_sync_ms")) >
                             json_integer_value(json_object_get(hub_row, "last_sync_ms"))))
            hub_row = p;
    }
    json_t *hubj = json_null();
    if (have_hub && !am_hub) {
        json_int_t w = hub_row ? json_integer_value(json_object_get(hub_row, "waiting"))
                               : waiting_for(n, NULL, hub);
        hubj = json_pack(
            "{s:s,s:I,s:O,s:I,s:b}", "node", hubhex, "last_contact_ms",
            hub_row ? json_integer_value(json_object_get(hub_row, "last_sync_ms")) : (json_int_t)0,
            "path", hub_row ? json_object_get(hub_row, "path") : json_null(), "waiting", w,
            "connected", hub_row && json_is_true(json_object_get(hub_row, "connected")));
    }
    json_t *lan = running ? json_object_get(st, "lan") : NULL;
    *out = json_pack("{s:b,s:b,s:O,s:o,s:o}", "daemon_running", running, "status_seen", st != NULL,
                     "lan", lan ? lan : json_null(), "hub", hubj, "peers", rows);
    json_decref(st);
    return 0;
}

int node_status(struct node *n, bool as_json, FILE *out)
{
    json_t *doc, *p, *rows, *hubj, *lan;
    uint64_t now = node_now_ms();
    char hubhex[STORE_ID_HEX_LEN + 1] = "";
    uint8_t hub[STORE_KEY_LEN];
    size_t i;
    int r = node_status_doc(n, NULL, &doc);
    if (r < 0)
        return r;
    bool running = json_is_true(json_object_get(doc, "daemon_running"));
    bool have_hub = store_meta_get(n->store, "hub", hubhex, sizeof(hubhex)) == 0 &&
                    store_unhex(hubhex, hub, STORE_KEY_LEN) == 0;
    rows = json_object_get(doc, "peers");
    hubj = json_object_get(doc, "hub");
    lan = json_object_get(doc, "lan");
    if (!json_is_object(lan))
        lan = NULL;
    if (as_json) {
        json_object_del(doc, "status_seen");
        json_dumpf(doc, out, JSON_INDENT(2));
        fputc('\n', out);
    } else {
        char when[32], who[160];
        fprintf(out, "daemon: %s\n",
                running ? "running"
                : json_is_true(json_object_get(doc, "status_seen"))
                    ? "not running (its last status is old)"
                    : "not running");
        if (lan)
            fprintf(out, "LAN discovery: %s; %lld node(s) found\n",
                    json_string_value(json_object_get(lan, "state")),
                    (long long)json_integer_value(json_object_get(lan, "found")));
        if (json_is_object(hubj)) {
            json_int_t last = json_integer_value(json_object_get(hubj, "last_contact_ms"));
            json_int_t w = json_integer_value(json_object_get(hubj, "waiting"));
            ago(now, (uint64_t)last, when, sizeof(when));
            if (last)
                fprintf(out, "hub: %s; last contact %s (%s); %lld entr%s waiting for the hub%s\n",
                        json_is_true(json_object_get(hubj, "connected")) ? "connected"
                                                                         : "not connected",
                        when, json_string_value(json_object_get(hubj, "path")), (long long)w,
                        w == 1 ? "y" : "ies",
                        json_is_true(json_object_get(hubj, "connected"))
                            ? ""
                            : ": they go at the next contact, directly or through a peer");
            else
                fprintf(out,
                        "hub: never in contact with this node; %lld entr%s here may be "
                        "waiting for it: they go through any peer or bundle that reaches it\n",
                        (long long)w, w == 1 ? "y" : "ies");
        }
        if (json_array_size(rows) == 0)
            fprintf(out, "no peers yet\n");
        json_array_foreach (rows, i, p) {
            const char *pth = json_string_value(json_object_get(p, "path"));
            describe(n, json_string_value(json_object_get(p, "node")), have_hub ? hub : NULL, who,
                     sizeof(who));
            ago(now, (uint64_t)json_integer_value(json_object_get(p, "last_sync_ms")), when,
                sizeof(when));
            const char *addr = json_string_value(json_object_get(p, "addr"));
            fprintf(out, "%-40s %-6s %-21s %-13s last %s %s", who, pth, addr && *addr ? addr : "-",
                    !strcmp(pth, "bundle")                          ? "by hand"
                    : json_is_true(json_object_get(p, "connected")) ? "connected"
                                                                    : "not connected",
                    !strcmp(pth, "bundle") ? "bundle imported" : "sync", when);
            fprintf(out, ", %lld in / %lld out",
                    (long long)json_integer_value(json_object_get(p, "entries_in")),
                    (long long)json_integer_value(json_object_get(p, "entries_out")));
            if (json_is_integer(json_object_get(p, "waiting")))
                fprintf(out, ", %lld waiting for it",
                        (long long)json_integer_value(json_object_get(p, "waiting")));
            if (json_is_true(json_object_get(p, "forgotten")))
                fprintf(out, "%s",
                        !strcmp(pth, "lan") ? " (no longer heard on the LAN)"
                                            : " (address forgotten: unreachable)");
            fputc('\n', out);
        }
    }
    json_decref(doc);
    return 0;
}
