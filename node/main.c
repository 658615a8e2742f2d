/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "kn_config.h"
#include "node.h"
#include "ui.h"
#include "reader.h"
#include "sync.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "Usage: kortnod [--data DIR] COMMAND [OPTIONS]\n"
    "\n"
    "kortnod keeps a card-issuing office's signed, append-only log of SITHS card orders, stock\n"
    "and hand-overs, and moves it between offices and the issuer hub.\n"
    "\n"
    "Commands:\n"
    "  init --role hub|office|mobile [--name NAME] [--hub NODEID] [--network-key FILE]\n"
    "                          create this node's key pair and empty log; prints the node id\n"
    "  id                      print this node's id (its public key, 64 hex digits)\n"
    "  log append --type TYPE --body JSON [--dep AUTHOR:SEQ]...\n"
    "                          sign and append an entry to this node's feed\n"
    "  log show [--author ID] [--json]\n"
    "                          list the entries held, feed by feed\n"
    "  log verify [--every]    re-check every stored entry; exit 1 naming the first bad one\n"
    "  clock [--json] [--out FILE]\n"
    "                          the latest seq held of every feed (--out: into a file)\n"
    "  export --out FILE [--since CLOCK.json]\n"
    "                          write the entries that a node with that clock lacks (all without)\n"
    "  import FILE [--progress]\n"
    "                          verify and store the entries of an exported file\n"
    "  bundle export (--for CLOCK | --all) --out FILE\n"
    "                          what a peer with that clock (kortnod clock --out) lacks, sealed\n"
    "                          with the network key, for a USB stick or the post\n"
    "  bundle import FILE [--progress]\n"
    "                          check a sealed bundle whole, then store its entries (also while\n"
    "                          the daemon runs; --progress: progress lines even when stderr is\n"
    "                          not a terminal)\n"
    "  reader list             the card readers the smart card service (pcscd) has\n"
    "  reader read [READER] [--json]\n"
    "                          read the card in a reader: ATR, chip serial, HSA-id, and the\n"
    "                          order it is for\n"
    "  reader watch [--json]   show readers and cards coming and going, until Ctrl-C\n"
    "  reader status [--json]  what the running daemon sees in its readers\n"
    "\n"
    "The card's life (kortnod help steps lists every step and its options):\n"
    "  office register|update|admin-add|admin-remove|bind-node|notice|close\n"
    "  order place;  card ship|pin-sent|notice|collect|store|return|revoke|destroy\n"
    "  appointment book|move|cancel;  handover complete|fail\n"
    "  handover complete --order ID --from-reader [READER] --id-checked --right-person\n"
    "                          --pin-envelope: read the card and refuse a card not shipped\n"
    "                          for the order (chip serial, the holder's HSA-id)\n"
    "  reserve issue|return|archive-receipt;  catalogue add|audit|remove;  invoice issue\n"
    "  state digest|rebuild    hash of the projected state (same entries, same digest)\n"
    "  report stock|orders|conflicts|alerts|directory|appointments|offices|handovers\n"
    "                          [--json|--csv]; times in UTC, ISO 8601\n"
    "  report invoice --month YYYY-MM [--office ID] [--json|--csv]\n"
    "                          reports take --office; orders --state, --match TEXT (in the id,\n"
    "                          serial or care provider), --limit N; stock, alerts and\n"
    "                          handovers --now TIME (ages judged at TIME)\n"
    "  demo [--keep] [--serve] a hub and two offices exchanging entries in a temporary directory;\n"
    "                          --serve: then their daemons run with their web pages, and the\n"
    "                          login links are printed, until Ctrl-C\n"
    "\n";
static const char usage_text2[] =
    "Sync over the network (encrypted: secret handshake and box-stream):\n"
    "  run [--listen HOST:PORT] [--ui 127.0.0.1:PORT|off] [--log-level L] [--idle-timeout S]\n"
    "                          the daemon: listens (default 127.0.0.1:7117), dials the peers in\n"
    "                          DATA/kortnod.conf, replicates live, serves the web interface\n"
    "                          (default 127.0.0.1:7180); stops cleanly on Ctrl-C\n"
    "  ui [--print]            open the web interface in the browser, logged in by a one-time\n"
    "                          link (--print: only print the link); the daemon must run\n"
    "  sync HOST:PORT NODEID   one exchange with a peer, both ways, until both are caught up\n"
    "  status [--json]         every peer by path (tcp, lan, bundle): last sync, entries it\n"
    "                          lacks; what is waiting for the hub; LAN discovery\n"
    "  peer add HOST:PORT NODEID\n"
    "                          a peer for the daemon to dial\n"
    "  DATA/kortnod.conf also takes: ui = 127.0.0.1:PORT|off, reader = on|off, lan =\n"
    "  on|off|auto (find nodes of this network on the local network; auto: on for offices and\n"
    "  laptops that listen beyond 127.0.0.1), lan_port = PORT (UDP, 7118), announce =\n"
    "  IPV4:PORT (this node's address, written into the log: the nodes of its office dial it,\n"
    "  and every node the hub's), forget_after = SECONDS (give up an announced address\n"
    "  unreachable this long; 604800)\n"
    "\n"
    "Trust (the hub's key is the root; entries of keys it has not enrolled wait, revoked ones\n"
    "are refused):\n"
    "  node enrol NODEID --role office|mobile|hub --office OFFICE|hub [--valid-until YYYY-MM-DD]\n"
    "             [--out FILE]  hub: enrol a node key; --out writes everything the hub holds,\n"
    "                          up to the enrolment, for the new node to import (offline)\n"
    "  node revoke NODEID [--from-seq N]\n"
    "                          hub: refuse what the key signs from seq N on (default: after\n"
    "                          what the hub holds of it)\n"
    "  node list [--json]      the keys the hub's feed names, and entries held of unknown ones\n"
    "  recover [--role ROLE --hub HUBID] [HOST:PORT NODEID]\n"
    "                          after a restored backup or a copied disk: fetch this node's own\n"
    "                          feed back from its peers (default: those in kortnod.conf); until\n"
    "                          then it refuses to write. A damaged database is kept aside\n"
    "                          (kortnod.db.damaged-TIME) and the log rebuilt from the peers\n"
    "                          (--role, --hub: when the file is too damaged to say them)\n"
    "\n"
    "Options:\n"
    "  --data DIR   the node's data directory (default: $KORTNOD_DATA, then\n"
    "               ~/.local/share/kortnod)\n"
    "  --help       show this help; --version: the version\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 wrong usage.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kortnod: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'kortnod --help'.\n");
    va_end(ap);
    return EXIT_USAGE;
}

