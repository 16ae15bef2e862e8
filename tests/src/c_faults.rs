//! A C plugin that misbehaves on request, for the isolation tests: its body
//! names the fault (`segv`, `abort`, `exit`, `spin`, `sleep`, `bomb`,
//! `garbage`, `slow:<ms>`), and any other body is echoed back. It is built
//! as a user would build it: one C file against `flexcore.h`, flag
//! `THREAD_SAFE`, no `MAY_BLOCK`. Compile it with
//! [`compile_c`](crate::compile_c) under any name.

/// The source of the faulty plugin named `name`.
pub fn source(name: &str) -> String {
    format!("#define PLUGIN_NAME \"{name}\"\n{TEMPLATE}")
}

/// Compiles the faulty plugin named `name` into `dir` (as `{name}.so`).
pub fn compile(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    crate::compile_c(dir, name, &source(name))
}

const TEMPLATE: &str = r#"
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "flexcore.h"

static int is(const flexcore_request *req, const char *word) {
    size_t n = strlen(word);
    return req->body_len == n && memcmp(req->body, word, n) == 0;
}

static flexcore_status plugin_invoke(void *instance, const flexcore_request *req,
                                     flexcore_response *resp) {
    (void)instance;
    if (is(req, "segv")) {
        volatile int *null = NULL;
        *null = 1;
    } else if (is(req, "abort")) {
        abort();
    } else if (is(req, "exit")) {
        exit(3);
    } else if (is(req, "spin")) {
        for (volatile unsigned long i = 0;; i++) {
        }
    } else if (is(req, "sleep")) {
        for (;;) {
            sleep(1000);
        }
    } else if (is(req, "bomb")) {
        /* Allocate and touch memory until the allocator gives up, then use
           what it gave back, as careless code does. */
        for (;;) {
            char *block = malloc(16 << 20);
            memset(block, 1, 16 << 20);
        }
    } else if (is(req, "garbage")) {
        for (int i = 0; i < 64; i++) {
            fputs("\x01\xff garbage \x1b[31m no newline", stdout);
            fputs("\xfe\xfd\n\n\x00 more garbage", stderr);
        }
        fflush(stdout);
        fflush(stderr);
        if (write(1, "\0\0\0\xff\xff\xff\xff", 7) < 0 || write(2, "\xff\xff\xff\xff\0\0\0", 7) < 0) {
            return FLEXCORE_STATUS_INTERNAL;
        }
    } else if (req->body_len > 5 && memcmp(req->body, "slow:", 5) == 0) {
        char digits[16] = {0};
        size_t n = req->body_len - 5 < 15 ? req->body_len - 5 : 15;
        memcpy(digits, req->body + 5, n);
        usleep((useconds_t)atoi(digits) * 1000);
    }
    if (req->body_len > 0) {
        uint8_t *copy = malloc(req->body_len);
        if (copy == NULL) {
            return FLEXCORE_STATUS_UNAVAILABLE;
        }
        memcpy(copy, req->body, req->body_len);
        resp->body = copy;
        resp->body_len = req->body_len;
    }
    resp->content_type = "application/octet-stream";
    resp->content_type_len = strlen(resp->content_type);
    return FLEXCORE_STATUS_OK;
}

static void plugin_free(void *instance, flexcore_response *resp) {
    (void)instance;
    free((void *)resp->body);
}

static const flexcore_plugin descriptor = {
    .struct_size = sizeof(flexcore_plugin),
    .abi_major = FLEXCORE_ABI_MAJOR,
    .abi_minor = FLEXCORE_ABI_MINOR,
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .description = "misbehaves on request",
    .flags = FLEXCORE_FLAG_THREAD_SAFE,
    .invoke = plugin_invoke,
    .free_response = plugin_free,
};

FLEXCORE_EXPORT const flexcore_plugin *flexcore_plugin_entry_v1(uint16_t major, uint16_t minor) {
    (void)minor;
    return major == FLEXCORE_ABI_MAJOR ? &descriptor : NULL;
}
"#;
