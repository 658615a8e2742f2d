/* SPDX-License-Identifier: MIT */
/*
 * kortnod node enrol|revoke|list: the hub's word on node keys (store/trust.c enforces it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>
#include <sodium.h>

#include "node.h"

static const char usage[] = "usage: kortnod node enrol NODEID --role office|mobile|hub --office "
                            "OFFICE (hub: --office hub)\n"
                            "                          [--valid-until YYYY-MM-DD] [--out FILE]\n"
                            "       kortnod node revoke NODEID [--from-seq N]\n"
                            "       kortnod node list [--json]\n";

static int open_node(const char *dir, struct node **n)
{
    int r = node_open(dir, n);
    if (r < 0) {
        fprintf(stderr, "kortnod: %s: %s\n", dir, kn_strerror(r));
        return 1;
    }
    return 0;
}

/* Only the hub enrols and revokes: its key is the root of trust. */
static bool is_hub(struct node *n)
{
    char hex[STORE_ID_HEX_LEN + 1], own[STORE_ID_HEX_LEN + 1];
    store_hex(n->id.pk, STORE_KEY_LEN, own);
    return store_meta_get(n->store, "hub", hex, sizeof(hex)) == 0 && strcmp(hex, own) == 0;
}

/* Write the hub's event (a canonical msgpack map in sb, destroyed here); 0 or 1 with a message. */
static int write_event(struct node *n, const char *type, msgpack_sbuffer *sb, struct store_entry *e)
{
    char reason[256];
    int r = store_domain_write(n->store, type, (const uint8_t *)sb->data, sb->size, node_now_ms(),
                               e, reason, sizeof(reason));
    msgpack_sbuffer_destroy(sb);
    if (r == KN_EREFUSED)
        fprintf(stderr, "kortnod: %s refused: %s\n", type, reason);
    else if (r < 0)
        fprintf(stderr, "kortnod: %s: %s\n", type, kn_strerror(r));
    return r < 0 ? 1 : 0;
}

static int valid_node_id(const char *hex, uint8_t key[STORE_KEY_LEN])
{
    if (strlen(hex) != STORE_ID_HEX_LEN || strspn(hex, "0123456789abcdef") != STORE_ID_HEX_LEN ||
        store_unhex(hex, key, STORE_KEY_LEN) < 0) {
        fprintf(stderr,
                "kortnod: '%s' is not a node id (64 lower-case hex digits; "
                "`kortnod id` prints it)\n",
                hex);
        return -1;
    }
    return 0;
}

int node_bound_payload(struct store *hub, const uint8_t node[STORE_KEY_LEN], const char *office,
                       const char *role, uint64_t until_ms, msgpack_sbuffer *sb)
{
    /* The office's key sealed to the node: it reads what is sealed to its office (seal.c). */
    uint8_t okey[STORE_OFFICE_KEY_LEN];
    char id[STORE_ID_HEX_LEN + 1];
    int r = store_office_key_for(hub, office, node, okey);
    if (r < 0)
        return r;
    store_hex(node, STORE_KEY_LEN, id);
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, until_ms ? 5 : 4); /* keys in byte order: the canonical form */
    msgpack_pack_str_with_body(&pk, "node", 4);
    msgpack_pack_str_with_body(&pk, id, strlen(id));
    msgpack_pack_str_with_body(&pk, "office", 6);
    msgpack_pack_str_with_body(&pk, office, strlen(office));
    msgpack_pack_str_with_body(&pk, "office_key", 10);
    msgpack_pack_bin_with_body(&pk, okey, sizeof(okey));
    msgpack_pack_str_with_body(&pk, "role", 4);
    msgpack_pack_str_with_body(&pk, role, strlen(role));
    if (until_ms) {
        msgpack_pack_str_with_body(&pk, "valid_until_ms", 14);
        msgpack_pack_uint64(&pk, until_ms);
    }
    sodium_memzero(okey, sizeof(okey));
    return 0;
}

