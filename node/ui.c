/* SPDX-License-Identifier: MIT */
/*
 * The web interface (ui.h): H2O on the daemon's libuv loop. One handler takes every request:
 * the gate (the host named, the origin, the session, the CSRF token), then the page's files
 * (built in) or the JSON API (docs/api.md), which reads and writes the daemon's own store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <h2o.h>
#include <sodium.h>

#include "ui.h"

#define MAX_SESSIONS 32
#define REQ_TIMEOUT  3000 /* ms: a request, or an idle kept-alive connection */
#define MAX_BODY     (64u << 10)
#define MAX_IMPORT   (64u << 20) /* a sealed bundle from a USB stick: ~160,000 entries */
#define COOKIE       "kn_session"

struct session {
    uint8_t id[32];
    char csrf[65];
    uint64_t expires_ms; /* 0: free */
};

struct import_job;

struct ui {
    uv_loop_t *loop;
    struct node *n;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    uv_tcp_t listener;
    uv_timer_t wait; /* ui_stop: until the connections are gone */
    bool stopping, disposed;
    char url[64];
    char hosts[2][40]; /* what a request may name in Host: 127.0.0.1:PORT, localhost:PORT */
    char origins[2][48];
    ui_live_fn live;
    ui_reader_fn reader;
    void *live_data;
    struct session sessions[MAX_SESSIONS];
    struct import_job *job; /* the bundle being imported from the page, or NULL */
    char self[4096];        /* this program, which imports it: /proc/self/exe at start */
};

/*
 * A sealed bundle posted by the page is imported by this very program as `kortnod bundle import
 * FILE` in a child process, exactly as from the command line: checked whole before anything is
 * stored, noted as the maker's last contact, and passed on by the daemon as a command's writes
 * are. The loop keeps serving meanwhile; the answer goes out when the child ends.
 */
struct import_job {
    struct ui *u;
    h2o_req_t *req;           /* NULL once answered, or once the client went away */
    struct import_job **slot; /* in the request's pool: tells the job when the pool goes */
    uv_process_t proc;
    uv_pipe_t out;
    char path[4200];
    char text[4096]; /* what the child printed (stdout and stderr), cut at the end */
    size_t len;
    int64_t status;
    int open; /* handles not yet closed */
    bool exited, eof;
};

struct ui_handler {
    h2o_handler_t super;
    struct ui *u;
};

/* ---- responses ---- */

static void security_headers(h2o_req_t *req)
{
    static const struct {
        const char *name, *value;
    } h[] = {
        { "content-security-policy",
          "default-src 'self'; frame-ancestors 'none'; form-action 'self'" },
        { "x-frame-options", "DENY" },
        { "x-content-type-options", "nosniff" },
        { "referrer-policy", "no-referrer" },
        { "cache-control", "no-store" },
        { "cross-origin-opener-policy", "same-origin" },
        { "cross-origin-resource-policy", "same-origin" },
    };
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
        h2o_add_header_by_str(&req->pool, &req->res.headers, h[i].name, strlen(h[i].name), 0, NULL,
                              h[i].value, strlen(h[i].value));
}

static int send_body(h2o_req_t *req, int status, const char *type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = status == 200   ? "OK"
                      : status == 303 ? "See Other"
                      : status == 400 ? "Bad Request"
                      : status == 401 ? "Unauthorized"
                      : status == 403 ? "Forbidden"
                      : status == 404 ? "Not Found"
                      : status == 405 ? "Method Not Allowed"
                      : status == 409 ? "Conflict"
                      : status == 413 ? "Payload Too Large"
                                      : "Internal Server Error";
    security_headers(req);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_send_inline(req, body, len);
    return 0;
}

