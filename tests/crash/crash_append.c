/* SPDX-License-Identifier: MIT */
/*
 * crash_append - appends killed with SIGKILL at random moments.
 *
 * In a temporary directory: a key pair and a store. Then, round after round, a child process
 * opens the store and appends to its feed as fast as it can, alone and in small transactions,
 * telling the parent through a pipe each seq it has been told is stored (after store_append or
 * store_tx_commit returned). The parent kills it after a random 1-40 ms, then opens the store
 * itself and checks what a killed process must leave behind: a log that verifies (every
 * signature), the feed exactly seq 1..tip with no gap, every acknowledged seq held, every
 * payload present and the one written for its seq, and nothing more than the one operation that
 * may have committed without being acknowledged.
 *
 * Usage: crash_append [--rounds N] [--seed S] [--keep]
 * A failure prints the seed; run again with --seed S (and the same --rounds) to repeat the
 * schedule (the kill moments themselves still depend on timing).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define CRASH_TYPE      "crash.append"
#define CRASH_MAX_BATCH 8
#define CRASH_MAX_PAD   60000
#define CRASH_MAX_ACKS  (1u << 20)

/* Child exit codes: anything but death by SIGKILL is a failure the parent reports. */
enum { CHILD_EOPEN = 10, CHILD_EKEY, CHILD_EPAYLOAD, CHILD_EAPPEND, CHILD_ESEQ, CHILD_ETX };

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A number in [lo, hi]. */
static uint64_t rnd_range(uint64_t *state, uint64_t lo, uint64_t hi)
{
    return lo + splitmix64(state) % (hi - lo + 1);
}

/* ---- The payload of an entry: a function of its seq, so the parent can check it ---- */

static size_t pad_len(uint64_t seq)
{
    uint64_t h = seq;
    uint64_t v = splitmix64(&h);
    if (v % 16 == 0)
        return 20000 + (size_t)(v >> 8) % (CRASH_MAX_PAD - 20000); /* multi-page rows */
    if (v % 16 == 1)
        return (size_t)(v >> 8) % 300 + 256; /* across the bin8/bin16 boundary */
    return (size_t)(v >> 8) % 1200;
}

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

static uint8_t *put_bin(uint8_t *p, uint64_t seq, size_t len)
{
    if (len <= UINT8_MAX) {
        *p++ = 0xc4;
        *p++ = (uint8_t)len;
    } else if (len <= UINT16_MAX) {
        *p++ = 0xc5;
        *p++ = (uint8_t)(len >> 8);
        *p++ = (uint8_t)len;
    } else {
        *p++ = 0xc6;
        for (int s = 24; s >= 0; s -= 8)
            *p++ = (uint8_t)(len >> s);
    }
    for (size_t i = 0; i < len; i++)
        *p++ = (uint8_t)(seq * 31 + i * 7 + (i >> 8));
    return p;
}

/*
 * The canonical msgpack payload of seq, built by hand into buf (room for CRASH_MAX_PAD + 32):
 * every third seq a bare bin, the others the map {"n": seq, "pad": bin} (keys in byte order).
 * Returns its length.
 */
static size_t payload_for(uint64_t seq, uint8_t *buf)
{
    uint8_t *p = buf;
    size_t pad = pad_len(seq);

    if (seq % 3 == 0)
        return (size_t)(put_bin(p, seq, pad) - buf);
    *p++ = 0x82;
    *p++ = 0xa1;
    *p++ = 'n';
    p = put_uint(p, seq);
    *p++ = 0xa3;
    *p++ = 'p';
    *p++ = 'a';
    *p++ = 'd';
    p = put_bin(p, seq, pad);
    return (size_t)(p - buf);
}

/* ---- The child: append until killed ---- */

static int write_acks(int fd, const uint64_t *seqs, size_t n)
{
    /* At most CRASH_MAX_BATCH * 8 bytes: below PIPE_BUF, so one atomic write. */
    ssize_t w;
    do {
        w = write(fd, seqs, n * sizeof(*seqs));
    } while (w < 0 && errno == EINTR);
    return w == (ssize_t)(n * sizeof(*seqs)) ? 0 : -1;
}

/* Append the entry for seq (which must come out as seq). Returns 0 or a child exit code. */
static int child_append_one(struct store *s, uint64_t seq, uint8_t *buf)
{
    struct store_entry e;
    size_t len = payload_for(seq, buf);
    struct store_draft d = { CRASH_TYPE, 1700000000000ull + seq, NULL, 0, buf, len };

    if (store_payload_check(buf, len) != 0)
        return CHILD_EPAYLOAD;
    int r = store_append(s, &d, &e);
    if (r < 0) {
        fprintf(stderr, "crash_append: child: store_append(seq %" PRIu64 "): %s (%s)\n", seq,
                kn_strerror(r), store_last_error(s));
        return CHILD_EAPPEND;
    }
    if (e.seq != seq) {
        fprintf(stderr, "crash_append: child: appended seq %" PRIu64 ", expected %" PRIu64 "\n",
                e.seq, seq);
        return CHILD_ESEQ;
    }
    return 0;
}

