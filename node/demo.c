/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node.h"
#include "ui.h"

/*
 * The demo: what kortnod does, on one machine, without a network. A hub and two offices each get
 * a data directory under a temporary directory. Cards go through their whole life: ordered and
 * shipped by the hub, collected, stored and handed over at the offices (one meeting fails and is
 * repeated, one card is lost and revoked, a reserve card covers for it). Entries travel between
 * the nodes only as exported files (the way a USB stick would carry them). At the end every node
 * holds every feed, verified, and computes the same state; the hub prints its reports.
 */

struct demo_node {
    const char *label;
    const char *role;
    const char *name;
    struct node *n;
    char path[512];
};

/* One step of a card's life, written by d, applied at once or refused with a reason. */
static int step(FILE *out, struct demo_node *d, const char *type, const char *json)
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
    r = store_domain_write(d->n->store, type, payload, len, node_now_ms(), &e, err, sizeof(err));
    free(payload);
    if (r < 0) {
        fprintf(out, "demo: %s could not write %s: %s %s\n", d->label, type, kn_strerror(r), err);
        return r;
    }
    fprintf(out, "  %-9s %-22s %s\n", d->label, type, json);
    return 0;
}

/* A step the rules must refuse: the demo shows the refusal. */
static int refused(FILE *out, struct demo_node *d, const char *type, const char *json)
{
    uint8_t *payload;
    size_t len;
    char err[256];
    int r = node_payload_from_json(json, &payload, &len, err, sizeof(err));
    if (r < 0)
        return r;
    r = store_domain_write(d->n->store, type, payload, len, node_now_ms(), NULL, err, sizeof(err));
    free(payload);
    if (r != KN_EREFUSED) {
        fprintf(out, "demo: %s %s was not refused\n", d->label, type);
        return r < 0 ? r : KN_EPROTO;
    }
    fprintf(out, "  %-9s %-22s REFUSED: %s\n", d->label, type, err);
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
    struct store_domain_stats stats;
    if ((r = store_domain_sync(to->n->store, false, &stats)) < 0)
        return r;
    fprintf(out, "  %-9s -> %-9s a file of %llu entries: %zu new, %zu already held\n", from->label,
            to->label, (unsigned long long)count, rep.total.accepted, rep.total.duplicates);
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
    /* What the demo and its daemons (--serve) write, and nothing else. */
    static const char *const files[] = {
        NODE_KEY_FILE,  NODE_DB_FILE,  NODE_DB_FILE "-wal", NODE_DB_FILE "-shm", NODE_NETKEY_FILE,
        NODE_CONF_FILE, "status.json", "status.json.tmp",   UI_LOGIN_FILE
    };
    char p[700];
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
            snprintf(p, sizeof(p), "%s/%s", nodes[i].path, files[k]);
            unlink(p);
        }
        rmdir(nodes[i].path);
        snprintf(p, sizeof(p), "%s.log", nodes[i].path);
        unlink(p);
        for (size_t j = 0; j < count; j++) {
            snprintf(p, sizeof(p), "%s/%s-to-%s.kbundle", tmp, nodes[i].label, nodes[j].label);
            unlink(p);
        }
    }
    rmdir(tmp);
}

static int bind_json(char *buf, size_t size, const struct demo_node *d, const char *office)
{
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(d->n->id.pk, STORE_KEY_LEN, hex);
    return snprintf(buf, size, "{\"node\":\"%s\",\"office\":\"%s\",\"role\":\"office\"}", hex,
                    office);
}

/* The life of the cards. */
static int walk(FILE *out, const char *tmp, struct demo_node *hub, struct demo_node *sto,
                struct demo_node *arj)
{
    char json[512], bind[256];
    uint64_t now = node_now_ms(), day = 86400000;
    int r;

