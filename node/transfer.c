/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"
#include "sync.h"

#define IMPORT_CHUNK     (1 << 20)
#define IMPORT_MAX_SHOWN 20

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

struct export_ctx {
    struct sync_buf buf;
    int fd;
    uint64_t count;
    struct node *n;
};

static int put_record(void *ud, const struct store_raw *raw)
{
    struct export_ctx *x = ud;
    int r = sync_bundle_put_entry(&x->buf, raw);
    if (r == 0)
        x->count++; /* the trailer counts every record */
    return r;
}

static int export_entry(void *ud, const struct store_entry *e, const uint8_t *payload, size_t len)
{
    struct export_ctx *x = ud;
    struct store_raw raw = { e->signed_header, e->signed_len, payload, len };
    /* An entry without its payload (the hub purged it) goes after the hub's purge entry: whoever
     * imports the file then knows of the purge before the entry, wherever the file is cut. */
    int r = payload ? 0 : store_purge_of(x->n->store, e->author, e->seq, put_record, x);
    if (r == 0 || r == KN_ENOTFOUND)
        r = put_record(x, &raw);
    if (r < 0)
        return r;
    if (x->buf.len >= IMPORT_CHUNK) {
        r = write_all(x->fd, x->buf.data, x->buf.len);
        x->buf.len = 0;
    }
    return r;
}

struct feed_list {
    struct store_feed *v;
    size_t n, cap;
};

static int collect_feed(void *ud, const struct store_feed *f)
{
    struct feed_list *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = kn_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *f;
    return 0;
}

int node_export(struct node *n, const char *path, json_t *since, uint64_t *count)
{
    struct export_ctx x = { .fd = -1, .n = n };
    struct feed_list feeds = { 0 };
    size_t tlen = strlen(path) + 16;
    char *tmp = kn_xmalloc(tlen);
    int r;

    *count = 0;
    snprintf(tmp, tlen, "%s.partial", path);
    sync_buf_init(&x.buf);
    /* Collect the feeds first: the range walk below must not run inside the clock's walk. */
    if ((r = store_clock(n->store, collect_feed, &feeds)) < 0)
        goto out;
    x.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (x.fd < 0) {
        r = -errno;
        goto out;
    }
    sync_bundle_put_header(&x.buf);
    for (size_t i = 0; i < feeds.n; i++) {
        char hex[STORE_ID_HEX_LEN + 1];
        uint64_t have = 0;
        store_hex(feeds.v[i].author, STORE_KEY_LEN, hex);
        json_t *seq = since ? json_object_get(since, hex) : NULL;
        if (seq)
            have = (uint64_t)json_integer_value(seq);
        if (have >= feeds.v[i].seq)
            continue;
        /* Up to the feed's seq in the clock: a fork or a revocation stops a feed there. */
        if ((r = store_range(n->store, feeds.v[i].author, have + 1, feeds.v[i].seq, export_entry,
                             &x)) < 0)
            goto out;
    }
    sync_bundle_put_trailer(&x.buf, x.count);
    if ((r = write_all(x.fd, x.buf.data, x.buf.len)) < 0)
        goto out;
    if (fsync(x.fd) < 0 || close(x.fd) < 0) {
        x.fd = -1;
        r = -errno;
        goto out;
    }
    x.fd = -1;
    if (rename(tmp, path) < 0) {
        r = -errno;
        goto out;
    }
    *count = x.count;
out:
    if (x.fd >= 0)
        close(x.fd);
    if (r < 0)
        unlink(tmp);
    free(tmp);
    free(feeds.v);
    sync_buf_finish(&x.buf);
    return r;
}

struct import_ctx {
    FILE *msgs;
    uint64_t base; /* records before this batch */
    size_t shown;
};

