/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"

/*
 * The demo: what kortnod does, on one machine, without a network. A hub and two offices each get
 * a data directory under a temporary directory; each appends entries; the entries travel
 * hub -> office 1 -> office 2 -> hub -> office 1 as exported files (the way a USB stick would
 * carry them), and every node ends holding every feed, verified.
 */

struct demo_node {
    const char *label;
    const char *role;
    const char *name;
    struct node *n;
    char path[512];
};

static int append(FILE *out, struct demo_node *d, const char *type, const char *json)
{
    uint8_t *payload;
    size_t len;
    char err[256];
    struct store_entry e;
    int r = node_payload_from_json(json, &payload, &len, err, sizeof(err));
    if (r < 0) {
        fprintf(out, "demo: bad body for %s: %s\n", type, err);
        return r;
    }
    struct store_draft draft = { type, node_now_ms(), NULL, 0, payload, len };
    r = store_append(d->n->store, &draft, &e);
    free(payload);
    if (r < 0) {
        fprintf(out, "demo: %s could not append %s: %s\n", d->label, type, kn_strerror(r));
        return r;
    }
    fprintf(out, "  %-9s appended seq %llu  %s\n", d->label, (unsigned long long)e.seq, type);
    return 0;
}

/* Carry what `to` lacks from `from`, through a file, as `kortnod export --since` and `import`. */
static int carry(FILE *out, const char *tmp, struct demo_node *from, struct demo_node *to)
{
    char file[600];
    json_t *clock = NULL;
    struct node_import_report rep;
    uint64_t count;
    int r;

    snprintf(file, sizeof(file), "%s/%s-to-%s.kbundle", tmp, from->label, to->label);
    if ((r = node_clock_json(to->n, &clock)) < 0)
        return r;
    r = node_export(from->n, file, clock, &count);
    json_decref(clock);
    if (r < 0)
        return r;
    if ((r = node_import(to->n, file, &rep, out, NULL)) < 0)
        return r;
    fprintf(out,
            "  %-9s -> %-9s %llu entries in the file: %zu new, %zu already held, %zu "
            "refused\n",
            from->label, to->label, (unsigned long long)count, rep.total.accepted,
            rep.total.duplicates, rep.total.rejected);
    return rep.total.rejected ? KN_EPROTO : 0;
}

static const char *label_of(struct demo_node *nodes, size_t count, const uint8_t *author)
{
    for (size_t i = 0; i < count; i++)
        if (memcmp(nodes[i].n->id.pk, author, STORE_KEY_LEN) == 0)
            return nodes[i].label;
    return "?";
}

struct print_ctx {
    FILE *out;
    struct demo_node *nodes;
    size_t count;
};

static int print_feed(void *ud, const struct store_feed *f)
{
    struct print_ctx *c = ud;
    char id[9];
    node_short_id(f->author, id);
    fprintf(c->out, "      feed %s… (%s)  seq %llu%s\n", id,
            label_of(c->nodes, c->count, f->author), (unsigned long long)f->seq,
            f->forked ? "  FORKED" : "");
    return 0;
}

static void rm_tree(const char *tmp, struct demo_node *nodes, size_t count)
{
    static const char *const files[] = { NODE_KEY_FILE, NODE_DB_FILE, NODE_DB_FILE "-wal",
                                         NODE_DB_FILE "-shm" };
    char p[700];
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
            snprintf(p, sizeof(p), "%s/%s", nodes[i].path, files[k]);
            unlink(p);
        }
        rmdir(nodes[i].path);
        for (size_t j = 0; j < count; j++) {
            snprintf(p, sizeof(p), "%s/%s-to-%s.kbundle", tmp, nodes[i].label, nodes[j].label);
            unlink(p);
        }
    }
    rmdir(tmp);
}