    fprintf(out, "\n2. The hub registers two offices, their administrators and nodes, and "
                 "places four orders:\n");
    if ((r = step(out, hub, "office.registered",
                  "{\"office\":\"storuman\",\"kind\":\"organisation\",\"name\":\"Vårdcentralen "
                  "Storuman\",\"town\":\"Storuman\",\"place\":\"Reception, Blå vägen 1\","
                  "\"booking\":\"Call 0951-100 00, weekdays 8-12\",\"days\":\"mon,tue,thu\"}")) ||
        (r = step(out, hub, "office.registered",
                  "{\"office\":\"arjeplog\",\"kind\":\"private\",\"name\":\"Eva Lind, ID "
                  "administrator\",\"town\":\"Arjeplog\",\"place\":\"Hotel Silverhatten, lobby\","
                  "\"booking\":\"SMS 070-000 00 00\",\"days\":\"mon,wed\"}")) ||
        (r = step(out, hub, "admin.added",
                  "{\"office\":\"storuman\",\"admin\":\"adm-1\",\"name\":\"Karin\"}")) ||
        (r = step(out, hub, "admin.added",
                  "{\"office\":\"storuman\",\"admin\":\"adm-2\",\"name\":\"Nils\"}")) ||
        (r = step(out, hub, "admin.added",
                  "{\"office\":\"arjeplog\",\"admin\":\"adm-3\",\"name\":\"Eva\"}")))
        return r;
    bind_json(bind, sizeof(bind), sto, "storuman");
    if ((r = step(out, hub, "node.bound", bind)))
        return r;
    bind_json(bind, sizeof(bind), arj, "arjeplog");
    if ((r = step(out, hub, "node.bound", bind)))
        return r;
    static const char *const orders[][3] = {
        { "ORD-1001", "storuman", "region-vasterbotten" },
        { "ORD-1002", "storuman", "storuman-kommun" },
        { "ORD-1003", "arjeplog", "region-norrbotten" },
        { "ORD-1004", "arjeplog", "arjeplog-kommun" },
    };
    for (int i = 0; i < 4; i++) {
        snprintf(json, sizeof(json),
                 "{\"order\":\"%s\",\"care_provider\":\"%s\","
                 "\"office\":\"%s\",\"card_type\":\"siths-eid\"}",
                 orders[i][0], orders[i][2], orders[i][1]);
        if ((r = step(out, hub, "order.placed", json)))
            return r;
        snprintf(json, sizeof(json), "{\"order\":\"%s\",\"serial\":\"SE%d\",\"rek\":\"RR%dSE\"}",
                 orders[i][0], 9000 + i, 100 + i);
        if ((r = step(out, hub, "card.shipped", json)))
            return r;
    }

    fprintf(out, "\n3. The orders reach the offices on a USB stick:\n");
    if ((r = carry(out, tmp, hub, sto)) || (r = carry(out, tmp, hub, arj)))
        return r;

    fprintf(out, "\n4. At the offices, cards are collected, locked away and handed over:\n");
    static const char *const arrive[] = { "notice.received", "card.collected", "card.stored" };
    for (int i = 0; i < 3; i++) {
        struct demo_node *d = i < 2 ? sto : arj;
        for (int k = 0; k < 3; k++) {
            snprintf(json, sizeof(json),
                     k == 2 ? "{\"locked\":true,\"order\":\"%s\"}" : "{\"order\":\"%s\"}",
                     orders[i][0]);
            if ((r = step(out, d, arrive[k], json)))
                return r;
        }
    }
    snprintf(json, sizeof(json),
             "{\"appointment\":\"APT-1\",\"at_ms\":%llu,\"order\":\"ORD-1001\","
             "\"place\":\"the administrator's kitchen\",\"place_kind\":\"administrator-home\"}",
             (unsigned long long)(now + day));
    if ((r = refused(out, sto, "appointment.booked", json)))
        return r;
    snprintf(json, sizeof(json),
             "{\"appointment\":\"APT-1\",\"at_ms\":%llu,\"order\":\"ORD-1001\","
             "\"place\":\"Reception\",\"place_kind\":\"office\"}",
             (unsigned long long)(now + day));
    if ((r = step(out, sto, "appointment.booked", json)) ||
        (r = refused(out, sto, "handover.completed",
                     "{\"appointment\":\"APT-1\",\"id_checked\":true,\"order\":\"ORD-1001\","
                     "\"pin_envelope\":true,\"right_person\":true,\"serial\":\"SE9999\"}")) ||
        (r = step(out, sto, "handover.completed",
                  "{\"appointment\":\"APT-1\",\"id_checked\":true,\"order\":\"ORD-1001\","
                  "\"pin_envelope\":true,\"read_by_reader\":true,\"right_person\":true,"
                  "\"serial\":\"SE9000\"}")) ||
        (r = step(out, sto, "handover.completed",
                  "{\"id_checked\":true,\"order\":\"ORD-1002\",\"pin_envelope\":true,"
                  "\"right_person\":true,\"serial\":\"SE9001\"}")) ||
        (r = step(out, arj, "handover.failed",
                  "{\"order\":\"ORD-1003\",\"reason\":\"no-pin-envelope\"}")) ||
        (r = step(out, arj, "handover.completed",
                  "{\"id_checked\":true,\"order\":\"ORD-1003\",\"pin_envelope\":true,"
                  "\"right_person\":true,\"serial\":\"SE9002\"}")))
        return r;

