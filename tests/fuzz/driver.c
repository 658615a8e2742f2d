/* SPDX-License-Identifier: MIT */
/*
 * driver - run a fuzz target without libFuzzer, so that any compiler can build it and
 * `meson test --suite fuzz` can run it under ASan and UBSan:
 *
 *     fuzz_NAME_driver CORPUS_DIR... [--runs N] [--seed S] [--max-len L] [--only I]
 *
 * runs the target over every file of the corpus directories (or over files given directly),
 * then over N (default 20000) deterministic mutations of them. The mutations depend only on S
 * (default 1, so that a test run is reproducible; `--seed time` takes one from the clock), and
 * `--seed S --only I` replays mutation I alone. When the target dies, the input that killed it
 * is printed in hex and written to crash-SEED-I in the working directory.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

struct input {
    uint8_t *data;
    size_t len;
    char *name;
};

static struct input *corpus;
static size_t ncorpus;

/* What is running now, for the crash report. */
static const uint8_t *cur_data;
static size_t cur_len;
static uint64_t cur_seed;
static long long cur_iter = -1; /* -1: a corpus file */
static const char *cur_name;

static uint64_t rng_state;

/* splitmix64: small, seedable, good enough to pick mutations. */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static void report_crash(void)
{
    static volatile sig_atomic_t reported;
    char path[64];
    FILE *f;

    if (reported)
        return;
    reported = 1;
    if (cur_iter < 0)
        fprintf(stderr, "\nfuzz driver: crash on corpus file %s (%zu bytes):\n",
                cur_name ? cur_name : "?", cur_len);
    else
        fprintf(stderr, "\nfuzz driver: crash on mutation %lld of --seed %llu (%zu bytes):\n",
                cur_iter, (unsigned long long)cur_seed, cur_len);
    for (size_t i = 0; i < cur_len && i < 8192; i++)
        fprintf(stderr, "%02x%s", cur_data[i], (i % 32 == 31) ? "\n" : "");
    fprintf(stderr, "%s", cur_len > 8192 ? "...\n" : "\n");
    snprintf(path, sizeof(path), "crash-%llu-%lld", (unsigned long long)cur_seed, cur_iter);
    if ((f = fopen(path, "wb")) != NULL) {
        fwrite(cur_data, 1, cur_len, f);
        fclose(f);
        fprintf(stderr, "fuzz driver: input written to %s\n", path);
    }
}

