/* SPDX-License-Identifier: MIT */
/*
 * Watching the readers. pcsc-lite's calls block, so one thread of its own waits in
 * SCardGetStatusChange on every reader and on "\\?PnP?\Notification" (readers plugged in later),
 * identifies a card as soon as it is in, and hands each event to the loop: a queue under a mutex
 * and a uv_async_t. Stopping sets a flag and calls SCardCancel on the thread's context; the wait
 * also ends every second, so a cancel that comes before the wait starts is never lost.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define WAIT_MS       1000
#define RETRY_MS      500
#define STOP_WAIT_NS  2500000000ULL
#define PNP_NAME      "\\\\?PnP?\\Notification"
#define COUNTER(s)    ((s) >> 16) /* pcsc-lite counts a reader's events in the high word */
#define STATE_BITS(s) ((s)&0xffff)

struct queued {
    struct queued *next;
    struct reader_event ev;
};

enum service { SERVICE_UNKNOWN, SERVICE_UP, SERVICE_DOWN };

struct known {
    char name[READER_MAX_NAME];
    DWORD state;  /* the last dwEventState, passed back as dwCurrentState */
    bool present; /* a card is in (identified or not) */
};

struct reader_watch {
    uv_loop_t *loop;
    uv_async_t async;
    reader_event_cb cb;
    void *data;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    /* under mu */
    bool stopping, finished, joined;
    bool have_ctx;
    SCARDCONTEXT ctx;
    struct queued *head, *tail;
    /* the thread's own */
    enum service service;
    struct known readers[READER_MAX_READERS];
    size_t nreaders;
    DWORD pnp_state;
};

const char *reader_event_name(enum reader_event_kind kind)
{
    switch (kind) {
    case READER_EV_SERVICE_UP:
        return "service-up";
    case READER_EV_SERVICE_DOWN:
        return "service-down";
    case READER_EV_ADDED:
        return "reader-added";
    case READER_EV_REMOVED:
        return "reader-removed";
    case READER_EV_INSERTED:
        return "card-inserted";
    case READER_EV_CARD_REMOVED:
        return "card-removed";
    case READER_EV_READ_ERROR:
        return "read-error";
    }
    return "unknown";
}

/* An event holds what the card said (the holder's HSA-id): wiped before its memory is reused. */
static void free_event(struct queued *q)
{
    explicit_bzero(q, sizeof(*q));
    free(q);
}

static void post(struct reader_watch *w, const struct reader_event *ev)
{
    struct queued *q = kn_xcalloc(1, sizeof(*q));
    q->ev = *ev;
    if (!q->ev.at_ms)
        q->ev.at_ms = reader__now_ms();
    uv_mutex_lock(&w->mu);
    if (w->stopping) {
        uv_mutex_unlock(&w->mu);
        free_event(q);
        return;
    }
    if (w->tail)
        w->tail->next = q;
    else
        w->head = q;
    w->tail = q;
    uv_async_send(&w->async);
    uv_mutex_unlock(&w->mu);
}

static void post_simple(struct reader_watch *w, enum reader_event_kind kind, const char *reader,
                        int error, const char *detail)
{
    struct reader_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    snprintf(ev.reader, sizeof(ev.reader), "%s", reader ? reader : "");
    ev.error = error;
    snprintf(ev.detail, sizeof(ev.detail), "%s", detail ? detail : "");
    post(w, &ev);
}

static bool stopping(struct reader_watch *w)
{
    uv_mutex_lock(&w->mu);
    bool s = w->stopping;
    uv_mutex_unlock(&w->mu);
    return s;
}

/* Waits up to ms, or less when stopped. */
static void pause_ms(struct reader_watch *w, uint64_t ms)
{
    uv_mutex_lock(&w->mu);
    if (!w->stopping)
        (void)uv_cond_timedwait(&w->cond, &w->mu, ms * 1000000ULL);
    uv_mutex_unlock(&w->mu);
}

static void forget_reader(struct reader_watch *w, size_t i)
{
    if (w->readers[i].present)
        post_simple(w, READER_EV_CARD_REMOVED, w->readers[i].name, 0, NULL);
    post_simple(w, READER_EV_REMOVED, w->readers[i].name, 0, NULL);
    w->readers[i] = w->readers[--w->nreaders];
}