    fprintf(out, "\n5. The offices report back; the holder of ORD-1002 loses the card:\n");
    if ((r = carry(out, tmp, sto, hub)) || (r = carry(out, tmp, arj, hub)) ||
        (r = step(out, hub, "card.revoked",
                  "{\"order\":\"ORD-1002\",\"police_report\":\"K-123456-26\",\"reason\":"
                  "\"lost\"}")) ||
        (r = carry(out, tmp, hub, sto)))
        return r;
    snprintf(json, sizeof(json),
             "{\"holder\":\"holder 2\",\"office\":\"storuman\",\"reason\":\"lost-card\","
             "\"receipt\":\"KV-77\",\"reserve\":\"RES-1\",\"valid_until_ms\":%llu}",
             (unsigned long long)(now + 30 * day));
    if ((r = step(out, sto, "reserve.issued", json)) ||
        (r = step(out, sto, "receipt.archived", "{\"reserve\":\"RES-1\"}")))
        return r;

    fprintf(out, "\n6. A last round of files, so that every node holds everything:\n");
    return (r = carry(out, tmp, sto, hub)) || (r = carry(out, tmp, hub, arj)) ||
                   (r = carry(out, tmp, hub, sto))
               ? r
               : 0;
}

/*
 * The demo network, served: the three nodes' daemons on loopback, each with its web interface,
 * the offices dialling the hub. One more card is shipped to Storuman and left for the person
 * trying the page to walk from the postal notice to the hand-over. Runs until SIGINT/SIGTERM,
 * then stops the daemons and removes the directory.
 */
