/* SPDX-License-Identifier: MIT */
#ifndef KN_UI_H
#define KN_UI_H

/*
 * The web interface: the administrators' and the hub's page and its JSON API, served by the
 * daemon from its own libuv loop with H2O (libh2o, built on libuv), on 127.0.0.1 only
 * (docs/api.md). A browser gets in only by a one-time login link (`kortnod ui`), then by a
 * session cookie; every state-changing request carries the session's CSRF token, and requests
 * from another origin or naming another host are refused.
 */

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "node.h"

#define UI_DEFAULT_PORT   7180
#define UI_LOGIN_FILE     "ui-login" /* DATA/ui-login: the pending one-time token's hash */
#define UI_LOGIN_TTL_MS   (10 * 60 * 1000ull)
#define UI_SESSION_TTL_MS (12 * 3600 * 1000ull)

/* A file of the page, built into the binary (node/ui/embed.py); ended by { NULL }. */
struct ui_asset {
    const char *path; /* "/", "/app.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};
extern const struct ui_asset ui_assets[];

/*
 * ui_live_fn - the daemon's live view, the document status.json holds (peers, lan, reader), as
 * a new reference; NULL when there is none.
 */
typedef json_t *(*ui_live_fn)(void *data);

/*
 * ui_reader_fn - fill body (a hand-over of order) from the card in a reader that matches order,
 * as `handover complete --from-reader` does; KN_EREFUSED with the reason in err when no card in
 * a reader is that order's.
 */
typedef int (*ui_reader_fn)(void *data, const char *order, json_t *body, char *err,
                            size_t err_size);

struct ui;

/*
 * ui_start() - serve the interface on host:port (host must be a 127.x address) from loop, for
 * node n. Returns 0 with *out, or a negative code with the reason in why.
 */
int ui_start(uv_loop_t *loop, struct node *n, const char *host, int port, ui_live_fn live,
             ui_reader_fn reader, void *data, struct ui **out, char *why, size_t why_size);

/* ui_url() - "http://127.0.0.1:PORT/" of a running interface. */
const char *ui_url(const struct ui *u);

/*
 * ui_stop() - stop accepting, ask open connections to end (an idle one at once, one in the
 * middle of a request within the request timeout, 3 s), then release everything; the loop runs
 * until that is done. Accepts NULL.
 */
void ui_stop(struct ui *u);

/*
 * ui_login_token() - a new one-time login token for the node in dir: its BLAKE2b hash and expiry
 * go into DATA/ui-login (mode 0600, replacing an earlier one), the token itself (64 hex digits)
 * into token_hex. The daemon takes it once, within UI_LOGIN_TTL_MS.
 */
int ui_login_token(struct node *n, char token_hex[65]);

#endif