/* The document as JSON (the reference is taken). */
static int send_json(h2o_req_t *req, int status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return send_body(req, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
    int r = send_body(req, status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
    return r;
}

static int send_error(h2o_req_t *req, int status, const char *msg)
{
    return send_json(req, status, json_pack("{s:s}", "error", msg));
}

/* A short page for a browser that is not logged in (Swedish first, English after). */
static int send_page(h2o_req_t *req, int status, const char *sv, const char *en)
{
    char *page = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&page, &len);
    if (!f)
        return send_error(req, 500, "out of memory");
    fprintf(f,
            "<!doctype html><html lang=\"sv\"><head><meta charset=\"utf-8\"><title>kortnod</title>"
            "</head><body><main><h1>kortnod</h1><p>%s</p><p lang=\"en\">%s</p></main></body>"
            "</html>\n",
            sv, en);
    fclose(f);
    int r = send_body(req, status, "text/html; charset=utf-8", page, len);
    free(page);
    return r;
}

/* ---- requests ---- */

static bool iov_eq(h2o_iovec_t v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.base, s, v.len) == 0;
}

static h2o_iovec_t header(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    return i < 0 ? h2o_iovec_init(NULL, 0) : req->headers.entries[i].value;
}

/* The value of name=... in the query string, into out (size bytes): 0, -1 when absent, -2 when
 * too long or not made only of letters, digits, '-', '_' and '.'. */
static int query_param(h2o_req_t *req, const char *name, char *out, size_t size)
{
    if (req->query_at == SIZE_MAX)
        return -1;
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t nl = strlen(name);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - q) > nl && memcmp(q, name, nl) == 0 && q[nl] == '=') {
            size_t vl = (size_t)(stop - q - nl - 1);
            if (vl >= size)
                return -2;
            /* Only what ids, months and tokens are made of: no decoding needed, none done. */
            for (size_t i = 0; i < vl; i++) {
                char c = q[nl + 1 + i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      c == '-' || c == '_' || c == '.'))
                    return -2;
            }
            memcpy(out, q + nl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        q = stop + 1;
    }
    return -1;
}

static struct session *session_of(struct ui *u, h2o_req_t *req)
{
    uint64_t now = node_now_ms();
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        static const char key[] = COOKIE "=";
        for (size_t k = 0; k + sizeof(key) - 1 + 64 <= v.len; k++) {
            if (memcmp(v.base + k, key, sizeof(key) - 1) != 0 ||
                (k > 0 && v.base[k - 1] != ' ' && v.base[k - 1] != ';'))
                continue;
            char hex[65];
            uint8_t id[32];
            memcpy(hex, v.base + k + sizeof(key) - 1, 64);
            hex[64] = '\0';
            if (store_unhex(hex, id, sizeof(id)) < 0)
                continue;
            for (size_t s = 0; s < MAX_SESSIONS; s++)
                if (u->sessions[s].expires_ms > now &&
                    sodium_memcmp(u->sessions[s].id, id, sizeof(id)) == 0)
                    return &u->sessions[s];
        }
    }
    return NULL;
}

/*
 * The gate, before anything else: the Host a request names must be this server (a page of
 * another site that resolves its own name to 127.0.0.1 names that name); an Origin, when sent,
 * must be this server's; a browser saying the request comes from another site is refused.
 */
static const char *gate(struct ui *u, h2o_req_t *req)
{
    if (!iov_eq(req->authority, u->hosts[0]) && !iov_eq(req->authority, u->hosts[1]))
        return "the request names another host";
    h2o_iovec_t origin = header(req, "origin");
    if (origin.base && !iov_eq(origin, u->origins[0]) && !iov_eq(origin, u->origins[1]))
        return "the request comes from another origin";
    h2o_iovec_t site = header(req, "sec-fetch-site");
    if (site.base && iov_eq(site, "cross-site"))
        return "the request comes from another site";
    return NULL;
}

/* ---- login ---- */

int ui_login_token(struct node *n, char token_hex[65])
{
    uint8_t token[32], hash[32];
    char hash_hex[65], path[4200], tmp[4300];
    randombytes_buf(token, sizeof(token));
    crypto_generichash(hash, sizeof(hash), token, sizeof(token), NULL, 0);
    store_hex(token, sizeof(token), token_hex);
    store_hex(hash, sizeof(hash), hash_hex);
    sodium_memzero(token, sizeof(token));
    snprintf(path, sizeof(path), "%s/%s", n->dir, UI_LOGIN_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    char line[128];
    int len = snprintf(line, sizeof(line), "%s %llu\n", hash_hex,
                       (unsigned long long)(node_now_ms() + UI_LOGIN_TTL_MS));
    bool ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return KN_EIO;
    }
    return 0;
}