int node_demo(FILE *out, bool keep)
{
    struct demo_node nodes[] = {
        { "hub", "hub", "Issuer hub", NULL, "" },
        { "storuman", "office", "Vårdcentralen Storuman (organisation office)", NULL, "" },
        { "arjeplog", "office", "Private ID administrator, Arjeplog", NULL, "" },
    };
    const size_t count = sizeof(nodes) / sizeof(nodes[0]);
    struct demo_node *hub = &nodes[0], *sto = &nodes[1], *arj = &nodes[2];
    char tmp[] = "/tmp/kortnod-demo.XXXXXX";
    char *first_clock = NULL;
    bool same = true;
    int r = 0;

    if (!mkdtemp(tmp)) {
        fprintf(out, "demo: cannot make a temporary directory: %s\n", strerror(errno));
        return -errno;
    }
    fprintf(out, "kortnod demo in %s\n\n1. Three nodes, each with its own key pair and log:\n",
            tmp);
    for (size_t i = 0; i < count && r == 0; i++) {
        char id[9];
        snprintf(nodes[i].path, sizeof(nodes[i].path), "%s/%s", tmp, nodes[i].label);
        r = node_init(nodes[i].path, nodes[i].role, nodes[i].name, NULL, &nodes[i].n);
        if (r < 0) {
            fprintf(out, "demo: init %s: %s\n", nodes[i].label, kn_strerror(r));
            goto out;
        }
        node_short_id(nodes[i].n->id.pk, id);
        fprintf(out, "  %-9s %-6s %s…  %s\n", nodes[i].label, nodes[i].role, id, nodes[i].name);
    }

    fprintf(out, "\n2. Each appends signed entries to its own feed:\n");
    if ((r = append(out, hub, "office.registered",
                    "{\"office\":\"storuman\",\"kind\":\"organisation\",\"town\":\"Storuman\"}")) ||
        (r = append(out, hub, "office.registered",
                    "{\"office\":\"arjeplog\",\"kind\":\"private\",\"town\":\"Arjeplog\"}")) ||
        (r = append(out, hub, "order.placed",
                    "{\"order\":\"ORD-1001\",\"office\":\"storuman\",\"card\":\"SITHS\"}")) ||
        (r = append(out, hub, "order.placed",
                    "{\"order\":\"ORD-1002\",\"office\":\"arjeplog\",\"card\":\"SITHS\"}")) ||
        (r = append(out, sto, "notice.received", "{\"order\":\"ORD-1001\"}")) ||
        (r = append(out, sto, "card.collected", "{\"order\":\"ORD-1001\"}")) ||
        (r = append(out, sto, "card.stored", "{\"order\":\"ORD-1001\",\"locked\":true}")) ||
        (r = append(out, arj, "notice.received", "{\"order\":\"ORD-1002\"}")) ||
        (r = append(out, arj, "handover.failed",
                    "{\"order\":\"ORD-1002\",\"reason\":\"no-pin-envelope\"}")))
        goto out;

    fprintf(out, "\n3. Entries travel as exported files (what each receiver lacks, by its "
                 "clock):\n");
    if ((r = carry(out, tmp, hub, sto)) || (r = carry(out, tmp, sto, arj)) ||
        (r = carry(out, tmp, arj, hub)) || (r = carry(out, tmp, hub, sto)))
        goto out;
    fprintf(out, "  arjeplog  -> hub       again: ");
    {
        /* Importing the same file twice changes nothing. */
        char file[600];
        struct node_import_report rep;
        snprintf(file, sizeof(file), "%s/arjeplog-to-hub.kbundle", tmp);
        if ((r = node_import(hub->n, file, &rep, out, NULL)) < 0)
            goto out;
        fprintf(out, "%zu new, %zu already held\n", rep.total.accepted, rep.total.duplicates);
    }

    fprintf(out, "\n4. Every node's feeds, clock and verification:\n");
    for (size_t i = 0; i < count; i++) {
        struct print_ctx pc = { out, nodes, count };
        uint64_t checked = 0, total = 0;
        json_t *clock = NULL;
        fprintf(out, "  %s:\n", nodes[i].label);
        if ((r = store_clock(nodes[i].n->store, print_feed, &pc)) < 0 ||
            (r = node_clock_json(nodes[i].n, &clock)) < 0)
            goto out;
        char *text = json_dumps(clock, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(clock);
        if (!text) {
            r = KN_ENOMEM;
            goto out;
        }
        if (i == 0)
            first_clock = text;
        else if (strcmp(text, first_clock) != 0)
            same = false;
        fprintf(out, "      clock (as `kortnod clock --json` writes it): %zu bytes, %s\n",
                strlen(text),
                i == 0 || strcmp(text, first_clock) == 0 ? "same as the hub's"
                                                         : "DIFFERS from the hub's");
        if (i > 0)
            free(text);
        int bad = store_verify_all(nodes[i].n->store, STORE_VERIFY_EVERY, NULL, NULL, &checked);
        store_count(nodes[i].n->store, &total);
        if (bad != 0) {
            fprintf(out, "      verification FAILED (%d)\n", bad);
            r = bad < 0 ? bad : KN_ESIG;
            goto out;
        }
        fprintf(out,
                "      verification passed: %llu of %llu entries, every signature and "
                "hash link good\n",
                (unsigned long long)checked, (unsigned long long)total);
    }
    if (!same) {
        fprintf(out, "\nThe nodes' clocks differ.\n");
        r = KN_EPROTO;
        goto out;
    }
    fprintf(out, "\nAll %zu nodes hold the same feeds, verified. Data: %s (%s)\n", count, tmp,
            keep ? "kept" : "removed");
out:
    free(first_clock);
    if (r)
        fprintf(out, "\ndemo FAILED: %s\n", kn_strerror(r));
    for (size_t i = 0; i < count; i++)
        node_close(nodes[i].n);
    if (!keep)
        rm_tree(tmp, nodes, count);
    return r;
}