static int serve(FILE *out, const char *tmp, struct demo_node *nodes, size_t count)
{
    static const int listen_port[] = { 7117, 7118, 7119 }, ui_port[] = { 7180, 7181, 7182 };
    char path[700], self[4096];
    pid_t pids[3] = { 0 };
    int r;

    fprintf(out, "\n9. One more card for you: ordered, shipped to Storuman, waiting there:\n");
    if ((r = step(out, &nodes[0], "order.placed",
                  "{\"order\":\"DEMO-1\",\"care_provider\":\"region-vasterbotten\","
                  "\"office\":\"storuman\",\"card_type\":\"siths-e-id\"}")) ||
        (r = step(out, &nodes[0], "card.shipped",
                  "{\"order\":\"DEMO-1\",\"serial\":\"SN-DEMO-1\",\"rek\":\"RR-DEMO-1\"}")))
        return r;
    if ((r = node_self_path(self, sizeof(self))) < 0)
        return r;
    snprintf(path, sizeof(path), "%s/network.key", nodes[0].path);
    char hub_hex[STORE_ID_HEX_LEN + 1];
    store_hex(nodes[0].n->id.pk, STORE_KEY_LEN, hub_hex);
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && (r = node_netkey_create(nodes[i].n, path)) < 0)
            return r;
        char conf[800];
        snprintf(conf, sizeof(conf), "%s/%s", nodes[i].path, NODE_CONF_FILE);
        FILE *f = fopen(conf, "w");
        if (!f)
            return -errno;
        fprintf(f, "listen = 127.0.0.1:%d\nui = 127.0.0.1:%d\n", listen_port[i], ui_port[i]);
        if (i > 0)
            fprintf(f, "peer = 127.0.0.1:%d %s\n", listen_port[0], hub_hex);
        fclose(f);
    }
    /* The daemons own the databases from here on. */
    for (size_t i = 0; i < count; i++) {
        node_close(nodes[i].n);
        nodes[i].n = NULL;
    }
    fflush(out);
    for (size_t i = 0; i < count; i++) {
        char log[800];
        snprintf(log, sizeof(log), "%s.log", nodes[i].path);
        pids[i] = fork();
        if (pids[i] == 0) {
            /* The daemons end with the demo, however it ends (killed, too). */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() == 1)
                _exit(0);
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execl(self, self, "--data", nodes[i].path, "run", (char *)NULL);
            _exit(127);
        }
    }
    /* The links, once each daemon says where its page is. */
    fprintf(out, "\n10. The network runs: the hub and two offices, each with its web page.\n"
                 "    Open a link in a browser on this computer (each works once, for 10 "
                 "minutes):\n\n");
    for (size_t i = 0; i < count; i++) {
        struct node *nd = NULL;
        char token[65];
        for (int tries = 0; tries < 100; tries++) {
            char st[800];
            snprintf(st, sizeof(st), "%s/status.json", nodes[i].path);
            if (access(st, R_OK) == 0)
                break;
            usleep(100000);
        }
        if ((r = node_open(nodes[i].path, &nd)) < 0 || (r = ui_login_token(nd, token)) < 0) {
            node_close(nd);
            break;
        }
        node_close(nd);
        fprintf(out, "    %-9s http://127.0.0.1:%d/login?t=%s\n", nodes[i].label, ui_port[i],
                token);
    }
    if (r == 0)
        fprintf(out,
                "\n    Try it: in Storuman's page, card DEMO-1 is waiting: record the postal "
                "notice,\n    the collection, the locked storage, a booking, then the hand-over "
                "(the serial\n    printed on the card is SN-DEMO-1); the hub's page shows it "
                "moments later.\n    A new link: kortnod --data %s/storuman "
                "ui --print\n    Logs: %s/*.log. Stop with Ctrl-C.\n",
                tmp, tmp);
    fflush(out);
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (r == 0)
        sigwait(&set, &sig);
    for (size_t i = 0; i < count; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (size_t i = 0; i < count; i++)
        if (pids[i] > 0)
            waitpid(pids[i], NULL, 0);
    fprintf(out, "\ndemo stopped; the daemons said goodbye.\n");
    return r;
}