/* Options of a subcommand: "--name VALUE" pairs and bare flags, nothing positional unless asked. */
struct opts {
    int argc;
    char **argv;
    int i;
};

static const char *opt_value(struct opts *o, const char *arg)
{
    if (o->i + 1 >= o->argc) {
        usage_error("option %s needs a value", arg);
        return NULL;
    }
    return o->argv[++o->i];
}

static char *default_data_dir(void)
{
    const char *env = getenv("KORTNOD_DATA");
    if (env && *env)
        return kn_xstrdup(env);
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char buf[4096];
    if (xdg && *xdg)
        snprintf(buf, sizeof(buf), "%s/kortnod", xdg);
    else
        snprintf(buf, sizeof(buf), "%s/.local/share/kortnod", home && *home ? home : ".");
    return kn_xstrdup(buf);
}

static int fail_open(const char *dir, int r)
{
    if (r == KN_EKEYPERM)
        fprintf(stderr,
                "kortnod: %s/%s: %s.\n"
                "Refusing to start: anyone who can read the key can sign as this node.\n"
                "Fix it with: chmod 600 %s/%s\n",
                dir, NODE_KEY_FILE, kn_strerror(r), dir, NODE_KEY_FILE);
    else if (r == KN_ENOTINIT)
        fprintf(stderr, "kortnod: %s: %s\n", dir, kn_strerror(r));
    else
        fprintf(stderr, "kortnod: cannot open the node in %s: %s\n", dir, kn_strerror(r));
    return EXIT_FAIL;
}

static int open_node(const char *dir, struct node **n)
{
    int r = node_open(dir, n);
    return r < 0 ? fail_open(dir, r) : EXIT_OK;
}

static int cmd_init(const char *dir, struct opts *o)
{
    const char *role = NULL, *name = NULL, *hub = NULL, *netkey = NULL;
    uint8_t hub_key[STORE_KEY_LEN];
    struct node *n;
    char hex[STORE_ID_HEX_LEN + 1];

    for (o->i = 1; o->i < o->argc; o->i++) {
        const char *a = o->argv[o->i];
        if (!strcmp(a, "--role")) {
            if (!(role = opt_value(o, a)))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--name")) {
            if (!(name = opt_value(o, a)))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--network-key")) {
            if (!(netkey = opt_value(o, a)))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--hub")) {
            if (!(hub = opt_value(o, a)))
                return EXIT_USAGE;
            if (store_unhex(hub, hub_key, STORE_KEY_LEN) < 0)
                return usage_error("init: --hub wants the hub's node id (64 hex digits)");
        } else {
            return usage_error("init: unknown argument '%s'", a);
        }
    }
    if (!role)
        return usage_error("%s", "init needs --role hub|office|mobile");
    if (!node_role_valid(role))
        return usage_error("init: unknown role '%s' (hub, office or mobile)", role);
    int r = node_init(dir, role, name, hub, netkey, &n);
    if (r == -EEXIST) {
        fprintf(stderr, "kortnod: %s already holds a node; nothing changed\n", dir);
        return EXIT_FAIL;
    }
    if (r < 0) {
        fprintf(stderr, "kortnod: cannot create a node in %s: %s\n", dir, kn_strerror(r));
        return EXIT_FAIL;
    }
    store_hex(n->id.pk, STORE_KEY_LEN, hex);
    printf("%s\n", hex);
    fprintf(stderr, "kortnod: created %s node%s%s in %s (key in %s/%s, mode 0600)\n", role,
            name ? " " : "", name ? name : "", dir, dir, NODE_KEY_FILE);
    node_close(n);
    return EXIT_OK;
}

static int cmd_id(const char *dir, struct opts *o)
{
    struct node *n;
    char hex[STORE_ID_HEX_LEN + 1];
    if (o->argc > 1)
        return usage_error("id: unknown argument '%s'", o->argv[1]);
    if (open_node(dir, &n))
        return EXIT_FAIL;
    store_hex(n->id.pk, STORE_KEY_LEN, hex);
    printf("%s\n", hex);
    node_close(n);
    return EXIT_OK;
}

/* AUTHOR:SEQ into d->author and d->seq; the hash is looked up once the node is open. */
static int parse_dep(const char *s, struct store_entry_id *d)
{
    char hex[STORE_ID_HEX_LEN + 1];
    const char *colon = strchr(s, ':');
    char *end;
    if (!colon || colon - s != STORE_ID_HEX_LEN)
        return KN_EINVAL;
    memcpy(hex, s, STORE_ID_HEX_LEN);
    hex[STORE_ID_HEX_LEN] = '\0';
    if (store_unhex(hex, d->author, STORE_KEY_LEN) < 0)
        return KN_EINVAL;
    errno = 0;
    d->seq = strtoull(colon + 1, &end, 10);
    if (errno || *end || d->seq == 0 || colon[1] < '0' || colon[1] > '9')
        return KN_EINVAL;
    return 0;
}