/* Take the one-time token t: true once, when it is the pending one and not expired. */
static bool take_token(struct ui *u, const char *t)
{
    char path[4200], line[160], hash_hex[65];
    uint8_t token[32], hash[32], want[32];
    unsigned long long expires;
    snprintf(path, sizeof(path), "%s/%s", u->n->dir, UI_LOGIN_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(line, sizeof(line), f) && sscanf(line, "%64s %llu", hash_hex, &expires) == 2;
    fclose(f);
    if (!ok || store_unhex(hash_hex, want, sizeof(want)) < 0 || strlen(t) != 64 ||
        store_unhex(t, token, sizeof(token)) < 0)
        return false;
    crypto_generichash(hash, sizeof(hash), token, sizeof(token), NULL, 0);
    if (sodium_memcmp(hash, want, sizeof(hash)) != 0)
        return false;
    unlink(path); /* once */
    return node_now_ms() < expires;
}

static int login(struct ui *u, h2o_req_t *req)
{
    char t[80];
    if (query_param(req, "t", t, sizeof(t)) < 0 || !take_token(u, t))
        return send_page(req, 403,
                         "Inloggningslänken är redan använd, för gammal eller felaktig. Kör "
                         "<code>kortnod ui</code> igen för en ny länk.",
                         "The login link was used already, is too old, or is wrong. Run "
                         "<code>kortnod ui</code> again for a new link.");
    /* A free slot, or the one that ends first. */
    struct session *s = &u->sessions[0];
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        if (u->sessions[i].expires_ms < s->expires_ms)
            s = &u->sessions[i];
    uint8_t csrf[32];
    randombytes_buf(s->id, sizeof(s->id));
    randombytes_buf(csrf, sizeof(csrf));
    store_hex(csrf, sizeof(csrf), s->csrf);
    s->expires_ms = node_now_ms() + UI_SESSION_TTL_MS;
    char hex[65], cookie[160];
    store_hex(s->id, sizeof(s->id), hex);
    int len = snprintf(cookie, sizeof(cookie),
                       COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%llu", hex,
                       (unsigned long long)(UI_SESSION_TTL_MS / 1000));
    h2o_iovec_t c = h2o_strdup(&req->pool, cookie, (size_t)len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, c.base, c.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, H2O_STRLIT("/"));
    return send_body(req, 303, "text/plain; charset=utf-8", H2O_STRLIT("logged in\n"));
}

/* ---- the API ---- */

static int api_session(struct ui *u, h2o_req_t *req, struct session *s)
{
    char id[STORE_ID_HEX_LEN + 1], office[65] = "";
    struct store_trust t;
    store_hex(u->n->id.pk, STORE_KEY_LEN, id);
    if (store_trust_node(u->n->store, u->n->id.pk, &t) == 0)
        snprintf(office, sizeof(office), "%s", t.office);
    return send_json(req, 200,
                     json_pack("{s:{s:s,s:s,s:s,s:s},s:s}", "node", "id", id, "name", u->n->name,
                               "role", u->n->role, "office", office, "csrf", s->csrf));
}

static int api_status(struct ui *u, h2o_req_t *req)
{
    json_t *live = u->live ? u->live(u->live_data) : NULL, *doc = NULL;
    int r = node_status_doc(u->n, live, &doc);
    if (r == 0 && live && json_object_get(live, "reader"))
        json_object_set(doc, "reader", json_object_get(live, "reader"));
    else if (r == 0)
        json_object_set_new(doc, "reader", json_null());
    json_decref(live);
    return r < 0 ? send_error(req, 500, kn_strerror(r)) : send_json(req, 200, doc);
}

static int api_report(struct ui *u, h2o_req_t *req, const char *name)
{
    char office[80], state[40], month[16], format[8], match[80], limit[16];
    struct store_report_args a = { .now_ms = node_now_ms() };
    struct {
        const char *name;
        char *buf;
        size_t size;
        const char **to;
    } params[] = {
        { "office", office, sizeof(office), &a.office },
        { "state", state, sizeof(state), &a.state },
        { "month", month, sizeof(month), &a.month },
        { "match", match, sizeof(match), &a.match },
        { "limit", limit, sizeof(limit), NULL },
        { "format", format, sizeof(format), NULL },
    };
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        int r = query_param(req, params[i].name, params[i].buf, params[i].size);
        if (r != 0)
            params[i].buf[0] = '\0';
        if (r == -2)
            return send_error(req, 400,
                              "a query parameter too long, or not only letters, digits, "
                              "'-', '_' and '.'");
        if (r == 0 && params[i].to)
            *params[i].to = params[i].buf;
    }
    if (*limit && node_parse_limit(limit, &a.limit) < 0)
        return send_error(req, 400, "limit is a number from 1 to 100000");
    bool csv = !strcmp(format, "csv");
    char *body = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    int r = node_report_doc(u->n, name, &a, csv ? &body : NULL, &len, &doc);
    if (r == KN_EINVAL)
        return send_error(req, 400, "no such report, or a month that is not YYYY-MM");
    if (r < 0)
        return send_error(req, 500, kn_strerror(r));
    if (!csv)
        return send_json(req, 200, doc);
    char disp[96];
    int dl = snprintf(disp, sizeof(disp), "attachment; filename=\"kortnod-%s%s%s.csv\"", name,
                      a.month ? "-" : "", a.month ? a.month : "");
    h2o_iovec_t d = h2o_strdup(&req->pool, disp, (size_t)dl);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-disposition"), 0, NULL,
                          d.base, d.len);
    r = send_body(req, 200, "text/csv; charset=utf-8", body, len);
    free(body);
    return r;
}

