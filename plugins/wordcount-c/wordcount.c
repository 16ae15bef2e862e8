/*
 * wordcount.c — a FlexCore plugin written in plain C against flexcore.h.
 *
 * It counts the bytes, words and lines of the request body and answers
 * {"bytes":N,"words":N,"lines":N} as application/json.
 *   - words are runs of bytes other than ASCII whitespace (space, \t, \n,
 *     \v, \f, \r), as `wc -w` counts them in the C locale;
 *   - lines are the lines of text: every '\n' ends one, and a last line
 *     without a trailing '\n' counts too (so "a" is 1 line, "a\n" is 1,
 *     "" is 0).
 *
 * Build: make -C plugins/wordcount-c OUT=<dir>   (gives <dir>/libwordcount.so)
 *
 * It shows the whole ABI with nothing hidden by an SDK: a static descriptor,
 * init keeping the host table, invoke filling a malloc'd response, and
 * free_response / shutdown releasing what this library allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "flexcore.h"

/* The plugin's state. Owned by this library: created by init, freed by
 * shutdown. invoke only reads it, so concurrent calls are safe. */
typedef struct wordcount {
    const flexcore_host *host; /* owned by the host, valid until shutdown */
} wordcount;

static const char CONTENT_TYPE[] = "application/json";
static const char OUT_OF_MEMORY[] = "wordcount: out of memory";

/* Whether the host's table is new enough to hold `log` (structs are
 * append-only: never read a field beyond the struct_size the host declared). */
static int host_has_log(const flexcore_host *host) {
    return host != NULL &&
           host->struct_size >= offsetof(flexcore_host, log) + sizeof host->log &&
           host->log != NULL;
}

static void log_info(const wordcount *self, const char *message, size_t len) {
    if (self != NULL && host_has_log(self->host)) {
        self->host->log(self->host->host_data, FLEXCORE_LOG_INFO, message, len);
    }
}

static int is_space(uint8_t byte) {
    return byte == ' ' || (byte >= '\t' && byte <= '\r'); /* \t \n \v \f \r */
}

static flexcore_status wordcount_init(const flexcore_host *host, void **instance) {
    wordcount *self = malloc(sizeof *self);
    if (self == NULL) {
        return FLEXCORE_STATUS_INTERNAL;
    }
    self->host = host;
    *instance = self; /* ours until shutdown */
    static const char ready[] = "wordcount ready";
    log_info(self, ready, sizeof ready - 1);
    return FLEXCORE_STATUS_OK;
}

static flexcore_status wordcount_invoke(void *instance, const flexcore_request *request,
                                        flexcore_response *response) {
    (void)instance;
    /* request->body is borrowed for this call only; we keep no pointer into it. */
    const uint8_t *body = request->body;
    size_t len = request->body_len;

    size_t words = 0, lines = 0;
    int in_word = 0;
    for (size_t i = 0; i < len; i++) {
        if (body[i] == '\n') {
            lines++;
        }
        if (is_space(body[i])) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    if (len > 0 && body[len - 1] != '\n') {
        lines++;
    }

    /* Three size_t of at most 20 digits each, plus the punctuation. */
    enum { CAPACITY = 128 };
    char *out = malloc(CAPACITY);
    if (out == NULL) {
        /* A static string: free_response must not free it, and does not. */
        response->error_message = OUT_OF_MEMORY;
        response->error_message_len = sizeof OUT_OF_MEMORY - 1;
        return FLEXCORE_STATUS_INTERNAL;
    }
    int written = snprintf(out, CAPACITY, "{\"bytes\":%zu,\"words\":%zu,\"lines\":%zu}",
                           len, words, lines);
    if (written < 0 || written >= CAPACITY) {
        free(out);
        return FLEXCORE_STATUS_INTERNAL;
    }

    /* The body is malloc'd here and owned by this library until the host
     * passes the response to free_response; the content type is static. */
    response->body = (const uint8_t *)out;
    response->body_len = (size_t)written;
    response->content_type = CONTENT_TYPE;
    response->content_type_len = sizeof CONTENT_TYPE - 1;
    return FLEXCORE_STATUS_OK;
}

static void wordcount_free_response(void *instance, flexcore_response *response) {
    (void)instance;
    /* Only the body was allocated (NULL after a failure; free(NULL) is a
     * no-op); the content type and error message are static. */
    free((void *)response->body);
    response->body = NULL;
    response->body_len = 0;
}

static void wordcount_shutdown(void *instance) {
    free(instance); /* no call for this instance follows */
}

static const flexcore_plugin DESCRIPTOR = {
    .struct_size = sizeof(flexcore_plugin),
    .abi_major = FLEXCORE_ABI_MAJOR,
    .abi_minor = FLEXCORE_ABI_MINOR,
    .name = "wordcount",
    .version = "1.0.0",
    .description = "Counts the bytes, words and lines of the request body",
    .flags = FLEXCORE_FLAG_THREAD_SAFE,
    .init = wordcount_init,
    .invoke = wordcount_invoke,
    .free_response = wordcount_free_response,
    .shutdown = wordcount_shutdown,
};

/* The one exported symbol. The descriptor is static: owned by this library and
 * valid for the life of the process. */
FLEXCORE_EXPORT const flexcore_plugin *flexcore_plugin_entry_v1(uint16_t host_abi_major,
                                                                uint16_t host_abi_minor) {
    (void)host_abi_minor; /* the host refuses a plugin newer than itself */
    if (host_abi_major != FLEXCORE_ABI_MAJOR) {
        return NULL;
    }
    return &DESCRIPTOR;
}