static void drop_context(struct reader_watch *w, int err)
{
    uv_mutex_lock(&w->mu);
    SCARDCONTEXT ctx = w->ctx;
    bool had = w->have_ctx;
    w->have_ctx = false;
    uv_mutex_unlock(&w->mu);
    if (had)
        SCardReleaseContext(ctx);
    while (w->nreaders)
        forget_reader(w, w->nreaders - 1);
    w->pnp_state = 0;
    if (w->service != SERVICE_DOWN) {
        w->service = SERVICE_DOWN;
        post_simple(w, READER_EV_SERVICE_DOWN, NULL, err,
                    err == KN_ENOPCSCD ? "the smart card service (pcscd) is not running; "
                                         "hand-overs can be recorded with the serial typed in"
                                       : kn_strerror(err));
    }
}

static int connect_service(struct reader_watch *w)
{
    SCARDCONTEXT ctx;
    int r = reader__pcsc_err(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx));
    if (r < 0)
        return r;
    uv_mutex_lock(&w->mu);
    w->ctx = ctx;
    w->have_ctx = true;
    uv_mutex_unlock(&w->mu);
    if (w->service != SERVICE_UP) {
        w->service = SERVICE_UP;
        post_simple(w, READER_EV_SERVICE_UP, NULL, 0, NULL);
    }
    return 0;
}

/* Readers gone since the last look are forgotten, new ones added. */
static int reconcile(struct reader_watch *w)
{
    struct reader_list l;
    int r = reader__list(w->ctx, &l);
    if (r < 0)
        return r;
    for (size_t i = w->nreaders; i-- > 0;) {
        bool still = false;
        for (size_t k = 0; k < l.count && !still; k++)
            still = !strcmp(l.names[k], w->readers[i].name);
        if (!still)
            forget_reader(w, i);
    }
    for (size_t k = 0; k < l.count; k++) {
        bool known = false;
        for (size_t i = 0; i < w->nreaders && !known; i++)
            known = !strcmp(l.names[k], w->readers[i].name);
        if (known || w->nreaders == READER_MAX_READERS)
            continue;
        struct known *n = &w->readers[w->nreaders++];
        memset(n, 0, sizeof(*n));
        snprintf(n->name, sizeof(n->name), "%s", l.names[k]);
        n->state = SCARD_STATE_UNAWARE;
        post_simple(w, READER_EV_ADDED, n->name, 0, NULL);
    }
    return 0;
}

static void card_in(struct reader_watch *w, struct known *k, DWORD state)
{
    struct reader_event ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.reader, sizeof(ev.reader), "%s", k->name);
    ev.seen_ms = reader__now_ms();
    k->present = true;
    if (state & SCARD_STATE_MUTE) {
        ev.kind = READER_EV_READ_ERROR;
        ev.error = KN_ECARDERR;
        snprintf(ev.detail, sizeof(ev.detail), "the card does not answer (mute): turn it over?");
    } else {
        int r = reader__identify_in(w->ctx, k->name, &ev.id, ev.detail, sizeof(ev.detail));
        ev.kind = r < 0 ? READER_EV_READ_ERROR : READER_EV_INSERTED;
        ev.error = r;
    }
    post(w, &ev);
    explicit_bzero(&ev, sizeof(ev));
}

static void look(struct reader_watch *w)
{
    SCARD_READERSTATE st[READER_MAX_READERS + 1];
    size_t n = w->nreaders;
    int r;
    memset(st, 0, sizeof(st));
    for (size_t i = 0; i < n; i++) {
        st[i].szReader = w->readers[i].name;
        st[i].dwCurrentState = w->readers[i].state;
    }
    st[n].szReader = PNP_NAME;
    st[n].dwCurrentState = w->pnp_state;
    LONG rv = SCardGetStatusChange(w->ctx, WAIT_MS, st, (DWORD)n + 1);
    if (rv == SCARD_E_TIMEOUT || rv == SCARD_E_CANCELLED || rv == SCARD_E_UNKNOWN_READER)
        return; /* the readers are listed again before the next wait */
    if ((r = reader__pcsc_err(rv)) < 0) {
        drop_context(w, r);
        return;
    }
    w->pnp_state = st[n].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    for (size_t i = 0; i < n && !stopping(w); i++) {
        struct known *k = &w->readers[i];
        DWORD now = st[i].dwEventState, before = k->state;
        if (!(now & SCARD_STATE_CHANGED))
            continue;
        k->state = now & ~(DWORD)SCARD_STATE_CHANGED;
        if (now & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE | SCARD_STATE_IGNORE))
            continue; /* going away: the next listing says so */
        bool in = now & SCARD_STATE_PRESENT;
        /* Out and in again between two looks: the counter moved but the state did not. */
        bool again = in && k->present && before != SCARD_STATE_UNAWARE &&
                     COUNTER(now) != COUNTER(before) && STATE_BITS(before) != 0;
        if (k->present && (!in || again)) {
            k->present = false;
            post_simple(w, READER_EV_CARD_REMOVED, k->name, 0, NULL);
        }
        if (in && !k->present)
            card_in(w, k, now);
    }
}