int node_demo(FILE *out, bool keep, bool serving)
{
    struct demo_node nodes[] = {
        { "hub", "hub", "Issuer hub", NULL, "" },
        { "storuman", "office", "Vårdcentralen Storuman (organisation office)", NULL, "" },
        { "arjeplog", "office", "Private ID administrator, Arjeplog", NULL, "" },
    };
    const size_t count = sizeof(nodes) / sizeof(nodes[0]);
    char tmp[] = "/tmp/kortnod-demo.XXXXXX";
    char hub_hex[STORE_ID_HEX_LEN + 1];
    uint8_t digest[STORE_HASH_LEN], first[STORE_HASH_LEN];
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
        r = node_init(nodes[i].path, nodes[i].role, nodes[i].name, i ? hub_hex : NULL, NULL,
                      &nodes[i].n);
        if (r < 0) {
            fprintf(out, "demo: init %s: %s\n", nodes[i].label, kn_strerror(r));
            goto out;
        }
        if (i == 0)
            store_hex(nodes[0].n->id.pk, STORE_KEY_LEN, hub_hex);
        node_short_id(nodes[i].n->id.pk, id);
        fprintf(out, "  %-9s %-6s %s…  %s\n", nodes[i].label, nodes[i].role, id, nodes[i].name);
    }
    if ((r = walk(out, tmp, &nodes[0], &nodes[1], &nodes[2])) < 0)
        goto out;

    fprintf(out, "\n7. Every node's feeds, verification and state digest:\n");
    for (size_t i = 0; i < count; i++) {
        struct print_ctx pc = { out, nodes, count };
        uint64_t checked = 0;
        char hex[2 * STORE_HASH_LEN + 1];
        fprintf(out, "  %s:\n", nodes[i].label);
        if ((r = store_clock(nodes[i].n->store, print_feed, &pc)) < 0)
            goto out;
        int bad = store_verify_all(nodes[i].n->store, STORE_VERIFY_EVERY, NULL, NULL, &checked);
        if (bad != 0) {
            fprintf(out, "      verification FAILED (%d)\n", bad);
            r = bad < 0 ? bad : KN_ESIG;
            goto out;
        }
        if ((r = store_domain_sync(nodes[i].n->store, false, NULL)) < 0 ||
            (r = store_domain_digest(nodes[i].n->store, digest)) < 0)
            goto out;
        if (i == 0)
            memcpy(first, digest, sizeof(first));
        store_hex(digest, STORE_HASH_LEN, hex);
        fprintf(out,
                "      verification passed: %llu entries, every signature and hash link "
                "good\n      state digest %.16s…%s\n",
                (unsigned long long)checked, hex,
                memcmp(digest, first, sizeof(first)) ? "  DIFFERS" : "");
        if (memcmp(digest, first, sizeof(first)) != 0) {
            r = KN_EPROTO;
            goto out;
        }
    }

    fprintf(out, "\n8. The hub's reports:\n\n");
    struct store_report_args a = { .now_ms = node_now_ms() + 35 * 86400000ull };
    char month[8];
    store_month(node_now_ms(), month);
    a.month = month;
    struct node *h = nodes[0].n;
    if ((r = node_report_text(h, STORE_REPORT_STOCK, &a, "Stock per office:", out)) < 0 ||
        (fputc('\n', out), r = node_report_text(h, STORE_REPORT_ORDERS, &a, "Orders:", out)) < 0 ||
        (fputc('\n', out),
         r = node_report_text(h, STORE_REPORT_INVOICE_OFFICES, &a,
                              "Invoice basis this month (private: 500 SEK per card + 250 per "
                              "extra meeting; organisation: 800 SEK + VAT):",
                              out)) < 0 ||
        (fputc('\n', out), r = node_report_text(h, STORE_REPORT_INVOICE_PROVIDERS, &a,
                                                "Billed to care providers:", out)) < 0 ||
        (fputc('\n', out), r = node_report_text(h, STORE_REPORT_ALERTS, &a,
                                                "Alerts, as they will stand in 35 days:", out)) <
            0 ||
        (fputc('\n', out), r = node_report_text(h, STORE_REPORT_CONFLICTS, &a, "Conflicts:", out)) <
            0 ||
        (fputc('\n', out),
         r = node_report_text(h, STORE_REPORT_DIRECTORY, &a, "Public office directory:", out)) < 0)
        goto out;
    fprintf(out, "\nAll %zu nodes hold the same entries and the same state. Data: %s (%s)\n", count,
            tmp,
            keep      ? "kept"
            : serving ? "served, then removed"
                      : "removed");
    if (serving)
        r = serve(out, tmp, nodes, count);
out:
    if (r)
        fprintf(out, "\ndemo FAILED: %s\n", kn_strerror(r));
    for (size_t i = 0; i < count; i++)
        node_close(nodes[i].n);
    if (!keep)
        rm_tree(tmp, nodes, count);
    return r;
}