static int api_step(struct ui *u, h2o_req_t *req, const char *type)
{
    json_error_t jerr;
    char reason[256] = "", err[200];
    if (req->entity.len > MAX_BODY)
        return send_error(req, 413, "the request is too large");
    json_t *body = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len,
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        return send_error(req, 400, "the body is not a JSON object");
    }
    /* What a card reader says is the daemon's to fill in, never the page's. */
    static const char *const reader_fields[] = { "read_by_reader", "chip", "atr", "hsa_id_checked",
                                                 NULL };
    for (const char *const *f = reader_fields; *f; f++)
        if (json_object_get(body, *f)) {
            json_decref(body);
            return send_error(req, 400,
                              "a card reader's fields come from the reader: send "
                              "from_reader instead");
        }
    json_t *from_reader = json_object_get(body, "from_reader");
    if (from_reader && (!json_is_boolean(from_reader) || strcmp(type, "handover.completed"))) {
        json_decref(body);
        return send_error(req, 400, "from_reader is true or false, on handover.completed only");
    }
    if (json_is_true(from_reader)) {
        const char *order = json_string_value(json_object_get(body, "order"));
        int rr = order && u->reader ? u->reader(u->live_data, order, body, reason, sizeof(reason))
                                    : KN_EREFUSED;
        if (rr < 0) {
            json_decref(body);
            return send_json(
                req, 409,
                json_pack("{s:s}", "error", reason[0] ? reason : "no card reader is watched here"));
        }
    }
    json_object_del(body, "from_reader");
    int r = node_step_json(u->n, type, body, reason, sizeof(reason), err, sizeof(err));
    json_decref(body);
    if (r == KN_EREFUSED)
        return send_json(req, 409, json_pack("{s:s}", "error", reason));
    if (r == KN_EINVAL || r == KN_EJSON)
        return send_error(req, 400, err);
    if (r < 0)
        return send_error(req, 500, kn_strerror(r));
    return send_json(req, 200, json_pack("{s:b,s:I}", "ok", 1, "seq", (json_int_t)r));
}

/*
 * A sealed bundle to save on a USB stick: what the hub lacks as far as this node knows (the
 * hub's clock from the last contact or bundle), or everything when that is not known, sealed
 * with the network key (node/sealed_bundle.c), as a download.
 */