static int cmd_enrol(const char *dir, int argc, char **argv)
{
    const char *id = NULL, *role = NULL, *office = NULL, *until = NULL, *out = NULL;
    uint8_t key[STORE_KEY_LEN];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--role") && has)
            role = argv[++i];
        else if (!strcmp(a, "--office") && has)
            office = argv[++i];
        else if (!strcmp(a, "--valid-until") && has)
            until = argv[++i];
        else if (!strcmp(a, "--out") && has)
            out = argv[++i];
        else if (a[0] != '-' && !id)
            id = a;
        else {
            fprintf(stderr, "kortnod: node enrol: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!id || !role || !office) {
        fprintf(stderr, "kortnod: node enrol needs NODEID, --role and --office\n%s", usage);
        return 2;
    }
    if (strcmp(role, "office") && strcmp(role, "mobile") && strcmp(role, "hub")) {
        fprintf(stderr, "kortnod: node enrol: --role is office, mobile or hub, not '%s'\n", role);
        return 2;
    }
    if (!strcmp(role, "hub") && strcmp(office, "hub")) {
        fprintf(stderr, "kortnod: node enrol: a hub node is enrolled with --office hub\n");
        return 2;
    }
    if (valid_node_id(id, key) < 0)
        return 2;
    uint64_t until_ms = 0;
    if (until && (node_parse_time(until, &until_ms) < 0 || until_ms > INT64_MAX)) {
        fprintf(stderr, "kortnod: node enrol: --valid-until wants YYYY-MM-DD, not '%s'\n", until);
        return 2;
    }
    struct node *n;
    if (open_node(dir, &n))
        return 1;
    int rc = 1;
    if (!is_hub(n)) {
        fprintf(stderr, "kortnod: only the hub enrols node keys (this node is not its hub)\n");
        goto out;
    }
    msgpack_sbuffer sb;
    int kr = node_bound_payload(n->store, key, office, role, until_ms, &sb);
    if (kr < 0) {
        fprintf(stderr, "kortnod: node enrol: the office key: %s\n", kn_strerror(kr));
        goto out;
    }
    struct store_entry *e = kn_xmalloc(sizeof(*e));
    rc = write_event(n, "node.bound", &sb, e);
    if (rc == 0) {
        printf("node.bound recorded (seq %" PRIu64 ")\n", e->seq);
        printf("enrolled %s as %s of %s%s%s (hub entry %" PRIu64 ")\n", id, role, office,
               until ? ", valid until " : "", until ? until : "", e->seq);
        if (out) {
            uint64_t count;
            /* Everything the hub holds, not only its own feed: the enrolment depends on the
             * newest entry the hub had applied (store_domain_write), which may be any node's,
             * and the new node applies it only once that entry is there too. */
            int r = node_export(n, out, NULL, &count);
            if (r < 0) {
                fprintf(stderr, "kortnod: writing %s: %s\n", out, kn_strerror(r));
                rc = 1;
            } else {
                printf("wrote %s: everything the hub holds, up to the enrolment (%" PRIu64
                       " entries); "
                       "import it at the new node with `kortnod import %s`\n",
                       out, count, out);
            }
        }
    }
    free(e);
out:
    node_close(n);
    return rc;
}

static int cmd_revoke(const char *dir, int argc, char **argv)
{
    const char *id = NULL;
    uint64_t from = 0;
    uint8_t key[STORE_KEY_LEN];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--from-seq") && i + 1 < argc) {
            char *end;
            from = strtoull(argv[++i], &end, 10);
            if (*end || from == 0 || from > INT64_MAX) {
                fprintf(stderr, "kortnod: node revoke: --from-seq wants a seq of 1 or more\n");
                return 2;
            }
        } else if (a[0] != '-' && !id) {
            id = a;
        } else {
            fprintf(stderr, "kortnod: node revoke: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!id) {
        fprintf(stderr, "kortnod: node revoke needs NODEID\n%s", usage);
        return 2;
    }
    if (valid_node_id(id, key) < 0)
        return 2;
    struct node *n;
    if (open_node(dir, &n))
        return 1;
    int rc = 1;
    if (!is_hub(n)) {
        fprintf(stderr, "kortnod: only the hub revokes node keys (this node is not its hub)\n");
        goto out;
    }
    if (from == 0) {
        /* Everything the hub holds of the key stays valid; anything later is refused. */
        struct store_feed f;
        if (store_feed_get(n->store, key, &f) < 0)
            f.seq = 0;
        from = f.seq + 1;
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2); /* keys in byte order: the canonical form */
    msgpack_pack_str_with_body(&pk, "from_seq", 8);
    msgpack_pack_uint64(&pk, from);
    msgpack_pack_str_with_body(&pk, "node", 4);
    msgpack_pack_str_with_body(&pk, id, strlen(id));
    struct store_entry *e = kn_xmalloc(sizeof(*e));
    rc = write_event(n, "node.revoked", &sb, e);
    if (rc == 0)
        printf("revoked %s from seq %" PRIu64 " on: its entries before that stay valid, nothing "
               "it signs later is stored or applied (hub entry %" PRIu64 ")\n",
               id, from, e->seq);
    free(e);
out:
    node_close(n);
    return rc;
}

struct list_ctx {
    json_t *arr;
};

static int list_one(void *ud, const struct store_trust *t)
{
    struct list_ctx *l = ud;
    char hex[STORE_ID_HEX_LEN + 1], until[32] = "";
    store_hex(t->node, STORE_KEY_LEN, hex);
    if (t->valid_until_ms)
        node_format_time(t->valid_until_ms, until);
    const char *state = t->revoked_from ? "revoked" : t->role[0] ? "enrolled" : "held";
    if (l->arr) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "node", hex, "state", state, "role",
                              t->role, "office", t->office, "held", (json_int_t)t->held,
                              "enrolled_by_hub_seq", (json_int_t)t->bound_seq);
        if (t->valid_until_ms)
            json_object_set_new(o, "valid_until_ms", json_integer((json_int_t)t->valid_until_ms));
        if (t->revoked_from)
            json_object_set_new(o, "revoked_from_seq", json_integer((json_int_t)t->revoked_from));
        json_array_append_new(l->arr, o);
        return 0;
    }
    printf("%-64s  %-8s  %-6s  %-16s", hex, state, t->role[0] ? t->role : "-",
           t->office[0] ? t->office : "-");
    if (t->valid_until_ms)
        printf("  valid until %.10s", until);
    if (t->revoked_from)
        printf("  revoked from seq %" PRIu64, t->revoked_from);
    if (t->held)
        printf("  %" PRIu64 " entries held", t->held);
    printf("\n");
    return 0;
}

static int cmd_list(const char *dir, int argc, char **argv)
{
    bool json = argc == 3 && !strcmp(argv[2], "--json");
    if (argc > 3 || (argc == 3 && !json)) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    struct node *n;
    if (open_node(dir, &n))
        return 1;
    struct list_ctx l = { json ? json_array() : NULL };
    int r = store_trust_list(n->store, list_one, &l);
    if (r < 0) {
        fprintf(stderr, "kortnod: node list: %s\n", kn_strerror(r));
        json_decref(l.arr);
        node_close(n);
        return 1;
    }
    if (json) {
        json_dumpf(l.arr, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(l.arr);
    }
    node_close(n);
    return 0;
}

int node_cmd_trust(const char *dir, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "enrol"))
        return cmd_enrol(dir, argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "revoke"))
        return cmd_revoke(dir, argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return cmd_list(dir, argc, argv);
    fprintf(stderr, "%s", usage);
    return 2;
}