static int cmd_log_append(const char *dir, struct opts *o)
{
    const char *type = NULL, *body = NULL;
    const char *deps_arg[STORE_MAX_DEPS];
    struct store_entry_id deps[STORE_MAX_DEPS];
    size_t ndeps = 0;
    struct node *n = NULL;
    uint8_t *payload = NULL;
    size_t len;
    char err[256];
    int rc = EXIT_FAIL, r;

    for (o->i = 2; o->i < o->argc; o->i++) {
        const char *a = o->argv[o->i];
        if (!strcmp(a, "--type")) {
            if (!(type = opt_value(o, a)))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--body")) {
            if (!(body = opt_value(o, a)))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--dep")) {
            if (ndeps == STORE_MAX_DEPS)
                return usage_error("log append: at most 16 --dep%s", "");
            if (!(deps_arg[ndeps++] = opt_value(o, a)))
                return EXIT_USAGE;
        } else {
            return usage_error("log append: unknown argument '%s'", a);
        }
    }
    if (!type || !body)
        return usage_error("%s", "log append needs --type TYPE and --body JSON");
    if (strlen(type) == 0 || strlen(type) > STORE_MAX_TYPE ||
        strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(type))
        return usage_error("log append: bad --type '%s' (1 to 64 of a-z 0-9 . _ -)", type);
    for (size_t i = 0; i < ndeps; i++)
        if (parse_dep(deps_arg[i], &deps[i]) < 0)
            return usage_error("log append: --dep %s: want AUTHOR:SEQ (a node id of 64 hex "
                               "digits, a colon, a seq from 1)",
                               deps_arg[i]);
    if ((r = node_payload_from_json(body, &payload, &len, err, sizeof(err))) < 0) {
        fprintf(stderr, "kortnod: log append: --body is not acceptable JSON: %s\n", err);
        return EXIT_USAGE;
    }
    if (open_node(dir, &n))
        goto out;
    for (size_t i = 0; i < ndeps; i++) {
        struct store_entry dep;
        if ((r = store_get(n->store, deps[i].author, deps[i].seq, &dep, NULL, NULL)) < 0) {
            fprintf(stderr, "kortnod: log append: --dep %s: %s\n", deps_arg[i],
                    r == KN_ENOTFOUND ? "no such entry held here" : kn_strerror(r));
            goto out;
        }
        memcpy(deps[i].hash, dep.hash, STORE_HASH_LEN);
    }
    struct store_draft d = { type, node_now_ms(), deps, ndeps, payload, len };
    struct store_entry e;
    if ((r = store_append(n->store, &d, &e)) < 0) {
        fprintf(stderr, "kortnod: log append: %s", kn_strerror(r));
        if (r == KN_EDB || r == KN_EIO)
            fprintf(stderr, " (%s)", store_last_error(n->store));
        fprintf(stderr, "\n");
        goto out;
    }
    char hash[2 * STORE_HASH_LEN + 1];
    store_hex(e.hash, STORE_HASH_LEN, hash);
    printf("appended seq %llu, hash %s\n", (unsigned long long)e.seq, hash);
    rc = EXIT_OK;
out:
    free(payload);
    node_close(n);
    return rc;
}

struct show_ctx {
    bool json;
    json_t *arr;
};

static int show_entry(void *ud, const struct store_entry *e, const uint8_t *payload, size_t len)
{
    struct show_ctx *c = ud;
    json_t *j = node_entry_to_json(e, payload, len);
    if (c->json) {
        json_array_append_new(c->arr, j);
        return 0;
    }
    char ts[32];
    node_format_time(e->timestamp_ms, ts);
    json_t *body = json_object_get(j, "payload");
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    printf("  %6llu  %s  %-24s %s\n", (unsigned long long)e->seq, ts, e->type,
           payload ? (text ? text : "(payload not readable)") : "(payload absent)");
    free(text);
    json_decref(j);
    return 0;
}

static int collect(void *ud, const struct store_feed *f)
{
    json_t *a = ud;
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(f->author, STORE_KEY_LEN, hex);
    json_array_append_new(a, json_pack("{s:s,s:I,s:b}", "author", hex, "seq", (json_int_t)f->seq,
                                       "forked", f->forked));
    return 0;
}