static int api_bundle(struct ui *u, h2o_req_t *req)
{
    char sealed[4200], name[96], hubhex[STORE_ID_HEX_LEN + 1], forhex[STORE_ID_HEX_LEN + 1];
    uint8_t netkey[32], hub[STORE_KEY_LEN];
    json_t *since = NULL;
    uint64_t count = 0;
    /* for=NODEID: a file for that node (the hub's page, one per computer); else for the hub. */
    int r = query_param(req, "for", forhex, sizeof(forhex));
    if (r == -2 || (r == 0 && (strlen(forhex) != STORE_ID_HEX_LEN ||
                               store_unhex(forhex, hub, STORE_KEY_LEN) < 0)))
        return send_error(req, 400, "for is a node id: 64 hex digits");
    bool for_node = r == 0;
    if ((r = node_netkey_load(u->n, netkey)) < 0)
        return send_error(req, 500, "no network key on this node");
    /* That node's clock as this node's record of links has it (kortnod status): what it lacks.
     * Unknown: everything. */
    if (for_node || (store_meta_get(u->n->store, "hub", hubhex, sizeof(hubhex)) == 0 &&
                     store_unhex(hubhex, hub, STORE_KEY_LEN) == 0))
        since = node_link_clock(u->n, hub);
    snprintf(sealed, sizeof(sealed), "%s/.bundle-ui-%d.sealed", u->n->dir, (int)getpid());
    r = node_bundle_export(u->n, netkey, since, sealed, &count);
    sodium_memzero(netkey, sizeof(netkey));
    json_decref(since);
    if (r < 0) {
        unlink(sealed);
        return send_error(req, 500, kn_strerror(r));
    }
    char month[16];
    store_month(node_now_ms(), month);
    char who[16] = "";
    if (for_node)
        snprintf(who, sizeof(who), "for-%.8s-", forhex);
    int nl = snprintf(name, sizeof(name), "attachment; filename=\"kortnod-bundle-%s%s.knb\"", who,
                      month);
    h2o_iovec_t d = h2o_strdup(&req->pool, name, (size_t)nl);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-disposition"), 0, NULL,
                          d.base, d.len);
    char n_entries[32];
    int cl = snprintf(n_entries, sizeof(n_entries), "%llu", (unsigned long long)count);
    h2o_iovec_t c = h2o_strdup(&req->pool, n_entries, (size_t)cl);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-kortnod-entries"), 0, NULL,
                          c.base, c.len);
    security_headers(req);
    /* Sent from the file in pieces, never whole in memory (a hub's file for a node that never
     * said its clock is the whole log). h2o holds the file open (no file cache: ui_start), so it
     * is unlinked at once and its space freed when the answer is sent. */
    r = h2o_file_send(req, 200, "OK", sealed,
                      h2o_iovec_init(H2O_STRLIT("application/octet-stream")),
                      H2O_FILE_FLAG_NO_ETAG);
    unlink(sealed);
    if (r != 0) {
        req->res.headers = (h2o_headers_t){ NULL, 0, 0 };
        return send_error(req, 500, "cannot send the bundle");
    }
    return 0;
}

/* ---- the handler ---- */

/* The request's pool is being freed: the client is gone (or the answer was sent). */
static void on_req_disposed(void *p)
{
    struct import_job **slot = p;
    if (*slot) {
        (*slot)->req = NULL;
        (*slot)->slot = NULL;
    }
}

static void on_job_closed(uv_handle_t *h)
{
    struct import_job *j = h->data;
    if (--j->open > 0)
        return;
    free(j);
}