static int child_run(const char *db_path, const char *key_path, uint64_t rng, int fd)
{
    struct store_identity id = { 0 };
    struct store *s = NULL;
    struct store_feed f;
    uint8_t *buf = kn_xmalloc(CRASH_MAX_PAD + 32);
    uint64_t seqs[CRASH_MAX_BATCH];
    int rc = 0, r;

    enum store_sync_mode mode = rnd_range(&rng, 0, 3) == 0 ? STORE_SYNC_FULL : STORE_SYNC_NORMAL;
    if ((r = store_identity_load(key_path, &id)) < 0) {
        fprintf(stderr, "crash_append: child: %s: %s\n", key_path, kn_strerror(r));
        rc = CHILD_EKEY;
        goto out;
    }
    if ((r = store_open(db_path, mode, &s)) < 0 || (r = store_feed_get(s, id.pk, &f)) < 0) {
        fprintf(stderr, "crash_append: child: open %s: %s\n", db_path, kn_strerror(r));
        rc = CHILD_EOPEN;
        goto out;
    }
    store_set_identity(s, &id);
    uint64_t tip = f.seq;
    for (;;) {
        uint64_t kind = rnd_range(&rng, 0, 9);
        if (kind < 6) {
            if ((rc = child_append_one(s, tip + 1, buf)) != 0)
                goto out;
            tip++;
            if (write_acks(fd, &tip, 1) < 0)
                goto out;
            continue;
        }
        /* A small transaction; one in four is rolled back and must leave no trace. */
        size_t n = (size_t)rnd_range(&rng, 2, CRASH_MAX_BATCH);
        bool rollback = kind == 9 && rnd_range(&rng, 0, 1) == 0;
        if (store_tx_begin(s) < 0) {
            rc = CHILD_ETX;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            seqs[i] = tip + 1 + i;
            if ((rc = child_append_one(s, seqs[i], buf)) != 0)
                goto out;
        }
        if (rollback) {
            if (store_tx_rollback(s) < 0 || store_feed_get(s, id.pk, &f) < 0 || f.seq != tip) {
                fprintf(stderr, "crash_append: child: a rolled-back batch stayed\n");
                rc = CHILD_ETX;
                goto out;
            }
            continue;
        }
        if ((r = store_tx_commit(s)) < 0) {
            fprintf(stderr, "crash_append: child: commit: %s\n", kn_strerror(r));
            rc = CHILD_ETX;
            goto out;
        }
        tip += n;
        if (write_acks(fd, seqs, n) < 0)
            goto out;
    }
out:
    store_close(s);
    store_identity_finish(&id);
    free(buf);
    return rc;
}

/* ---- The parent: kill, reopen, check ---- */

struct check {
    uint64_t expected; /* the next seq the walk must see */
    uint8_t *buf;
    char msg[256];
};

static int check_entry(void *ud, const struct store_entry *e, const uint8_t *payload, size_t len)
{
    struct check *c = ud;
    int r;

    if (e->seq != c->expected) {
        snprintf(c->msg, sizeof(c->msg), "the feed has seq %" PRIu64 " where %" PRIu64 " belongs",
                 e->seq, c->expected);
        return 1;
    }
    c->expected++;
    if (!payload) {
        snprintf(c->msg, sizeof(c->msg), "seq %" PRIu64 ": payload missing", e->seq);
        return 1;
    }
    if ((r = store_payload_check(payload, len)) != 0 ||
        (r = store_entry_check_payload(e, payload, len)) != 0) {
        snprintf(c->msg, sizeof(c->msg), "seq %" PRIu64 ": payload refused: %s", e->seq,
                 kn_strerror(r));
        return 1;
    }
    size_t want = payload_for(e->seq, c->buf);
    if (len != want || memcmp(payload, c->buf, len) != 0 || strcmp(e->type, CRASH_TYPE) != 0) {
        snprintf(c->msg, sizeof(c->msg), "seq %" PRIu64 ": not the entry written for it", e->seq);
        return 1;
    }
    return 0;
}