static int cmd_log_show(const char *dir, struct opts *o)
{
    struct show_ctx c = { 0 };
    const char *author_hex = NULL;
    uint8_t author[STORE_KEY_LEN];
    struct node *n;
    int r;

    for (o->i = 2; o->i < o->argc; o->i++) {
        const char *a = o->argv[o->i];
        if (!strcmp(a, "--json")) {
            c.json = true;
        } else if (!strcmp(a, "--author")) {
            if (!(author_hex = opt_value(o, a)))
                return EXIT_USAGE;
            if (store_unhex(author_hex, author, STORE_KEY_LEN) < 0)
                return usage_error("log show: --author wants a node id (64 hex digits), not '%s'",
                                   author_hex);
        } else {
            return usage_error("log show: unknown argument '%s'", a);
        }
    }
    if (open_node(dir, &n))
        return EXIT_FAIL;
    json_t *feeds = json_array();
    c.arr = json_array();
    r = store_clock(n->store, collect, feeds);
    size_t i;
    json_t *f;
    json_array_foreach (feeds, i, f) {
        const char *hex = json_string_value(json_object_get(f, "author"));
        uint8_t key[STORE_KEY_LEN];
        if (r < 0)
            break;
        store_unhex(hex, key, STORE_KEY_LEN);
        if (author_hex && memcmp(key, author, STORE_KEY_LEN) != 0)
            continue;
        if (!c.json)
            printf("feed %s%s%s (%lld entries)%s\n", hex,
                   memcmp(key, n->id.pk, STORE_KEY_LEN) == 0 ? " (this node" : "",
                   memcmp(key, n->id.pk, STORE_KEY_LEN) == 0 ? ")" : "",
                   (long long)json_integer_value(json_object_get(f, "seq")),
                   json_is_true(json_object_get(f, "forked")) ? " FORKED" : "");
        r = store_range(n->store, key, 1, 0, show_entry, &c);
    }
    if (r == 0 && c.json) {
        json_dumpf(c.arr, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    json_decref(c.arr);
    json_decref(feeds);
    if (r < 0)
        fprintf(stderr, "kortnod: log show: %s\n", kn_strerror(r));
    node_close(n);
    return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static void verify_problem(void *ud, const uint8_t author[STORE_KEY_LEN], uint64_t seq, int err)
{
    char hex[STORE_ID_HEX_LEN + 1];
    (void)ud;
    store_hex(author, STORE_KEY_LEN, hex);
    printf("BAD entry %s:%llu: %s\n", hex, (unsigned long long)seq, kn_strerror(err));
}

static int cmd_log_verify(const char *dir, struct opts *o)
{
    enum store_verify_mode mode = STORE_VERIFY_CHAIN;
    struct node *n;
    uint64_t checked = 0;

    for (o->i = 2; o->i < o->argc; o->i++) {
        if (!strcmp(o->argv[o->i], "--every"))
            mode = STORE_VERIFY_EVERY;
        else
            return usage_error("log verify: unknown argument '%s'", o->argv[o->i]);
    }
    if (open_node(dir, &n))
        return EXIT_FAIL;
    /* The file itself first (pages, b-trees): a damaged page may hold no entry at all. */
    char why[256];
    int r = store_check_file(n->store, why, sizeof(why));
    if (r < 0) {
        for (char *p = why; *p; p++)
            *p = *p == '\n' ? ' ' : *p;
        fprintf(stderr, "kortnod: log verify: %s\n(SQLite's check of the file: %s)\n",
                kn_strerror(r), why);
        node_close(n);
        return EXIT_FAIL;
    }
    r = store_verify_all(n->store, mode, verify_problem, NULL, &checked);
    if (r < 0) {
        fprintf(stderr, "kortnod: log verify: cannot read the log: %s (%s)\n", kn_strerror(r),
                store_last_error(n->store));
        node_close(n);
        return EXIT_FAIL;
    }
    if (r > 0)
        printf("log verify: %d feed%s damaged (%llu entries read); 'kortnod recover' rebuilds the "
               "log from the peers\n",
               r, r == 1 ? "" : "s", (unsigned long long)checked);
    else
        printf("log verify: ok, %llu entries checked (%s)\n", (unsigned long long)checked,
               mode == STORE_VERIFY_EVERY ? "every signature" : "hash chains, tip signatures");
    node_close(n);
    return r > 0 ? EXIT_FAIL : EXIT_OK;
}

static int print_feed(void *ud, const struct store_feed *f)
{
    const uint8_t *self = ud;
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(f->author, STORE_KEY_LEN, hex);
    printf("%s %llu%s%s\n", hex, (unsigned long long)f->seq,
           memcmp(f->author, self, STORE_KEY_LEN) == 0 ? " (this node)" : "",
           f->forked ? " FORKED" : "");
    return 0;
}

static int cmd_clock(const char *dir, struct opts *o)
{
    bool json = false;
    const char *out = NULL;
    struct node *n;
    int r;

    for (o->i = 1; o->i < o->argc; o->i++) {
        if (!strcmp(o->argv[o->i], "--json"))
            json = true;
        else if (!strcmp(o->argv[o->i], "--out")) {
            if (!(out = opt_value(o, o->argv[o->i])))
                return EXIT_USAGE;
        } else
            return usage_error("clock: unknown argument '%s'", o->argv[o->i]);
    }
    if (open_node(dir, &n))
        return EXIT_FAIL;
    if (json || out) {
        /* --out: the clock in a small file, to travel to a peer that makes a bundle for it */
        json_t *c;
        if ((r = node_clock_json(n, &c)) == 0) {
            if (out && json_dump_file(c, out, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
                r = KN_EIO;
            else if (out)
                printf("clock written to %s: give it to the peer that makes a bundle for this node "
                       "(kortnod bundle export --for %s)\n",
                       out, out);
            else {
                json_dumpf(c, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                putchar('\n');
            }
            json_decref(c);
        }
    } else {
        r = store_clock(n->store, print_feed, n->id.pk);
    }
    if (r < 0)
        fprintf(stderr, "kortnod: clock: %s\n", kn_strerror(r));
    node_close(n);
    return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static char *read_text_file(const char *path, int *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    *err = 0;
    if (!f) {
        *err = -errno;
        return NULL;
    }
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 8192;
            if (cap > (64u << 20)) {
                *err = KN_ETOOBIG;
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = kn_xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* A peer's clock from a file (`kortnod clock --out` or `--json`) into *out; -1 with a message. */
static int load_clock(const char *cmd, const char *path, json_t **out)
{
    char err[256];
    int r;
    char *text = read_text_file(path, &r);
    if (!text) {
        fprintf(stderr, "kortnod: %s: cannot read %s: %s\n", cmd, path, kn_strerror(r));
        return -1;
    }
    r = node_clock_parse(text, out, err, sizeof(err));
    free(text);
    if (r < 0) {
        fprintf(stderr, "kortnod: %s: %s is not a clock: %s\n", cmd, path, err);
        return -1;
    }
    return 0;
}

static int cmd_export(const char *dir, struct opts *o)
{
    const char *out = NULL, *since_path = NULL;
    json_t *since = NULL;
    struct node *n = NULL;
    uint64_t count;
    int rc = EXIT_FAIL, r = 0;

    for (o->i = 1; o->i < o->argc; o->i++) {
        const char *a = o->argv[o->i];
        if (!strcmp(a, "--out")) {
            if (!(out = opt_value(o, a)))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--since")) {
            if (!(since_path = opt_value(o, a)))
                return EXIT_USAGE;
        } else {
            return usage_error("export: unknown argument '%s'", a);
        }
    }
    if (!out)
        return usage_error("%s", "export needs --out FILE");
    if (since_path && load_clock("export", since_path, &since) < 0)
        return EXIT_FAIL;
    if (open_node(dir, &n))
        goto out;
    if ((r = node_export(n, out, since, &count)) < 0) {
        fprintf(stderr, "kortnod: export: %s: %s\n", out, kn_strerror(r));
        goto out;
    }
    printf("exported %llu entr%s to %s\n", (unsigned long long)count, count == 1 ? "y" : "ies",
           out);
    rc = EXIT_OK;
out:
    json_decref(since);
    node_close(n);
    return rc;
}

/* Import the export file at path (named shown to the user) into n and report; the exit status. */
static int import_path(struct node *n, const char *path, const char *shown,
                       struct node_import_report *report, bool progress)
{
    struct node_import_report local;
    struct node_import_report *repp = report ? report : &local;
    int r = node_import(n, path, repp, stdout, progress || isatty(2) ? stderr : NULL);
    const struct node_import_report rep = *repp;
    printf("import %s: %llu records: %zu new, %zu already held, %zu refused, %zu fork proofs\n",
           shown, (unsigned long long)rep.records, rep.total.accepted, rep.total.duplicates,
           rep.total.rejected + rep.total.refused, rep.total.forks);
    if (rep.total.held || rep.total.released)
        printf("trust: %zu entries of keys the hub has not enrolled are held (not stored, not "
               "passed on) until it does; %zu held earlier were stored now\n",
               rep.total.held, rep.total.released);
    if (rep.total.refused)
        printf("trust: %zu entries refused: a key the hub revoked, or a role that may not write "
               "them (kortnod node list)\n",
               rep.total.refused);
    /* Apply what arrived to the card domain's state, when this node knows its hub. */
    struct store_domain_stats stats;
    int dr = store_domain_sync(n->store, false, &stats);
    if (dr == 0)
        printf("state: %zu entries applied%s; %zu conflicts, %zu invalid, %zu waiting in all\n",
               stats.applied, stats.rebuilt ? " (rebuilt in order)" : "", stats.conflicts,
               stats.invalid, stats.waiting);
    else if (dr != KN_ENOHUB)
        fprintf(stderr, "kortnod: import: applying the entries: %s\n", kn_strerror(dr));
    if (r < 0) {
        fprintf(stderr, "kortnod: import: %s: %s", shown, kn_strerror(r));
        if (r == KN_ETRUNC)
            fprintf(stderr, " (the file was cut off; the entries before the cut are kept)");
        fprintf(stderr, "\n");
    }
    return r < 0 || rep.total.rejected > 0 ? EXIT_FAIL : EXIT_OK;
}

static int cmd_import(const char *dir, struct opts *o)
{
    struct node *n;
    const char *file = NULL;
    bool progress = false;
    for (o->i = 1; o->i < o->argc; o->i++) {
        if (!strcmp(o->argv[o->i], "--progress"))
            progress = true;
        else if (o->argv[o->i][0] != '-' && !file)
            file = o->argv[o->i];
        else
            return usage_error("%s", "import takes one FILE and --progress");
    }
    if (!file)
        return usage_error("%s", "import takes one FILE");
    if (open_node(dir, &n))
        return EXIT_FAIL;
    int rc = import_path(n, file, file, NULL, progress);
    node_close(n);
    return rc;
}

/*
 * `bundle export (--for CLOCK | --all) --out FILE` and `bundle import FILE`: export files sealed
 * with the network key (node/sealed_bundle.c). The plain file lives only in the data directory,
 * for the moment it takes.
 */
static int cmd_bundle(const char *dir, struct opts *o)
{
    const char *sub = o->argc > 1 ? o->argv[1] : "", *out = NULL, *for_path = NULL;
    bool all = false;
    struct node *n = NULL;
    json_t *since = NULL;
    struct node_bundle_about about = { .clock = NULL };
    const char *file = NULL;
    bool progress = false;
    uint8_t netkey[32];
    char tmp[4300], why[128];
    int rc = EXIT_FAIL, r;

    if (!strcmp(sub, "import")) {
        for (o->i = 2; o->i < o->argc; o->i++) {
            if (!strcmp(o->argv[o->i], "--progress"))
                progress = true;
            else if (o->argv[o->i][0] != '-' && !file)
                file = o->argv[o->i];
            else
                return usage_error("%s", "bundle import takes one FILE and --progress");
        }
        if (!file)
            return usage_error("%s", "bundle import takes one FILE");
    } else if (!strcmp(sub, "export")) {
        for (o->i = 2; o->i < o->argc; o->i++) {
            const char *a = o->argv[o->i];
            if (!strcmp(a, "--out")) {
                if (!(out = opt_value(o, a)))
                    return EXIT_USAGE;
            } else if (!strcmp(a, "--for")) {
                if (!(for_path = opt_value(o, a)))
                    return EXIT_USAGE;
            } else if (!strcmp(a, "--all")) {
                all = true;
            } else {
                return usage_error("bundle export: unknown argument '%s'", a);
            }
        }
        if (!out || (!for_path == !all))
            return usage_error("%s", "bundle export needs --out FILE and one of --for CLOCK "
                                     "(the peer's `kortnod clock --out`) or --all");
        if (for_path && load_clock("bundle export", for_path, &since) < 0)
            return EXIT_FAIL;
    } else {
        return usage_error("%s", "bundle takes export or import");
    }
    if (open_node(dir, &n))
        goto out;
    if ((r = node_netkey_load(n, netkey)) < 0) {
        fprintf(stderr, "kortnod: bundle: the network key: %s\n",
                r == -ENOENT ? "none (DATA/network.key)" : kn_strerror(r));
        goto out;
    }
    snprintf(tmp, sizeof(tmp), "%s/.bundle-%s-%ld", dir, sub, (long)getpid());
    if (!strcmp(sub, "export")) {
        uint64_t count;
        if ((r = node_bundle_export(n, netkey, since, out, &count)) < 0) {
            fprintf(stderr, "kortnod: bundle export: %s: %s\n", out, kn_strerror(r));
            goto out;
        }
        printf("bundle %s: %llu entr%s, sealed with the network key\n", out,
               (unsigned long long)count, count == 1 ? "y" : "ies");
        rc = EXIT_OK;
    } else {
        /* Everything is checked before anything is read into the log. */
        if ((r = node_bundle_open(netkey, file, tmp, &about, why, sizeof(why))) < 0) {
            fprintf(stderr, "kortnod: bundle import: %s: %s; nothing was imported\n", file, why);
            goto out;
        }
        char made[32], maker[9];
        node_format_time(about.made_ms, made);
        node_short_id(about.node, maker);
        printf("bundle %s: made by node %s… at %s\n", file, maker, made);
        struct node_import_report rep;
        rc = import_path(n, tmp, file, &rep, progress);
        /* For `kortnod status`: when this peer was last heard of by hand. */
        struct store_link l = { .path = "bundle",
                                .last_ok_ms = rc == EXIT_OK ? node_now_ms() : 0,
                                .last_try_ms = node_now_ms(),
                                .entries_in = rep.total.accepted };
        memcpy(l.node, about.node, STORE_KEY_LEN);
        l.clock = about.clock && rc == EXIT_OK
                      ? json_dumps(about.clock, JSON_COMPACT | JSON_SORT_KEYS)
                      : NULL;
        if (memcmp(about.node, n->id.pk, STORE_KEY_LEN) != 0 &&
            (r = store_link_note(n->store, &l)) < 0)
            fprintf(stderr, "kortnod: bundle import: noting the bundle's maker: %s\n",
                    kn_strerror(r));
        free(l.clock);
    }
out:
    if (n)
        remove(tmp);
    json_decref(about.clock);
    sodium_memzero(netkey, sizeof(netkey));
    json_decref(since);
    node_close(n);
    return rc;
}

static int parse_level(const char *s, enum node_log_level *lv)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *lv = (enum node_log_level)i;
            return 0;
        }
    return -1;
}

/* Open the node in dir and read its kortnod.conf into *ro (strings in *text): 0, or 1 with a
 * message. */
static int open_configured(const char *dir, struct node **n, struct node_run_opts *ro, char **text)
{
    char err[256];
    if (open_node(dir, n))
        return 1;
    int r = node_config_load(*n, ro, text, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "kortnod: %s\n", r == KN_EINVAL ? err : kn_strerror(r));
        node_config_free(ro, *text);
        *text = NULL;
        node_close(*n);
        return 1;
    }
    return 0;
}

static int cmd_run(const char *dir, struct opts *o)
{
    struct node_run_opts ro;
    struct node *n;
    char *text = NULL;
    const char *listen = NULL, *level = NULL, *idle = NULL, *ui = NULL;

    for (o->i = 1; o->i < o->argc; o->i++) {
        const char *a = o->argv[o->i];
        const char **slot = !strcmp(a, "--ui")             ? &ui
                            : !strcmp(a, "--listen")       ? &listen
                            : !strcmp(a, "--log-level")    ? &level
                            : !strcmp(a, "--idle-timeout") ? &idle
                                                           : NULL;
        if (!slot)
            return usage_error("run: unknown argument '%s'", a);
        if (!(*slot = opt_value(o, a)))
            return EXIT_USAGE;
    }
    if (open_configured(dir, &n, &ro, &text))
        return EXIT_FAIL;
    int r;
    int rc = EXIT_OK;
    if (listen)
        ro.listen = listen;
    if (ui)
        ro.ui = ui;
    if (level && parse_level(level, &ro.level) < 0)
        rc = usage_error("--log-level is error, warn, info or debug, not '%s'", level);
    if (idle)
        ro.idle_ms = strtoull(idle, NULL, 10) * 1000;
    if (rc == EXIT_OK && (r = node_run(n, &ro)) < 0) {
        fprintf(stderr, "kortnod: run: %s\n",
                r == -ENOENT ? "no network key (DATA/network.key): init with --network-key FILE"
                             : kn_strerror(r));
        rc = EXIT_FAIL;
    }
    node_config_free(&ro, text);
    node_close(n);
    return rc;
}

static int cmd_sync(const char *dir, struct opts *o)
{
    enum node_log_level lv = NODE_LOG_WARN;
    uint8_t pk[STORE_KEY_LEN];
    struct node *n;
    const char *addr = NULL, *id = NULL;

    for (o->i = 1; o->i < o->argc; o->i++) {
        const char *a = o->argv[o->i];
        if (!strcmp(a, "--log-level")) {
            const char *v = opt_value(o, a);
            if (!v || parse_level(v, &lv) < 0)
                return usage_error("--log-level is error, warn, info or debug");
        } else if (!addr) {
            addr = a;
        } else if (!id) {
            id = a;
        } else {
            return usage_error("sync: unexpected argument '%s'", a);
        }
    }
    if (!addr || !id || !strchr(addr, ':') || store_unhex(id, pk, STORE_KEY_LEN) < 0)
        return usage_error("%s", "sync takes HOST:PORT NODEID (the peer's 64-hex-digit id)");
    if (open_node(dir, &n))
        return EXIT_FAIL;
    int r = node_sync_once(n, addr, pk, lv);
    if (r < 0 && r != KN_EPROTO)
        fprintf(stderr, "kortnod: sync: %s\n",
                r == -ENOENT ? "no network key (DATA/network.key): init with --network-key FILE"
                             : kn_strerror(r));
    node_close(n);
    return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* Is a daemon running on this data directory? Its status.json is fresh and its pid alive. */
/* Its status.json when it runs (caller decrefs), else NULL. */
static json_t *running_status(const char *dir)
{
    char path[4200];
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/status.json", dir);
    json_t *st = json_load_file(path, 0, &jerr);
    json_int_t updated = json_integer_value(json_object_get(st, "updated_ms"));
    json_int_t pid = json_integer_value(json_object_get(st, "pid"));
    bool running = st && node_now_ms() - (uint64_t)updated < 5000 && pid > 0 &&
                   (kill((pid_t)pid, 0) == 0 || errno == EPERM);
    if (!running) {
        json_decref(st);
        st = NULL;
    }
    return st;
}

static bool daemon_running(const char *dir)
{
    json_t *st = running_status(dir);
    bool running = st != NULL;
    json_decref(st);
    return running;
}

/*
 * A damaged database (kortnod recover): checked, kept aside, and a new log with the same key
 * started from what of it still verifies; the peers give the rest. 0, or 1 with a message.
 */
static int recover_rebuild(const char *dir, struct node **n, const char *role, const char *hub)
{
    struct node_rebuild_report rep;
    if (daemon_running(dir)) {
        fprintf(stderr,
                "kortnod: recover: the daemon (kortnod run) is running on %s: stop it "
                "first; nothing was changed\n",
                dir);
        node_close(*n);
        *n = NULL;
        return 1;
    }
    int r = node_rebuild(dir, *n, role, hub, &rep, n);
    if (r == KN_ENOTFOUND || r == KN_ENOHUB) {
        fprintf(stderr,
                "kortnod: recover: the database is too damaged to say this node's %s: give it, "
                "as 'kortnod recover --role hub|office|mobile --hub HUBID' (the hub's node id); "
                "nothing was changed\n",
                r == KN_ENOTFOUND ? "role" : "hub");
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, "kortnod: recover: rebuilding the database: %s\n", kn_strerror(r));
        return 1;
    }
    printf("the damaged database is kept as %s (nothing was deleted)\n", rep.aside);
    printf("a new log with this node's key: %zu entries read back from the damaged file, "
           "checked as if from a peer; the rest comes from the peers\n",
           rep.salvaged);
    return 0;
}

/*
 * kortnod recover [--role ROLE --hub HUBID] [HOST:PORT NODEID]: fetch this node's own feed back
 * from a peer (default: the peers in kortnod.conf, one after another) after a restored backup or
 * a copied disk, so that it can write again without forking its feed. A damaged database is
 * first kept aside and the log rebuilt, from what of it still verifies and from every peer.
 */
static int cmd_recover(const char *dir, struct opts *o)
{
    struct node_run_opts ro = { 0 };
    struct node_peer_conf one;
    const char *addr = NULL, *id = NULL, *role = NULL, *hub = NULL;
    char *text = NULL, why[256], err[256];
    uint8_t key[STORE_KEY_LEN];
    uint64_t before, tip;
    struct node *n = NULL;

    for (o->i = 1; o->i < o->argc; o->i++) {
        const char *a = o->argv[o->i];
        if (!strcmp(a, "--role")) {
            if (!(role = opt_value(o, a)))
                return EXIT_USAGE;
            if (!node_role_valid(role))
                return usage_error("recover: unknown role '%s' (hub, office or mobile)", role);
        } else if (!strcmp(a, "--hub")) {
            if (!(hub = opt_value(o, a)))
                return EXIT_USAGE;
            if (store_unhex(hub, key, STORE_KEY_LEN) < 0)
                return usage_error("recover: --hub wants the hub's node id (64 hex digits)");
        } else if (!addr) {
            addr = a;
        } else if (!id) {
            id = a;
        } else {
            return usage_error("recover: unexpected argument '%s'", a);
        }
    }
    if ((addr && !id) ||
        (addr && (!strchr(addr, ':') || store_unhex(id, one.pk, STORE_KEY_LEN) < 0)))
        return usage_error("%s", "recover takes nothing (the peers in kortnod.conf) or "
                                 "HOST:PORT NODEID (the peer's 64-hex-digit id)");
    int r = node_open(dir, &n);
    bool damaged = r == KN_ECORRUPT;
    if (r < 0 && !damaged)
        return fail_open(dir, r);
    if (damaged)
        printf("the database is damaged: so much that it cannot be opened\n");
    else if ((r = node_db_check(n, why, sizeof(why))) == 1)
        printf("the database is damaged: %s\n", why);
    else if (r < 0)
        fprintf(stderr, "kortnod: recover: checking the database: %s\n", kn_strerror(r));
    damaged = damaged || r == 1;
    if (damaged && recover_rebuild(dir, &n, role, hub))
        return EXIT_FAIL;
    if ((r = node_config_load(n, &ro, &text, err, sizeof(err))) < 0) {
        fprintf(stderr, "kortnod: %s\n", r == KN_EINVAL ? err : kn_strerror(r));
        node_close(n);
        return EXIT_FAIL;
    }
    struct node_peer_conf *peers = ro.peers;
    size_t npeers = ro.npeers;
    if (addr) {
        one.addr = addr;
        peers = &one;
        npeers = 1;
    }
    int behind = store_own_seen(n->store, 0, &before);
    printf("own feed: seq %llu in this database%s\n", (unsigned long long)before,
           behind == 1 ? "; a peer has shown more of it" : "");
    if (npeers == 0)
        fprintf(stderr, "kortnod: recover: no peer to fetch from: give HOST:PORT NODEID, or "
                        "add peers with 'kortnod peer add'\n");
    size_t reached = 0;
    for (size_t i = 0; i < npeers; i++) {
        r = node_sync_once(n, peers[i].addr, peers[i].pk, NODE_LOG_WARN);
        reached += r == 0;
        if (r < 0)
            fprintf(stderr, "kortnod: recover: %s: %s\n", peers[i].addr,
                    r == -ENOENT ? "no network key (DATA/network.key)" : kn_strerror(r));
        behind = store_own_seen(n->store, 0, &tip);
        /* A rebuilt log fetches everything from every peer, not only its own feed. */
        if (behind == 0 && r == 0 && !damaged)
            break;
    }
    behind = store_own_seen(n->store, 0, &tip);
    int rc = EXIT_OK;
    if (reached == 0) {
        fprintf(stderr, "kortnod: recover: no peer could be reached: nothing was fetched\n");
        rc = EXIT_FAIL;
    } else if (behind == 1) {
        fprintf(stderr,
                "kortnod: recover: the own feed is still behind what a peer showed (this "
                "database holds seq %llu); try again when that peer can be reached\n",
                (unsigned long long)tip);
        rc = EXIT_FAIL;
    } else if (behind < 0) {
        fprintf(stderr, "kortnod: recover: %s\n", kn_strerror(behind));
        rc = EXIT_FAIL;
    } else {
        printf("recovered: own feed up to seq %llu (%llu fetched back); this node can write "
               "again\n",
               (unsigned long long)tip, (unsigned long long)(tip - before));
    }
    if (damaged) {
        uint64_t count = 0;
        store_count(n->store, &count);
        printf("log rebuilt: %llu entries held now, from %zu of %zu peer%s\n",
               (unsigned long long)count, reached, npeers, npeers == 1 ? "" : "s");
    }
    node_config_free(&ro, text);
    node_close(n);
    return rc;
}

static int cmd_peer(const char *dir, struct opts *o)
{
    uint8_t pk[STORE_KEY_LEN];
    struct node *n;
    if (o->argc != 4 || strcmp(o->argv[1], "add") != 0 || !strchr(o->argv[2], ':') ||
        store_unhex(o->argv[3], pk, STORE_KEY_LEN) < 0)
        return usage_error("%s", "peer takes: add HOST:PORT NODEID");
    if (open_node(dir, &n))
        return EXIT_FAIL;
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(pk, STORE_KEY_LEN, hex);
    int r = node_config_add_peer(n, o->argv[2], hex);
    if (r < 0)
        fprintf(stderr, "kortnod: peer add: %s\n", kn_strerror(r));
    else
        printf("peer %s %s added to %s/%s\n", o->argv[2], hex, dir, NODE_CONF_FILE);
    node_close(n);
    return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static int cmd_status(const char *dir, struct opts *o)
{
    bool json = o->argc == 2 && !strcmp(o->argv[1], "--json");
    struct node *n;
    if (o->argc > 2 || (o->argc == 2 && !json))
        return usage_error("%s", "status takes only --json");
    if (open_node(dir, &n))
        return EXIT_FAIL;
    int r = node_status(n, json, stdout);
    if (r < 0)
        fprintf(stderr, "kortnod: status: %s\n", kn_strerror(r));
    node_close(n);
    return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/*
 * `kortnod ui`: a one-time login link to the running daemon's web interface, opened in the
 * default browser (xdg-open) unless --print or no graphical session; the link always printed.
 */
static int cmd_ui(const char *dir, struct opts *o)
{
    bool print = o->argc == 2 && !strcmp(o->argv[1], "--print");
    char token[65], url[256];
    struct node *n;
    if (o->argc > 2 || (o->argc == 2 && !print))
        return usage_error("%s", "ui takes only --print");
    if (open_node(dir, &n))
        return EXIT_FAIL;
    json_t *st = running_status(dir);
    const char *base = json_string_value(json_object_get(st, "ui"));
    int rc = EXIT_FAIL, r;
    if (!st) {
        fprintf(stderr,
                "kortnod: ui: the daemon is not running on %s: start it with "
                "'kortnod run', then run 'kortnod ui' again\n",
                dir);
    } else if (!base) {
        fprintf(stderr, "kortnod: ui: the daemon runs without its web interface (ui = off in "
                        "kortnod.conf, or its port was taken: see its log)\n");
    } else if ((r = ui_login_token(n, token)) < 0) {
        fprintf(stderr, "kortnod: ui: writing the login token: %s\n", kn_strerror(r));
    } else {
        snprintf(url, sizeof(url), "%slogin?t=%s", base, token);
        printf("%s\n", url);
        printf("(one-time link, valid for 10 minutes; the page stays logged in for 12 hours)\n");
        fflush(stdout);
        rc = EXIT_OK;
        if (!print && (getenv("DISPLAY") || getenv("WAYLAND_DISPLAY"))) {
            pid_t pid = fork();
            if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                if (null >= 0) {
                    dup2(null, 1);
                    dup2(null, 2);
                }
                execlp("xdg-open", "xdg-open", url, (char *)NULL);
                _exit(127);
            }
        }
    }
    sodium_memzero(token, sizeof(token));
    json_decref(st);
    node_close(n);
    return rc;
}

static int cmd_demo(struct opts *o)
{
    bool keep = false, serving = false;
    for (o->i = 1; o->i < o->argc; o->i++) {
        if (!strcmp(o->argv[o->i], "--keep"))
            keep = true;
        else if (!strcmp(o->argv[o->i], "--serve"))
            serving = true;
        else
            return usage_error("demo: unknown argument '%s'", o->argv[o->i]);
    }
    return node_demo(stdout, keep, serving) == 0 ? EXIT_OK : EXIT_FAIL;
}

int main(int argc, char **argv)
{
    char *dir = NULL;
    int i = 1, rc;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            fputs(usage_text2, stdout);
            free(dir);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--version")) {
            printf("kortnod %s\n", KORTNOD_VERSION);
            free(dir);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--data")) {
            free(dir);
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return usage_error("option --data needs a directory");
            dir = kn_xstrdup(argv[++i]);
        } else {
            free(dir);
            return usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        free(dir);
        fputs(usage_text, stderr);
        fputs(usage_text2, stderr);
        return EXIT_USAGE;
    }
    if (!dir)
        dir = default_data_dir();

    struct opts o = { argc - i, argv + i, 0 };
    const char *cmd = argv[i];
    const char *sub = o.argc > 1 ? o.argv[1] : "";
    for (int k = 1; k < o.argc; k++)
        if (!strcmp(o.argv[k], "--help")) {
            fputs(usage_text, stdout);
            fputs(usage_text2, stdout);
            free(dir);
            return EXIT_OK;
        }

    if (!strcmp(cmd, "init"))
        rc = cmd_init(dir, &o);
    else if (!strcmp(cmd, "id"))
        rc = cmd_id(dir, &o);
    else if (!strcmp(cmd, "log") && !strcmp(sub, "append"))
        rc = cmd_log_append(dir, &o);
    else if (!strcmp(cmd, "log") && !strcmp(sub, "show"))
        rc = cmd_log_show(dir, &o);
    else if (!strcmp(cmd, "log") && !strcmp(sub, "verify"))
        rc = cmd_log_verify(dir, &o);
    else if (!strcmp(cmd, "log"))
        rc = usage_error("log takes append, show or verify, not '%s'", sub);
    else if (!strcmp(cmd, "clock"))
        rc = cmd_clock(dir, &o);
    else if (!strcmp(cmd, "export"))
        rc = cmd_export(dir, &o);
    else if (!strcmp(cmd, "import"))
        rc = cmd_import(dir, &o);
    else if (!strcmp(cmd, "bundle"))
        rc = cmd_bundle(dir, &o);
    else if (!strcmp(cmd, "reader"))
        rc = node_cmd_reader(dir, o.argc, o.argv);
    else if (!strcmp(cmd, "demo"))
        rc = cmd_demo(&o);
    else if (!strcmp(cmd, "run"))
        rc = cmd_run(dir, &o);
    else if (!strcmp(cmd, "sync"))
        rc = cmd_sync(dir, &o);
    else if (!strcmp(cmd, "peer"))
        rc = cmd_peer(dir, &o);
    else if (!strcmp(cmd, "node"))
        rc = node_cmd_trust(dir, o.argc, o.argv);
    else if (!strcmp(cmd, "recover"))
        rc = cmd_recover(dir, &o);
    else if (!strcmp(cmd, "ui"))
        rc = cmd_ui(dir, &o);
    else if (!strcmp(cmd, "status"))
        rc = cmd_status(dir, &o);
    else if (!strcmp(cmd, "help") && o.argc == 2 && !strcmp(sub, "steps")) {
        node_domain_usage(stdout);
        rc = EXIT_OK;
    } else {
        bool handled;
        rc = node_cmd_domain(dir, o.argc, o.argv, &handled);
        if (!handled)
            rc = usage_error("unknown command '%s'", cmd);
    }
    free(dir);
    return rc;
}