/* Both the child's end and its output's end have come: answer, clean up. */
static void job_finish(struct import_job *j)
{
    if (!j->exited || !j->eof)
        return;
    unlink(j->path);
    j->text[j->len] = '\0';
    if (j->req) {
        json_t *lines = json_array();
        for (char *line = strtok(j->text, "\n"); line; line = strtok(NULL, "\n")) {
            /* The temporary file's name means nothing to the person who chose the file. */
            char shown[sizeof(j->text) + 16], *at = strstr(line, j->path);
            if (at)
                snprintf(shown, sizeof(shown), "%.*sthe file%s", (int)(at - line), line,
                         at + strlen(j->path));
            json_t *str = json_string(at ? shown : line);
            json_array_append_new(lines, str ? str : json_string("(not UTF-8)"));
        }
        /* A refusal's reason is the line that says kortnod refused, else the first line. */
        json_t *why = json_array_get(lines, 0), *x;
        size_t i;
        json_array_foreach (lines, i, x)
            if (!strncmp(json_string_value(x), "kortnod: ", 9))
                why = x;
        json_t *doc = j->status == 0 ? json_pack("{s:b,s:o}", "ok", 1, "output", lines)
                                     : json_pack("{s:s,s:o}", "error",
                                                 why ? json_string_value(why) : "the import failed",
                                                 "output", lines);
        *j->slot = NULL; /* the pool may outlive the job */
        j->slot = NULL;
        send_json(j->req, j->status == 0 ? 200 : 409, doc);
        j->req = NULL;
    }
    j->u->job = NULL; /* one file at a time: this one */
    uv_close((uv_handle_t *)&j->proc, on_job_closed);
    uv_close((uv_handle_t *)&j->out, on_job_closed);
}

static void on_job_exit(uv_process_t *p, int64_t status, int sig)
{
    struct import_job *j = p->data;
    j->status = sig ? 128 + sig : status;
    j->exited = true;
    job_finish(j);
}

static void on_job_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct import_job *j = h->data;
    (void)hint;
    size_t room = sizeof(j->text) - 1 - j->len;
    static char sink[512]; /* past the room: read and dropped */
    *buf = room ? uv_buf_init(j->text + j->len, (unsigned)room) : uv_buf_init(sink, sizeof(sink));
}

static void on_job_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct import_job *j = s->data;
    if (n > 0 && buf->base == j->text + j->len)
        j->len += (size_t)n;
    if (n < 0) {
        uv_read_stop(s);
        j->eof = true;
        job_finish(j);
    }
}