static void print_problem(void *ud, const uint8_t author[STORE_KEY_LEN], uint64_t seq, int err)
{
    char hex[STORE_ID_HEX_LEN + 1];
    (void)ud;
    store_hex(author, STORE_KEY_LEN, hex);
    fprintf(stderr, "crash_append: verify: entry %s:%" PRIu64 ": %s\n", hex, seq, kn_strerror(err));
}

/* Read every ack the dead child left in the pipe. */
static int read_acks(int fd, uint64_t **acks, size_t *n)
{
    size_t cap = 1024, have = 0;
    uint8_t *bytes = kn_xmalloc(cap);

    for (;;) {
        if (cap - have < 4096) {
            cap *= 2;
            if (cap > CRASH_MAX_ACKS * sizeof(uint64_t)) {
                free(bytes);
                return -1;
            }
            bytes = kn_xrealloc(bytes, cap);
        }
        ssize_t got = read(fd, bytes + have, cap - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(bytes);
            return -1;
        }
        if (got == 0)
            break;
        have += (size_t)got;
    }
    if (have % sizeof(uint64_t) != 0) {
        /* Each ack is one write below PIPE_BUF: a torn one means the pipe broke its promise. */
        free(bytes);
        return -1;
    }
    *n = have / sizeof(uint64_t);
    *acks = kn_xmalloc(have + sizeof(uint64_t));
    memcpy(*acks, bytes, have);
    free(bytes);
    return 0;
}

struct run {
    char dir[64];
    char key_path[128];
    char db_path[128];
    uint8_t pk[STORE_KEY_LEN];
    uint64_t seed;
    uint64_t tip;         /* the feed's tip after the last round */
    uint64_t acked;       /* the highest seq ever acknowledged */
    uint64_t entries;     /* acknowledged appends, all rounds */
    unsigned killed_idle; /* rounds whose child was killed before its first ack */
};

/* One round: fork, kill, check. Returns 0, or -1 after printing what is wrong. */
static int round_run(struct run *run, unsigned round, uint64_t *rng)
{
    int fds[2] = { -1, -1 };
    struct store *s = NULL;
    uint64_t *acks = NULL;
    size_t nacks = 0;
    struct check c = { .expected = 1, .buf = kn_xmalloc(CRASH_MAX_PAD + 32) };
    int rc = -1, r, status;

    if (pipe(fds) < 0) {
        perror("crash_append: pipe");
        goto out;
    }
    uint64_t child_rng = splitmix64(rng);
    unsigned delay_ms = (unsigned)rnd_range(rng, 1, 40);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("crash_append: fork");
        goto out;
    }
    if (pid == 0) {
        close(fds[0]);
        _exit(child_run(run->db_path, run->key_path, child_rng, fds[1]));
    }
    close(fds[1]);
    fds[1] = -1;

    struct timespec ts = { 0, (long)delay_ms * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("crash_append: waitpid");
            goto out;
        }
    }
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        fprintf(stderr, "crash_append: round %u: the child ended by itself (%s %d)\n", round,
                WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        goto out;
    }
    if (read_acks(fds[0], &acks, &nacks) < 0) {
        fprintf(stderr, "crash_append: round %u: could not read the acknowledgements\n", round);
        goto out;
    }

    /* The acks of a round continue the feed as it was, one by one. */
    uint64_t last = run->tip;
    for (size_t i = 0; i < nacks; i++) {
        if (acks[i] != last + 1) {
            fprintf(stderr,
                    "crash_append: round %u: acknowledged seq %" PRIu64 " after %" PRIu64 "\n",
                    round, acks[i], last);
            goto out;
        }
        last = acks[i];
    }
    if (nacks == 0)
        run->killed_idle++;

    if ((r = store_open(run->db_path, STORE_SYNC_NORMAL, &s)) < 0) {
        fprintf(stderr, "crash_append: round %u: reopen: %s\n", round, kn_strerror(r));
        goto out;
    }
    uint64_t checked = 0;
    if ((r = store_verify_all(s, STORE_VERIFY_EVERY, print_problem, NULL, &checked)) != 0) {
        fprintf(stderr, "crash_append: round %u: store_verify_all returned %d (%s)\n", round, r,
                r < 0 ? kn_strerror(r) : "feeds broken");
        goto out;
    }
    struct store_feed f;
    if ((r = store_feed_get(s, run->pk, &f)) < 0) {
        fprintf(stderr, "crash_append: round %u: store_feed_get: %s\n", round, kn_strerror(r));
        goto out;
    }
    if (f.forked) {
        fprintf(stderr, "crash_append: round %u: our feed is marked forked\n", round);
        goto out;
    }
    if (f.seq < last) {
        fprintf(stderr,
                "crash_append: round %u: LOST an acknowledged append: tip %" PRIu64 ", seq %" PRIu64
                " was acknowledged\n",
                round, f.seq, last);
        goto out;
    }
    /* At most one operation may have committed without its ack reaching the pipe. */
    if (f.seq > last + CRASH_MAX_BATCH) {
        fprintf(stderr,
                "crash_append: round %u: tip %" PRIu64 " is beyond the last ack %" PRIu64
                " plus one batch\n",
                round, f.seq, last);
        goto out;
    }
    if ((r = store_range(s, run->pk, 1, 0, check_entry, &c)) != 0) {
        fprintf(stderr, "crash_append: round %u: %s\n", round, r > 0 ? c.msg : kn_strerror(r));
        goto out;
    }
    uint64_t count = 0;
    if (c.expected != f.seq + 1 || checked != f.seq || store_count(s, &count) < 0 ||
        count != f.seq) {
        fprintf(stderr,
                "crash_append: round %u: tip %" PRIu64 " but the walk saw %" PRIu64
                " entries, verify %" PRIu64 ", count %" PRIu64 "\n",
                round, f.seq, c.expected - 1, checked, count);
        goto out;
    }
    run->entries += nacks;
    run->tip = f.seq;
    if (last > run->acked)
        run->acked = last;
    rc = 0;
