/* SPDX-License-Identifier: MIT */
/*
 * The JSON bodies of steps (node/json.c), as the web API's POST /api/step/TYPE and
 * `log append --body` take them: node_payload_from_json() over any text. Each input is either
 * refused as JSON or as too large, with a message and nothing returned, or turned into one
 * canonical msgpack payload that store_payload_check() accepts and that comes back the same,
 * byte for byte, through node_payload_to_json() and node_payload_from_json() again (the
 * canonical form is a fixed point: keys in byte order, shortest integers).
 */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "kn.h"
#include "node.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[256], err2[256];
    uint8_t *payload = NULL, *again = NULL;
    size_t len = 0, len2 = 0;

    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0'; /* a NUL inside ends the text, as it would end a C string body */
    err[0] = '\0';
    int r = node_payload_from_json(text, &payload, &len, err, sizeof(err));
    if (r < 0) {
        /* Only JSON itself or the size can be wrong: what the packer makes is always canonical. */
        FUZZ_CHECK(r == KN_EJSON || r == KN_ETOOBIG);
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(payload == NULL && len == 0);
        free(text);
        return 0;
    }
    FUZZ_CHECK(r == 0 && payload != NULL && len > 0 && len <= STORE_MAX_PAYLOAD);
    FUZZ_CHECK(store_payload_check(payload, len) == 0);
    json_t *v = node_payload_to_json(payload, len);
    FUZZ_CHECK(v != NULL);
    char *back = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    FUZZ_CHECK(back != NULL);
    /* JSON gives no bin and no integer above INT64_MAX, the two values node_payload_to_json()
     * writes in another form: whatever came from JSON goes back exactly. */
    r = node_payload_from_json(back, &again, &len2, err2, sizeof(err2));
    FUZZ_CHECK(r == 0);
    FUZZ_CHECK(len2 == len && memcmp(again, payload, len) == 0);
    free(again);
    free(back);
    json_decref(v);
    free(payload);
    free(text);
    return 0;
}