/* POST /api/bundle/import: the body is a sealed bundle (docs/api.md). */
static int api_import(struct ui *u, h2o_req_t *req)
{
    if (req->entity.len == 0)
        return send_error(req, 400, "no file: the body is the sealed bundle");
    if (req->entity.len > MAX_IMPORT)
        return send_error(req, 413, "the file is larger than 64 MiB: use kortnod bundle import");
    if (u->job)
        return send_error(req, 409, "another file is being read in; try again in a moment");
    if (!u->self[0])
        return send_error(req, 500, "this program's path is not known (/proc/self/exe)");
    struct import_job *j = kn_xcalloc(1, sizeof(*j));
    j->u = u;
    snprintf(j->path, sizeof(j->path), "%s/.ui-import-XXXXXX", u->n->dir);
    int fd = mkstemp(j->path); /* mode 0600 */
    size_t done = 0;
    while (fd >= 0 && done < req->entity.len) {
        ssize_t w = write(fd, req->entity.base + done, req->entity.len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (fd < 0 || done < req->entity.len || close(fd) < 0) {
        int e = errno;
        if (fd >= 0)
            unlink(j->path);
        free(j);
        return send_error(req, 500, strerror(e));
    }
    /* One pipe for both stdout and stderr, so that the lines keep their order. */
    char *argv[] = { u->self, "--data", u->n->dir, "bundle", "import", j->path, NULL };
    uv_file fds[2];
    int r = uv_pipe(fds, UV_NONBLOCK_PIPE, 0);
    if (r < 0) {
        unlink(j->path);
        free(j);
        return send_error(req, 500, uv_strerror(r));
    }
    uv_stdio_container_t stdio[3] = {
        { .flags = UV_IGNORE },
        { .flags = UV_INHERIT_FD, .data.fd = fds[1] },
        { .flags = UV_INHERIT_FD, .data.fd = fds[1] },
    };
    uv_process_options_t o = {
        .file = u->self, .args = argv, .exit_cb = on_job_exit, .stdio_count = 3, .stdio = stdio
    };
    uv_pipe_init(u->loop, &j->out, 0);
    j->out.data = j;
    j->proc.data = j;
    r = uv_spawn(u->loop, &j->proc, &o);
    close(fds[1]);
    if (r == 0)
        r = uv_pipe_open(&j->out, fds[0]);
    else
        close(fds[0]);
    if (r < 0) {
        unlink(j->path);
        j->open = 1;
        uv_close((uv_handle_t *)&j->out, on_job_closed);
        return send_error(req, 500, uv_strerror(r));
    }
    j->open = 2;
    uv_read_start((uv_stream_t *)&j->out, on_job_alloc, on_job_read);
    struct import_job **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), on_req_disposed);
    *slot = j;
    j->slot = slot;
    j->req = req;
    u->job = j;
    return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct ui *u = ((struct ui_handler *)self)->u;
    bool get = iov_eq(req->method, "GET") || iov_eq(req->method, "HEAD");
    bool post = iov_eq(req->method, "POST");
    char path[256];
    size_t plen = req->path_normalized.len;
    if (plen >= sizeof(path))
        return send_error(req, 404, "no such page");
    memcpy(path, req->path_normalized.base, plen);
    path[plen] = '\0';

    const char *refused = gate(u, req);
    if (refused)
        return send_error(req, 403, refused);
    if (!strcmp(path, "/login"))
        return get ? login(u, req) : send_error(req, 405, "GET only");
    struct session *s = session_of(u, req);
    bool api = !strncmp(path, "/api/", 5);
    if (!s)
        return api ? send_error(req, 401, "not logged in: open the page with kortnod ui")
                   : send_page(req, 401,
                               "Du är inte inloggad. Öppna sidan med kommandot <code>kortnod "
                               "ui</code> på den här datorn.",
                               "You are not logged in. Open the page with the command "
                               "<code>kortnod ui</code> on this computer.");
    if (!get && !post)
        return send_error(req, 405, "GET or POST only");
    if (post) {
        /* CSRF: only a page of this origin that read /api/session knows the token. */
        h2o_iovec_t token = header(req, "x-csrf-token");
        if (token.len != 64 || sodium_memcmp(token.base, s->csrf, 64) != 0)
            return send_error(req, 403, "missing or wrong CSRF token");
    }
    if (!api) {
        for (const struct ui_asset *a = ui_assets; a->path; a++)
            if (!strcmp(a->path, path))
                return get ? send_body(req, 200, a->type, (const char *)a->data, a->len)
                           : send_error(req, 405, "GET only");
        return send_error(req, 404, "no such page");
    }
    if (get && !strcmp(path, "/api/session"))
        return api_session(u, req, s);
    if (get && !strcmp(path, "/api/status"))
        return api_status(u, req);
    if (get && !strcmp(path, "/api/steps"))
        return send_json(req, 200, node_steps_doc());
    if (get && !strcmp(path, "/api/bundle"))
        return api_bundle(u, req);
    if (get && !strncmp(path, "/api/report/", 12))
        return api_report(u, req, path + 12);
    if (post && !strncmp(path, "/api/step/", 10))
        return api_step(u, req, path + 10);
    if (post && !strcmp(path, "/api/bundle/import"))
        return api_import(u, req);
    return send_error(req, 404, "no such API call");
}

/* ---- the server ---- */

static void on_conn_closed(uv_handle_t *h)
{
    free(h);
}

static void on_accept(uv_stream_t *listener, int status)
{
    struct ui *u = listener->data;
    if (status < 0 || u->stopping)
        return;
    uv_tcp_t *conn = kn_xmalloc(sizeof(*conn));
    uv_tcp_init(u->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) < 0) {
        uv_close((uv_handle_t *)conn, on_conn_closed);
        return;
    }
    h2o_accept(&u->accept, h2o_uv_socket_create((uv_stream_t *)conn, on_conn_closed));
}

static void on_start_failed(uv_handle_t *h)
{
    free(h->data);
}

