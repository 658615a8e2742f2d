/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "node.h"

bool node_role_valid(const char *role)
{
    return role && (!strcmp(role, "hub") || !strcmp(role, "office") || !strcmp(role, "mobile"));
}

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = kn_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static struct node *node_new(const char *dir)
{
    struct node *n = kn_xcalloc(1, sizeof(*n));
    n->dir = kn_xstrdup(dir);
    n->key_path = join(dir, NODE_KEY_FILE);
    n->db_path = join(dir, NODE_DB_FILE);
    return n;
}

/* Create dir and any missing parents; the last component gets mode 0700. */
static int make_dirs(const char *dir)
{
    char *p = kn_xstrdup(dir);
    int r = 0;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            r = -errno;
        *s = '/';
        if (r < 0)
            break;
    }
    if (r == 0 && mkdir(p, 0700) < 0 && errno != EEXIST)
        r = -errno;
    free(p);
    return r;
}

int node_init(const char *dir, const char *role, const char *name, const char *hub,
              const char *netkey_from, struct node **out)
{
    struct node *n = node_new(dir);
    uint8_t hub_key[STORE_KEY_LEN];
    char hub_hex[STORE_ID_HEX_LEN + 1];
    int r;

    *out = NULL;
    if (!node_role_valid(role) || (hub && store_unhex(hub, hub_key, STORE_KEY_LEN) < 0)) {
        r = KN_EINVAL;
        goto out;
    }
    if ((r = make_dirs(dir)) < 0)
        goto out;
    if (access(n->key_path, F_OK) == 0) {
        r = -EEXIST;
        goto out;
    }
    /* The network key first: when it is refused, nothing of the node is left behind. */
    if ((netkey_from || !strcmp(role, "hub")) && (r = node_netkey_create(n, netkey_from)) < 0)
        goto out;
    if ((r = store_identity_create(n->key_path, &n->id)) < 0)
        goto out;
    if ((r = store_open(n->db_path, STORE_SYNC_NORMAL, &n->store)) < 0)
        goto out;
    store_set_identity(n->store, &n->id);
    if ((r = store_meta_set(n->store, "role", role)) < 0 ||
        (r = store_meta_set(n->store, "name", name ? name : "")) < 0)
        goto out;
    /* The hub is the root of trust; a hub is its own. */
    if (hub || !strcmp(role, "hub")) {
        store_hex(hub ? hub_key : n->id.pk, STORE_KEY_LEN, hub_hex);
        if ((r = store_meta_set(n->store, "hub", hub_hex)) < 0)
            goto out;
    }
    snprintf(n->role, sizeof(n->role), "%s", role);
    snprintf(n->name, sizeof(n->name), "%s", name ? name : "");
    *out = n;
    n = NULL;
out:
    node_close(n);
    return r;
}

int node_open(const char *dir, struct node **out)
{
    struct node *n = node_new(dir);
    int r;

    *out = NULL;
    if (access(n->key_path, F_OK) < 0) {
        r = KN_ENOTINIT;
        goto out;
    }
    if ((r = store_identity_load(n->key_path, &n->id)) < 0)
        goto out;
    if (access(n->db_path, F_OK) < 0) {
        r = KN_ENOTINIT;
        goto out;
    }
    if ((r = store_open(n->db_path, STORE_SYNC_NORMAL, &n->store)) < 0)
        goto out;
    store_set_identity(n->store, &n->id);
    if (store_meta_get(n->store, "role", n->role, sizeof(n->role)) < 0)
        snprintf(n->role, sizeof(n->role), "?");
    if (store_meta_get(n->store, "name", n->name, sizeof(n->name)) < 0)
        n->name[0] = '\0';
    *out = n;
    n = NULL;
out:
    node_close(n);
    return r;
}

void node_close(struct node *n)
{
    if (!n)
        return;
    store_close(n->store);
    store_identity_finish(&n->id);
    free(n->dir);
    free(n->key_path);
    free(n->db_path);
    free(n);
}

void node_short_id(const uint8_t key[STORE_KEY_LEN], char out[9])
{
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(key, STORE_KEY_LEN, hex);
    memcpy(out, hex, 8);
    out[8] = '\0';
}