out:
    store_close(s);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free(acks);
    free(c.buf);
    return rc;
}

static void remove_dir(const struct run *run)
{
    static const char *const files[] = { "node.key", "kortnod.db", "kortnod.db-wal",
                                         "kortnod.db-shm", "kortnod.db-journal" };
    char p[192];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", run->dir, files[i]);
        unlink(p);
    }
    rmdir(run->dir);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    struct run run = { 0 };
    struct store_identity id = { 0 };
    struct store *s = NULL;
    uint64_t rounds = 30, rng;
    bool keep = false, seeded = false;
    int rc = 1, r;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            if (parse_u64(argv[++i], &rounds) < 0 || rounds == 0 || rounds > 100000)
                goto usage;
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            if (parse_u64(argv[++i], &run.seed) < 0)
                goto usage;
            seeded = true;
        } else if (!strcmp(argv[i], "--keep")) {
            keep = true;
        } else {
            goto usage;
        }
    }
    if (!seeded) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        run.seed = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
        run.seed ^= (uint64_t)getpid() << 32;
    }
    rng = run.seed;
    printf("crash_append: seed %" PRIu64 ", %" PRIu64 " rounds (repeat with --seed %" PRIu64
           " --rounds %" PRIu64 ")\n",
           run.seed, rounds, run.seed, rounds);
    fflush(stdout);

    const char *tmp = getenv("TMPDIR");
    snprintf(run.dir, sizeof(run.dir), "%s/kortnod-crash.XXXXXX",
             tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(run.dir)) {
        perror("crash_append: mkdtemp");
        return 1;
    }
    snprintf(run.key_path, sizeof(run.key_path), "%s/node.key", run.dir);
    snprintf(run.db_path, sizeof(run.db_path), "%s/kortnod.db", run.dir);
    if ((r = store_identity_create(run.key_path, &id)) < 0) {
        fprintf(stderr, "crash_append: %s: %s\n", run.key_path, kn_strerror(r));
        goto out;
    }
    memcpy(run.pk, id.pk, STORE_KEY_LEN);
    store_identity_finish(&id);
    if ((r = store_open(run.db_path, STORE_SYNC_NORMAL, &s)) < 0) {
        fprintf(stderr, "crash_append: %s: %s\n", run.db_path, kn_strerror(r));
        goto out;
    }
    store_close(s);
    s = NULL;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 1; i <= rounds; i++) {
        if (round_run(&run, (unsigned)i, &rng) < 0) {
            fprintf(stderr,
                    "crash_append: FAILED in round %" PRIu64 " (seed %" PRIu64
                    "); the store is kept in %s\n",
                    i, run.seed, run.dir);
            keep = true;
            goto out;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (run.tip == 0) {
        fprintf(stderr, "crash_append: no child ever appended anything: the test tested nothing\n");
        goto out;
    }
    printf("crash_append: ok: %" PRIu64 " rounds, %" PRIu64
           " acknowledged entries, last tip %" PRIu64 " (%u rounds killed before an ack), %.1f s\n",
           rounds, run.entries, run.tip, run.killed_idle,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    rc = 0;
out:
    store_close(s);
    store_identity_finish(&id);
    if (!keep)
        remove_dir(&run);
    return rc;
usage:
    fprintf(stderr, "Usage: crash_append [--rounds N] [--seed S] [--keep]\n");
    return 2;
}
