/* A plugin that records every call: it appends one line per invocation to
 * the file named by its configuration key `file`,
 *
 *     <event id> <received, unix µs> <data.sent_us or 0> <node or ->\n
 *
 * where the event id is the `"id":"..."` of the JSON body (an event as the
 * gateway delivers it), `sent_us` is a number the publisher may put in the
 * event's data, and `node` is the configuration key `node`. Each line is one
 * write(2) on a file opened with O_APPEND, so processes appending to the same
 * file never interleave within a line.
 *
 * With the configuration key `fail` set to `1` it records the call and then
 * fails it (status internal): a target that keeps failing.
 *
 * The name is "recorder" unless RECORDER_NAME is defined before this text. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flexcore.h"

#ifndef RECORDER_NAME
#define RECORDER_NAME "recorder"
#endif

typedef struct recorder {
    int fd;
    int fail;
    char node[65];
} recorder;

/* Copies config value `key` into out (NUL-terminated, at most size - 1 bytes). */
static int config_copy(const flexcore_host *host, const char *key, char *out, size_t size) {
    const char *value = NULL;
    size_t len = 0;
    if (!host->config_get(host->host_data, key, strlen(key), &value, &len) || len >= size) {
        return 0;
    }
    memcpy(out, value, len);
    out[len] = '\0';
    return 1;
}

static flexcore_status recorder_init(const flexcore_host *host, void **instance) {
    char path[4096];
    if (!config_copy(host, "file", path, sizeof path)) {
        return FLEXCORE_STATUS_INVALID_INPUT;
    }
    recorder *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return FLEXCORE_STATUS_INTERNAL;
    }
    self->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (self->fd < 0) {
        free(self);
        return FLEXCORE_STATUS_INTERNAL;
    }
    char fail[8];
    self->fail = config_copy(host, "fail", fail, sizeof fail) && strcmp(fail, "1") == 0;
    if (!config_copy(host, "node", self->node, sizeof self->node)) {
        strcpy(self->node, "-");
    }
    *instance = self;
    return FLEXCORE_STATUS_OK;
}

/* Where `needle` starts in body, or NULL. */
static const char *find(const uint8_t *body, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(body + i, needle, n) == 0) {
            return (const char *)body + i;
        }
    }
    return NULL;
}

static flexcore_status recorder_invoke(void *instance, const flexcore_request *request,
                                       flexcore_response *response) {
    const recorder *self = instance;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned long long received_us =
        (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000ULL;

    const uint8_t *body = request->body;
    size_t len = request->body == NULL ? 0 : request->body_len;
    const uint8_t *end = body + len;

    char id[128] = "?";
    const char *at = find(body, len, "\"id\":\"");
    if (at != NULL) {
        at += 6;
        size_t n = 0;
        while ((const uint8_t *)at + n < end && at[n] != '"' && n < sizeof id - 1) {
            n++;
        }
        memcpy(id, at, n);
        id[n] = '\0';
    }
    unsigned long long sent_us = 0;
    at = find(body, len, "\"sent_us\":");
    if (at != NULL) {
        at += 10;
        while ((const uint8_t *)at < end && *at >= '0' && *at <= '9') {
            sent_us = sent_us * 10 + (unsigned long long)(*at - '0');
            at++;
        }
    }

    char line[320];
    int n = snprintf(line, sizeof line, "%s %llu %llu %s\n", id, received_us, sent_us, self->node);
    if (n < 0 || (size_t)n >= sizeof line || write(self->fd, line, (size_t)n) != n) {
        return FLEXCORE_STATUS_INTERNAL;
    }
    if (self->fail) {
        response->error_message = "recorded, and failing as configured";
        response->error_message_len = strlen(response->error_message);
        return FLEXCORE_STATUS_INTERNAL;
    }
    response->body = (const uint8_t *)"ok";
    response->body_len = 2;
    return FLEXCORE_STATUS_OK;
}

static void recorder_free_response(void *instance, flexcore_response *response) {
    (void)instance;
    (void)response; /* everything it points to is static */
}

static void recorder_shutdown(void *instance) {
    recorder *self = instance;
    close(self->fd);
    free(self);
}

static const flexcore_plugin DESCRIPTOR = {
    .struct_size = sizeof(flexcore_plugin),
    .abi_major = FLEXCORE_ABI_MAJOR,
    .abi_minor = FLEXCORE_ABI_MINOR,
    .name = RECORDER_NAME,
    .version = "1.0.0",
    .description = "Records the id of every event it receives in a file",
    .flags = FLEXCORE_FLAG_THREAD_SAFE,
    .init = recorder_init,
    .invoke = recorder_invoke,
    .free_response = recorder_free_response,
    .shutdown = recorder_shutdown,
};

FLEXCORE_EXPORT const flexcore_plugin *flexcore_plugin_entry_v1(uint16_t host_abi_major,
                                                                uint16_t host_abi_minor) {
    (void)host_abi_minor;
    return host_abi_major == FLEXCORE_ABI_MAJOR ? &DESCRIPTOR : NULL;
}