int node_self_path(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n < 0) {
        out[0] = '\0';
        return -errno;
    }
    out[n] = '\0';
    return 0;
}

void node_format_time(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[24];
    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, 32, "@%llu", (unsigned long long)ms);
        return;
    }
    snprintf(out, 32, "%s.%03uZ", buf, (unsigned)(ms % 1000));
}

uint64_t node_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int node_netkey_create(struct node *n, const char *from)
{
    uint8_t key[32];
    char *path = join(n->dir, NODE_NETKEY_FILE);
    int fd = -1, r = 0;

    if (from) {
        char text[80];
        FILE *f = fopen(from, "rb");
        size_t got = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
        if (!f) {
            r = -errno;
            goto out;
        }
        fclose(f);
        text[got] = '\0';
        /* 32 bytes are the key itself, whatever they are; else 64 hex digits and a newline. */
        if (got == 32) {
            memcpy(key, text, 32);
        } else {
            while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == ' '))
                text[--got] = '\0';
            if (got != 64 || store_unhex(text, key, 32) < 0) {
                r = KN_EKEYFILE;
                goto out;
            }
        }
    } else {
        randombytes_buf(key, sizeof(key));
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0 || write(fd, key, 32) != 32 || fsync(fd) < 0) {
        r = errno ? -errno : KN_EIO;
        if (fd >= 0)
            unlink(path);
    }
out:
    if (fd >= 0)
        close(fd);
    sodium_memzero(key, sizeof(key));
    free(path);
    return r;
}

int node_netkey_load(struct node *n, uint8_t key[static 32])
{
    char *path = join(n->dir, NODE_NETKEY_FILE);
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;
    free(path);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        r = KN_EKEYPERM;
    else if (st.st_size != 32 || read(fd, key, 32) != 32)
        r = KN_EKEYFILE;
    close(fd);
    return r;
}

/* ---- A damaged database: checked, kept aside, rebuilt ---- */

struct first_bad {
    int feeds;
    uint8_t author[STORE_KEY_LEN];
    uint64_t seq;
    int err;
};

static void note_bad(void *ud, const uint8_t author[STORE_KEY_LEN], uint64_t seq, int err)
{
    struct first_bad *b = ud;
    if (b->feeds++ == 0) {
        memcpy(b->author, author, STORE_KEY_LEN);
        b->seq = seq;
        b->err = err;
    }
}

int node_db_check(struct node *n, char *why, size_t size)
{
    struct first_bad b = { 0 };
    int r = store_check_file(n->store, why, size);
    if (r == KN_ECORRUPT) {
        for (char *p = why; p && *p; p++)
            *p = *p == '\n' ? ' ' : *p;
        return 1;
    }
    if (r < 0)
        return r;
    r = store_verify_all(n->store, STORE_VERIFY_CHAIN, note_bad, &b, NULL);
    if (r == KN_ECORRUPT) {
        snprintf(why, size, "reading the log: %s", store_last_error(n->store));
        return 1;
    }
    if (r < 0)
        return r;
    if (r > 0) {
        char hex[STORE_ID_HEX_LEN + 1];
        store_hex(b.author, STORE_KEY_LEN, hex);
        snprintf(why, size, "%d feed%s with entries that do not verify, the first %s:%llu (%s)", r,
                 r == 1 ? "" : "s", hex, (unsigned long long)b.seq, kn_strerror(b.err));
        return 1;
    }
    return 0;
}

/* Entries read back from the damaged database, ingested (verified) into the new one in batches
 * the size of a sync message. */
struct salvage {
    struct store *to;
    struct store_raw raw[SYNC_MAX_BATCH];
    uint8_t *arena;
    size_t n, used, stored;
};

static int salvage_flush(struct salvage *sv)
{
    struct store_ingest_result res;
    int r = sv->n ? store_ingest(sv->to, sv->raw, sv->n, &res, NULL, NULL) : 0;
    if (sv->n && r == 0)
        sv->stored += res.accepted + res.held;
    sv->n = sv->used = 0;
    return r;
}