int ui_start(uv_loop_t *loop, struct node *n, const char *host, int port, ui_live_fn live,
             ui_reader_fn reader, void *data, struct ui **out, char *why, size_t why_size)
{
    struct sockaddr_in addr;
    int r;
    *out = NULL;
    if (strncmp(host, "127.", 4) != 0) {
        snprintf(why, why_size, "the web interface listens on 127.0.0.1 only, not on %s", host);
        return KN_EINVAL;
    }
    if ((r = uv_ip4_addr(host, port, &addr)) < 0) {
        snprintf(why, why_size, "%s:%d: %s", host, port, uv_strerror(r));
        return r;
    }
    struct ui *u = kn_xcalloc(1, sizeof(*u));
    u->loop = loop;
    u->n = n;
    u->live = live;
    u->reader = reader;
    u->live_data = data;
    snprintf(u->url, sizeof(u->url), "http://%s:%d/", host, port);
    node_self_path(u->self, sizeof(u->self)); /* empty if unknown: api_import says so */
    snprintf(u->hosts[0], sizeof(u->hosts[0]), "%s:%d", host, port);
    snprintf(u->hosts[1], sizeof(u->hosts[1]), "localhost:%d", port);
    snprintf(u->origins[0], sizeof(u->origins[0]), "http://%s:%d", host, port);
    snprintf(u->origins[1], sizeof(u->origins[1]), "http://localhost:%d", port);
    uv_tcp_init(loop, &u->listener);
    u->listener.data = u;
    if ((r = uv_tcp_bind(&u->listener, (const struct sockaddr *)&addr, 0)) < 0 ||
        (r = uv_listen((uv_stream_t *)&u->listener, 64, on_accept)) < 0) {
        snprintf(why, why_size, "cannot listen on %s:%d: %s", host, port, uv_strerror(r));
        uv_close((uv_handle_t *)&u->listener, on_start_failed);
        return r;
    }
    h2o_config_init(&u->config);
    u->config.http1.req_timeout = REQ_TIMEOUT;
    u->config.http2.idle_timeout = REQ_TIMEOUT;
    /* The import takes a file; every other POST checks MAX_BODY itself. */
    u->config.max_request_entity_size = MAX_IMPORT;
    u->config.filecache.capacity = 0; /* files sent (bundles) are unlinked as soon as opened */
    h2o_hostconf_t *hc =
        h2o_config_register_host(&u->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
    struct ui_handler *h = (struct ui_handler *)h2o_create_handler(pc, sizeof(*h));
    h->super.on_req = on_req;
    h->u = u;
    h2o_context_init(&u->ctx, loop, &u->config);
    u->accept.ctx = &u->ctx;
    u->accept.hosts = u->config.hosts;
    uv_timer_init(loop, &u->wait);
    u->wait.data = u;
    *out = u;
    return 0;
}

const char *ui_url(const struct ui *u)
{
    return u->url;
}

static void on_released(uv_handle_t *h)
{
    struct ui *u = h->data;
    h2o_config_dispose(&u->config);
    free(u);
}

/* The context's own timers are closed now: the struct they live in can go at the next turn. */
static void on_disposed(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, on_released);
}

static void on_wait(uv_timer_t *t)
{
    struct ui *u = t->data;
    if (u->job || !h2o_linklist_is_empty(&u->ctx.http1._conns) ||
        !h2o_linklist_is_empty(&u->ctx.http2._conns))
        return;
    /* request_shutdown armed HTTP/2's graceful-shutdown timer even with no HTTP/2 connection;
     * disposing the context with it armed aborts (h2o 2.2). */
    if (h2o_timeout_is_linked(&u->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&u->ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&u->ctx);
    uv_timer_stop(t);
    uv_timer_start(t, on_disposed, 0, 0);
}

void ui_stop(struct ui *u)
{
    if (!u || u->stopping)
        return;
    u->stopping = true;
    uv_close((uv_handle_t *)&u->listener, NULL);
    h2o_context_request_shutdown(&u->ctx);
    uv_timer_start(&u->wait, on_wait, 0, 50);
}