static void on_signal(int sig)
{
    report_crash();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Sanitizers call this before they exit; absent from builds without them. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void run(const uint8_t *data, size_t len)
{
    /* An exact-size heap copy, so that ASan sees any read past the end. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    if (len)
        memcpy(copy, data, len);
    cur_data = copy;
    cur_len = len;
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
}

static void add_input(uint8_t *data, size_t len, const char *name)
{
    corpus = realloc(corpus, (ncorpus + 1) * sizeof(*corpus));
    if (!corpus)
        abort();
    corpus[ncorpus].data = data;
    corpus[ncorpus].len = len;
    corpus[ncorpus].name = strdup(name);
    ncorpus++;
}

static int load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    do {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 8192;
            if (!(data = realloc(data, cap)))
                abort();
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    add_input(data, len, path);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order so that runs are reproducible. */
static int load_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    int r = 0;

    if (!d)
        return load_file(dir);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (!(names = realloc(names, (n + 1) * sizeof(*names))))
            abort();
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(len);
        snprintf(names[n], len, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (r == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            r = load_file(names[i]);
        free(names[i]);
    }
    free(names);
    return r;
}

/* Lengths and type bytes where decoders go wrong: limits of each msgpack form, and its tags. */
static const uint64_t interesting[] = {
    0,      1,      0x1f,   0x20,    0x7f,       0x80,       0xff,       0x100,
    0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 32,
    33,     64,     65,     1664,    1665,       65536,      65537,
};
static const uint8_t tags[] = {
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xca, 0xcb, 0xcc, 0xcd, 0xce,
    0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0x90, 0x9f, 0x80, 0x8f, 0xa0, 0xbf, 0x7f, 0xe0, 0xff, 0x00, 0xd4, 0xc7,
};

struct mbuf {
    uint8_t *p;
    size_t len, cap;
};

static void mbuf_reserve(struct mbuf *m, size_t extra)
{
    if (m->cap - m->len >= extra)
        return;
    while (m->cap - m->len < extra)
        m->cap = m->cap ? 2 * m->cap : 256;
    if (!(m->p = realloc(m->p, m->cap)))
        abort();
}

static void insert_at(struct mbuf *m, size_t off, const uint8_t *b, size_t n)
{
    mbuf_reserve(m, n);
    memmove(m->p + off + n, m->p + off, m->len - off);
    memcpy(m->p + off, b, n);
    m->len += n;
}

static void mutate_once(struct mbuf *m, size_t max_len)
{
    size_t off = below(m->len + 1), n;
    uint8_t tmp[16];

    switch (rnd() % 12) {
    case 0: /* flip a bit */
        if (m->len)
            m->p[below(m->len)] ^= (uint8_t)(1u << (rnd() % 8));
        break;
    case 1: /* a random byte */
        if (m->len)
            m->p[below(m->len)] = (uint8_t)rnd();
        break;
    case 2: /* a msgpack tag */
        if (m->len)
            m->p[below(m->len)] = tags[below(sizeof(tags))];
        break;
    case 3: { /* an interesting number as 1, 2, 4 or 8 big-endian bytes, over or into the data */
        uint64_t v = interesting[below(sizeof(interesting) / sizeof(interesting[0]))];
        int w = 1 << (rnd() % 4);
        if (rnd() & 1)
            v += (rnd() % 3) - 1;
        for (int i = 0; i < w; i++)
            tmp[i] = (uint8_t)(v >> (8 * (w - 1 - i)));
        if ((rnd() & 1) && off + (size_t)w <= m->len)
            memcpy(m->p + off, tmp, (size_t)w);
        else
            insert_at(m, off, tmp, (size_t)w);
        break;
    }
    case 4: /* a tag followed by an interesting length: a new container or string header */
        tmp[0] = tags[below(sizeof(tags))];
        {
            uint64_t v = interesting[below(sizeof(interesting) / sizeof(interesting[0]))];
            int w = 1 << (rnd() % 3);
            for (int i = 0; i < w; i++)
                tmp[1 + i] = (uint8_t)(v >> (8 * (w - 1 - i)));
            insert_at(m, off, tmp, 1 + (size_t)w);
        }
        break;
    case 5: /* insert random bytes */
        n = 1 + below(8);
        for (size_t i = 0; i < n; i++)
            tmp[i] = (uint8_t)rnd();
        insert_at(m, off, tmp, n);
        break;
    case 6: /* delete a range */
        if (m->len) {
            off = below(m->len);
            n = 1 + below(m->len - off < 16 ? m->len - off : 16);
            memmove(m->p + off, m->p + off + n, m->len - off - n);
            m->len -= n;
        }
        break;
    case 7: /* truncate */
        m->len = below(m->len + 1);
        break;
    case 8: /* duplicate a range */
        if (m->len) {
            size_t from = below(m->len);
            n = 1 + below(m->len - from < 64 ? m->len - from : 64);
            uint8_t *copy = malloc(n);
            memcpy(copy, m->p + from, n);
            insert_at(m, off, copy, n);
            free(copy);
        }
        break;
    case 9: { /* splice: a piece of another input */
        const struct input *o = &corpus[below(ncorpus)];
        if (o->len) {
            size_t from = below(o->len);
            n = 1 + below(o->len - from);
            if (rnd() & 1)
                m->len = off; /* our head, their tail */
            insert_at(m, off, o->data + from, n);
        }
        break;
    }
    case 10: /* a random length, now and then past every bound: grow with zeros or cut */
        n = (rnd() % 8) ? below(2 * m->len + 16) : below(max_len + 1);
        if (n > m->len) {
            mbuf_reserve(m, n - m->len);
            memset(m->p + m->len, 0, n - m->len);
        }
        m->len = n;
        break;
    default: /* swap two bytes */
        if (m->len > 1) {
            size_t a = below(m->len), b = below(m->len);
            uint8_t t = m->p[a];
            m->p[a] = m->p[b];
            m->p[b] = t;
        }
        break;
    }
    if (m->len > max_len)
        m->len = max_len;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s CORPUS_DIR_OR_FILE... [--runs N] [--seed S|time] [--max-len L] [--only I]\n",
            argv0);
}

int main(int argc, char **argv)
{
    unsigned long long runs = 20000, seed = 1;
    long long only = -1;
    size_t max_len = 1 << 17;
    bool clock_seed = false;
    struct mbuf m = { 0 };
    struct timespec t0, t1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            i++;
            clock_seed = strcmp(argv[i], "time") == 0;
            seed = strtoull(argv[i], NULL, 0);
        } else if (strcmp(argv[i], "--max-len") == 0 && i + 1 < argc) {
            max_len = (size_t)strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = strtoll(argv[++i], NULL, 0);
        } else if (argv[i][0] == '-') {
            usage(argv[0]);
            return 2;
        } else if (load_dir(argv[i]) < 0) {
            return 2;
        }
    }
    if (clock_seed) {
        clock_gettime(CLOCK_REALTIME, &t0);
        seed = (unsigned long long)t0.tv_sec * 1000003ull ^ (unsigned long long)t0.tv_nsec;
    }
    if (ncorpus == 0)
        add_input(NULL, 0, "(empty)");

    /* Under a sanitizer its own handlers give the better report; we only add the input. */
    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(report_crash);
        signal(SIGABRT, on_signal); /* FUZZ_CHECK's abort() does not go through the sanitizer */
    } else {
        signal(SIGSEGV, on_signal);
        signal(SIGABRT, on_signal);
        signal(SIGBUS, on_signal);
        signal(SIGFPE, on_signal);
        signal(SIGILL, on_signal);
    }

    printf("fuzz driver: %zu corpus inputs, %llu mutations, --seed %llu\n", ncorpus, runs, seed);
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cur_seed = seed;
    if (only < 0) {
        for (size_t i = 0; i < ncorpus; i++) {
            cur_name = corpus[i].name;
            run(corpus[i].data, corpus[i].len);
        }
    }
    for (unsigned long long it = 0; it < runs; it++) {
        if (only >= 0 && (unsigned long long)only != it)
            continue;
        /* Each mutation depends on (seed, it) alone, so --only can replay it. */
        rng_state = seed ^ (it * 0xd1342543de82ef95ull);
        (void)rnd();
        const struct input *base = &corpus[below(ncorpus)];
        m.len = 0;
        mbuf_reserve(&m, base->len + 1);
        if (base->len)
            memcpy(m.p, base->data, base->len);
        m.len = base->len;
        for (int k = 0, nmut = 1 + (int)(rnd() % 4); k < nmut; k++)
            mutate_once(&m, max_len);
        cur_iter = (long long)it;
        run(m.p, m.len);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("fuzz driver: done in %.1f s, no crash\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);

    free(m.p);
    for (size_t i = 0; i < ncorpus; i++) {
        free(corpus[i].data);
        free(corpus[i].name);
    }
    free(corpus);
    return 0;
}