static int salvage_entry(void *ud, const struct store_entry *e, const uint8_t *payload, size_t len)
{
    struct salvage *sv = ud;
    uint8_t *h = sv->arena + sv->used;
    memcpy(h, e->signed_header, e->signed_len);
    sv->used += e->signed_len;
    uint8_t *p = NULL;
    if (payload) {
        p = sv->arena + sv->used;
        memcpy(p, payload, len);
        sv->used += len;
    }
    sv->raw[sv->n++] = (struct store_raw){ h, e->signed_len, p, len };
    return sv->n == SYNC_MAX_BATCH || sv->used > (1u << 20) ? salvage_flush(sv) : 0;
}

struct salvage_feeds {
    struct store_feed *v;
    size_t n, cap;
};

static int salvage_feed(void *ud, const struct store_feed *f)
{
    struct salvage_feeds *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = kn_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *f;
    return 0;
}

static int salvage_fork(void *ud, const uint8_t *held, size_t hlen, const uint8_t *other,
                        size_t olen)
{
    (void)store_fork_add(ud, held, hlen, other, olen);
    return 0;
}

/*
 * Every entry of the damaged database that can still be read, feed by feed (the hub's first,
 * then this node's own, then the others: trust needs the hub's enrolments first), each feed up to
 * where reading it fails. store_ingest checks each as it would a peer's: nothing damaged is kept.
 */
static size_t salvage(struct store *from, struct store *to, const uint8_t hub[STORE_KEY_LEN],
                      const uint8_t self[STORE_KEY_LEN])
{
    struct salvage *sv = kn_xcalloc(1, sizeof(*sv));
    struct salvage_feeds l = { 0 };
    sv->to = to;
    sv->arena = kn_xmalloc(SYNC_MAX_BATCH * STORE_MAX_SIGNED + (1u << 20) + STORE_MAX_PAYLOAD);
    if (store_clock(from, salvage_feed, &l) < 0) {
        /* The list of feeds cannot be read: at least the hub's and the own one. */
        l.n = 0;
        struct store_feed f = { 0 };
        memcpy(f.author, hub, STORE_KEY_LEN);
        salvage_feed(&l, &f);
        memcpy(f.author, self, STORE_KEY_LEN);
        salvage_feed(&l, &f);
    }
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < l.n; i++) {
            bool is_hub = memcmp(l.v[i].author, hub, STORE_KEY_LEN) == 0;
            bool is_self = !is_hub && memcmp(l.v[i].author, self, STORE_KEY_LEN) == 0;
            if ((pass == 0) != is_hub || (pass == 1) != is_self)
                continue;
            (void)store_range(from, l.v[i].author, 1, l.v[i].seq, salvage_entry, sv);
            (void)salvage_flush(sv);
        }
    (void)store_fork_proofs(from, salvage_fork, to);
    size_t stored = sv->stored;
    free(l.v);
    free(sv->arena);
    free(sv);
    return stored;
}

/* path followed by suffix, in memory of its own (free()). */
static char *join_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *p = kn_xmalloc(n);
    memcpy(p, path, strlen(path));
    memcpy(p + strlen(path), suffix, strlen(suffix) + 1);
    return p;
}

/* Rename path+suffix to aside+suffix when it exists: 0, or a negated errno. */
static int move_aside(const char *path, const char *aside, const char *suffix)
{
    char *from = join_suffix(path, suffix), *to = join_suffix(aside, suffix);
    int r = rename(from, to) < 0 && errno != ENOENT ? -errno : 0;
    free(from);
    free(to);
    return r;
}

/* Remove an SQLite database and the -wal and -shm files beside it. */
static void remove_db(const char *path)
{
    static const char *const suffixes[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        char *p = join_suffix(path, suffixes[i]);
        unlink(p);
        free(p);
    }
}

int node_rebuild(const char *dir, struct node *damaged, const char *role_arg, const char *hub_arg,
                 struct node_rebuild_report *rep, struct node **out)
{
    struct node *n = node_new(dir);
    char role[16] = "", name[128] = "", hub_hex[STORE_ID_HEX_LEN + 1] = "", buf[24];
    uint8_t hub[STORE_KEY_LEN];
    char *fresh = join(dir, NODE_DB_FILE ".rebuild");
    uint64_t own_tip = 0;
    int r;