static void run(void *arg)
{
    struct reader_watch *w = arg;
    while (!stopping(w)) {
        int r;
        if (!w->have_ctx && (r = connect_service(w)) < 0) {
            drop_context(w, r);
            pause_ms(w, RETRY_MS);
            continue;
        }
        if ((r = reconcile(w)) < 0) {
            drop_context(w, r);
            continue;
        }
        look(w);
    }
    drop_context(w, 0);
    uv_mutex_lock(&w->mu);
    w->finished = true;
    uv_cond_broadcast(&w->cond);
    uv_mutex_unlock(&w->mu);
}

static void deliver(uv_async_t *a)
{
    struct reader_watch *w = a->data;
    uv_mutex_lock(&w->mu);
    struct queued *q = w->head;
    w->head = w->tail = NULL;
    bool stopped = w->stopping;
    uv_mutex_unlock(&w->mu);
    while (q) {
        struct queued *next = q->next;
        if (!stopped)
            w->cb(w, &q->ev, w->data);
        free_event(q);
        q = next;
    }
}

int reader_watch_start(uv_loop_t *loop, reader_event_cb cb, void *data, struct reader_watch **out)
{
    struct reader_watch *w = kn_xcalloc(1, sizeof(*w));
    int r;
    w->loop = loop;
    w->cb = cb;
    w->data = data;
    if ((r = uv_mutex_init(&w->mu)) < 0) {
        free(w);
        return r;
    }
    if ((r = uv_cond_init(&w->cond)) < 0) {
        uv_mutex_destroy(&w->mu);
        free(w);
        return r;
    }
    w->async.data = w;
    if ((r = uv_async_init(loop, &w->async, deliver)) < 0) {
        uv_cond_destroy(&w->cond);
        uv_mutex_destroy(&w->mu);
        free(w);
        return r;
    }
    if ((r = uv_thread_create(&w->thread, run, w)) < 0) {
        uv_close((uv_handle_t *)&w->async, NULL);
        /* the handle's memory must outlive the close: leave w to the loop's end */
        return r;
    }
    *out = w;
    return 0;
}

static void closed(uv_handle_t *h)
{
    struct reader_watch *w = h->data;
    struct queued *q = w->head;
    while (q) {
        struct queued *next = q->next;
        free_event(q);
        q = next;
    }
    if (!w->joined)
        return; /* the thread is stuck in a card that does not answer: it keeps w */
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->mu);
    free(w);
}

void reader_watch_stop(struct reader_watch *w)
{
    if (!w)
        return;
    uv_mutex_lock(&w->mu);
    w->stopping = true;
    if (w->have_ctx)
        SCardCancel(w->ctx);
    uv_cond_broadcast(&w->cond);
    uint64_t deadline = uv_hrtime() + STOP_WAIT_NS;
    while (!w->finished) {
        uint64_t now = uv_hrtime();
        if (now >= deadline || uv_cond_timedwait(&w->cond, &w->mu, deadline - now) != 0)
            break;
    }
    bool finished = w->finished;
    struct queued *q = w->head;
    w->head = w->tail = NULL;
    uv_mutex_unlock(&w->mu);
    if (finished) {
        uv_thread_join(&w->thread);
        w->joined = true;
    }
    while (q) {
        struct queued *next = q->next;
        free_event(q);
        q = next;
    }
    uv_close((uv_handle_t *)&w->async, closed);
}