static void import_reject(void *ud, size_t index, const struct store_entry *e, int err)
{
    struct import_ctx *c = ud;
    if (!c->msgs)
        return;
    if (c->shown++ >= IMPORT_MAX_SHOWN) {
        if (c->shown == IMPORT_MAX_SHOWN + 1)
            fprintf(c->msgs, "  (further refusals not shown)\n");
        return;
    }
    if (e) {
        char id[9];
        node_short_id(e->author, id);
        fprintf(c->msgs, "  refused record %llu (%s:%llu): %s\n",
                (unsigned long long)(c->base + index + 1), id, (unsigned long long)e->seq,
                kn_strerror(err));
    } else {
        fprintf(c->msgs, "  refused record %llu: %s\n", (unsigned long long)(c->base + index + 1),
                kn_strerror(err));
    }
}

static void add_result(struct store_ingest_result *t, const struct store_ingest_result *r)
{
    t->accepted += r->accepted;
    t->duplicates += r->duplicates;
    t->rejected += r->rejected;
    t->forks += r->forks;
    t->held += r->held;
    t->refused += r->refused;
    t->released += r->released;
}

/*
 * Progress of a large import: on a terminal one line rewritten at each chunk; elsewhere (a log,
 * --progress into a file) a line at every tenth of the file, with the rate so far.
 */
static void show_progress(FILE *out, bool tty, uint64_t done, uint64_t total, uint64_t records,
                          uint64_t t0, int *shown)
{
    int tenth = (int)(done * 10 / total);
    if (!tty && tenth == *shown)
        return;
    *shown = tenth;
    uint64_t ms = node_now_ms() - t0;
    fprintf(out, "%simport: %d%% (%llu of %llu MiB), %llu entries, %llu entries/s%s",
            tty ? "\r" : "", (int)(done * 100 / total), (unsigned long long)(done >> 20),
            (unsigned long long)(total >> 20), (unsigned long long)records,
            (unsigned long long)(ms ? records * 1000 / ms : 0), tty ? "" : "\n");
    fflush(out);
}

int node_import(struct node *n, const char *path, struct node_import_report *rep, FILE *msgs,
                FILE *progress)
{
    struct sync_bundle_reader rd;
    struct import_ctx ctx = { .msgs = msgs };
    struct store_raw *batch = NULL;
    size_t cap = 0, nb = 0;
    uint8_t *chunk = kn_xmalloc(IMPORT_CHUNK);
    uint64_t done = 0, total = 0;
    struct stat st;
    int fd, r = 0, shown = -1;
    bool tty = progress && isatty(fileno(progress));
    uint64_t t0 = node_now_ms();

    memset(rep, 0, sizeof(*rep));
    sync_bundle_reader_init(&rd);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    if (fstat(fd, &st) == 0)
        total = (uint64_t)st.st_size;
    for (;;) {
        ssize_t got = read(fd, chunk, IMPORT_CHUNK);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            goto out;
        }
        if (got == 0)
            break;
        done += (uint64_t)got;
        sync_bundle_reader_feed(&rd, chunk, (size_t)got);
        /* Every record the reader can give now points into its buffer until the next feed:
         * ingest them as one batch before reading on. */
        nb = 0;
        struct store_raw raw;
        while ((r = sync_bundle_reader_next(&rd, &raw)) == 1) {
            if (nb == cap) {
                cap = cap ? 2 * cap : 1024;
                batch = kn_xrealloc(batch, cap * sizeof(*batch));
            }
            batch[nb++] = raw;
        }
        if (nb > 0) {
            struct store_ingest_result res;
            int ir = store_ingest(n->store, batch, nb, &res, import_reject, &ctx);
            if (ir < 0) {
                r = ir;
                goto out;
            }
            add_result(&rep->total, &res);
            ctx.base += nb;
            rep->records += nb;
        }
        if (r < 0 && r != -EAGAIN)
            goto out;
        if (progress && total > 8 * IMPORT_CHUNK)
            show_progress(progress, tty, done, total, rep->records, t0, &shown);
    }
    if (progress && total > 8 * IMPORT_CHUNK && tty)
        fputc('\n', progress);
    /* An empty file was never a bundle; a non-empty one without its trailer was cut off. */
    r = done == 0 ? KN_EFORMAT : sync_bundle_reader_end(&rd);
out:
    if (fd >= 0)
        close(fd);
    sync_bundle_reader_finish(&rd);
    free(batch);
    free(chunk);
    return r;
}