    *out = NULL;
    memset(rep, 0, sizeof(*rep));
    if ((r = store_identity_load(n->key_path, &n->id)) < 0)
        goto out;
    /* Who this node is, as far as the damaged file still says; what the caller gives wins. */
    if (damaged) {
        if (store_meta_get(damaged->store, "role", role, sizeof(role)) < 0)
            role[0] = '\0';
        if (store_meta_get(damaged->store, "name", name, sizeof(name)) < 0)
            name[0] = '\0';
        if (store_meta_get(damaged->store, "hub", hub_hex, sizeof(hub_hex)) < 0)
            hub_hex[0] = '\0';
        if (store_own_seen(damaged->store, 0, &own_tip) < 0)
            own_tip = 0;
        if (store_meta_get(damaged->store, "own_seen", buf, sizeof(buf)) == 0 &&
            strtoull(buf, NULL, 10) > own_tip)
            own_tip = strtoull(buf, NULL, 10);
    }
    if (role_arg)
        snprintf(role, sizeof(role), "%s", role_arg);
    if (hub_arg)
        snprintf(hub_hex, sizeof(hub_hex), "%s", hub_arg);
    if (!strcmp(role, "hub"))
        store_hex(n->id.pk, STORE_KEY_LEN, hub_hex);
    if (!node_role_valid(role)) {
        r = KN_ENOTFOUND;
        goto out;
    }
    if (store_unhex(hub_hex, hub, STORE_KEY_LEN) < 0) {
        r = KN_ENOHUB;
        goto out;
    }
    rep->own_tip = own_tip;

    /* The new log, beside the damaged one until it is ready. A file left by an earlier try
     * holds nothing that is not in the damaged file or at the peers. */
    remove_db(fresh);
    if ((r = store_open(fresh, STORE_SYNC_NORMAL, &n->store)) < 0)
        goto out;
    store_set_identity(n->store, &n->id);
    if ((r = store_meta_set(n->store, "role", role)) < 0 ||
        (r = store_meta_set(n->store, "name", name)) < 0 ||
        (r = store_meta_set(n->store, "hub", hub_hex)) < 0)
        goto out;
    /* Until its own feed is back up to where the damaged file had it, the node must not write:
     * it would give new entries the numbers of the old ones (a fork). */
    if (own_tip > 0) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)own_tip);
        if ((r = store_meta_set(n->store, "own_seen", buf)) < 0)
            goto out;
    }
    if (damaged)
        rep->salvaged = salvage(damaged->store, n->store, hub, n->id.pk);
    store_close(n->store);
    n->store = NULL;
    node_close(damaged);
    damaged = NULL;

    /* The damaged file is kept, never deleted: kortnod.db.damaged-TIME, with its -wal and
     * -shm under the same name (so that sqlite3 opens it as it was). */
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 0;; i++) {
        if (i == 0)
            snprintf(rep->aside, sizeof(rep->aside), "%s.damaged-%s", n->db_path, stamp);
        else
            snprintf(rep->aside, sizeof(rep->aside), "%s.damaged-%s-%d", n->db_path, stamp, i);
        if (access(rep->aside, F_OK) < 0) /* not there (or not to be seen: rename will say) */
            break;
    }
    if ((r = move_aside(n->db_path, rep->aside, "-wal")) < 0 ||
        (r = move_aside(n->db_path, rep->aside, "-shm")) < 0 ||
        (r = move_aside(n->db_path, rep->aside, "")) < 0 ||
        (r = move_aside(fresh, n->db_path, "-wal")) < 0 ||
        (r = move_aside(fresh, n->db_path, "-shm")) < 0 ||
        (r = move_aside(fresh, n->db_path, "")) < 0)
        goto out;
    node_close(n);
    n = NULL;
    r = node_open(dir, out);
out:
    node_close(damaged);
    node_close(n);
    free(fresh);
    return r;
}
