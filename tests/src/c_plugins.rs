//! Sources of C plugins written for one test: an echo under any name and
//! version (a second build of `echo` for reloads), and plugins the host must
//! refuse (another ABI major, an entry point that refuses the host, a failing
//! `init`, a shared object with no entry point). Compile them with
//! [`compile_c`](crate::compile_c).

/// A C plugin that echoes its body and content type, with knobs to make it
/// wrong in one way at a time.
#[derive(Debug, Clone)]
pub struct CPlugin {
    pub name: String,
    pub version: String,
    /// Written into the descriptor's `abi_major`.
    pub abi_major: u16,
    /// `init` returns this status; `None` leaves `init` out.
    pub init_status: Option<i32>,
    /// The entry point returns NULL (the plugin refuses the host).
    pub refuse_host: bool,
}

/// `FLEXCORE_STATUS_INTERNAL` of `flexcore.h`.
pub const STATUS_INTERNAL: i32 = 3;

impl CPlugin {
    /// A correct echo plugin named `name` at `version`.
    pub fn echo(name: &str, version: &str) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            abi_major: 1,
            init_status: None,
            refuse_host: false,
        }
    }

    pub fn source(&self) -> String {
        let defines = format!(
            "#define PLUGIN_NAME \"{}\"\n#define PLUGIN_VERSION \"{}\"\n\
             #define PLUGIN_ABI_MAJOR {}\n#define PLUGIN_HAS_INIT {}\n\
             #define PLUGIN_INIT_STATUS {}\n#define PLUGIN_REFUSES_HOST {}\n",
            self.name,
            self.version,
            self.abi_major,
            u8::from(self.init_status.is_some()),
            self.init_status.unwrap_or(0),
            u8::from(self.refuse_host),
        );
        defines + ECHO_TEMPLATE
    }
}

const ECHO_TEMPLATE: &str = r#"
#include <stdlib.h>
#include <string.h>
#include "flexcore.h"

#if PLUGIN_HAS_INIT
static flexcore_status plugin_init(const flexcore_host *host, void **instance) {
    (void)host;
    *instance = NULL;
    return PLUGIN_INIT_STATUS;
}
#endif

static flexcore_status plugin_invoke(void *instance, const flexcore_request *request,
                                     flexcore_response *response) {
    (void)instance;
    if (request->body_len > 0) {
        uint8_t *copy = malloc(request->body_len);
        if (copy == NULL) {
            return FLEXCORE_STATUS_INTERNAL;
        }
        memcpy(copy, request->body, request->body_len);
        response->body = copy;
        response->body_len = request->body_len;
    }
    /* The request outlives free_response, so the content type may point into it. */
    response->content_type = request->content_type;
    response->content_type_len = request->content_type_len;
    return FLEXCORE_STATUS_OK;
}

static void plugin_free_response(void *instance, flexcore_response *response) {
    (void)instance;
    free((void *)response->body);
    response->body = NULL;
}

static const flexcore_plugin DESCRIPTOR = {
    .struct_size = sizeof(flexcore_plugin),
    .abi_major = PLUGIN_ABI_MAJOR,
    .abi_minor = FLEXCORE_ABI_MINOR,
    .name = PLUGIN_NAME,
    .version = PLUGIN_VERSION,
    .description = "An echo written in C for the end-to-end tests",
    .flags = FLEXCORE_FLAG_THREAD_SAFE,
#if PLUGIN_HAS_INIT
    .init = plugin_init,
#endif
    .invoke = plugin_invoke,
    .free_response = plugin_free_response,
};

FLEXCORE_EXPORT const flexcore_plugin *flexcore_plugin_entry_v1(uint16_t host_abi_major,
                                                                uint16_t host_abi_minor) {
    (void)host_abi_major;
    (void)host_abi_minor;
    return PLUGIN_REFUSES_HOST ? NULL : &DESCRIPTOR;
}
"#;

/// A valid shared object that exports a function, but not the entry point.
pub const NO_ENTRY_POINT: &str = r#"
__attribute__((visibility("default"))) int not_a_flexcore_plugin(void) { return 42; }
"#;

/// A plugin named `inspect` that answers, as JSON, what it was given: the
/// request id, content type, deadline and body length, and the value of its
/// configuration key `greeting` (looked up through the host table).
pub const INSPECT: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include "flexcore.h"

typedef struct inspect {
    const flexcore_host *host;
} inspect;

static flexcore_status inspect_init(const flexcore_host *host, void **instance) {
    inspect *self = malloc(sizeof *self);
    if (self == NULL) {
        return FLEXCORE_STATUS_INTERNAL;
    }
    self->host = host;
    *instance = self;
    return FLEXCORE_STATUS_OK;
}

static flexcore_status inspect_invoke(void *instance, const flexcore_request *request,
                                      flexcore_response *response) {
    const inspect *self = instance;
    const char *greeting = "";
    size_t greeting_len = 0;
    if (!self->host->config_get(self->host->host_data, "greeting", 8, &greeting,
                                &greeting_len)) {
        greeting = "(none)";
        greeting_len = 6;
    }
    size_t capacity = 256 + request->request_id_len + request->content_type_len + greeting_len;
    char *out = malloc(capacity);
    if (out == NULL) {
        return FLEXCORE_STATUS_INTERNAL;
    }
    int written = snprintf(out, capacity,
        "{\"request_id\":\"%.*s\",\"content_type\":\"%.*s\",\"deadline_unix_ms\":%llu,"
        "\"body_len\":%zu,\"greeting\":\"%.*s\"}",
        (int)request->request_id_len, request->request_id,
        (int)request->content_type_len, request->content_type,
        (unsigned long long)request->deadline_unix_ms, request->body_len,
        (int)greeting_len, greeting);
    if (written < 0 || (size_t)written >= capacity) {
        free(out);
        return FLEXCORE_STATUS_INTERNAL;
    }
    response->body = (const uint8_t *)out;
    response->body_len = (size_t)written;
    response->content_type = "application/json";
    response->content_type_len = 16;
    return FLEXCORE_STATUS_OK;
}

static void inspect_free_response(void *instance, flexcore_response *response) {
    (void)instance;
    free((void *)response->body);
}

static void inspect_shutdown(void *instance) {
    free(instance);
}

static const flexcore_plugin DESCRIPTOR = {
    .struct_size = sizeof(flexcore_plugin),
    .abi_major = FLEXCORE_ABI_MAJOR,
    .abi_minor = FLEXCORE_ABI_MINOR,
    .name = "inspect",
    .version = "1.0.0",
    .description = "Answers with what the host handed it",
    .flags = FLEXCORE_FLAG_THREAD_SAFE,
    .init = inspect_init,
    .invoke = inspect_invoke,
    .free_response = inspect_free_response,
    .shutdown = inspect_shutdown,
};

FLEXCORE_EXPORT const flexcore_plugin *flexcore_plugin_entry_v1(uint16_t host_abi_major,
                                                                uint16_t host_abi_minor) {
    (void)host_abi_minor;
    return host_abi_major == FLEXCORE_ABI_MAJOR ? &DESCRIPTOR : NULL;
}
"#;

/// A plugin named `slowpoke` that sleeps for the milliseconds its body names
/// and answers `ok`, without declaring `FLEXCORE_FLAG_MAY_BLOCK`: the host has
/// to notice by itself that it blocks.
pub const SLOWPOKE: &str = r#"
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "flexcore.h"

static flexcore_status slowpoke_invoke(void *instance, const flexcore_request *request,
                                       flexcore_response *response) {
    (void)instance;
    char digits[16] = {0};
    size_t len = request->body_len < sizeof digits - 1 ? request->body_len : sizeof digits - 1;
    memcpy(digits, request->body, len);
    long ms = strtol(digits, NULL, 10);
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    response->body = (const uint8_t *)"ok";
    response->body_len = 2;
    return FLEXCORE_STATUS_OK;
}

static void slowpoke_free_response(void *instance, flexcore_response *response) {
    (void)instance;
    (void)response; /* the body is static */
}

static const flexcore_plugin DESCRIPTOR = {
    .struct_size = sizeof(flexcore_plugin),
    .abi_major = FLEXCORE_ABI_MAJOR,
    .abi_minor = FLEXCORE_ABI_MINOR,
    .name = "slowpoke",
    .version = "1.0.0",
    .flags = FLEXCORE_FLAG_THREAD_SAFE,
    .invoke = slowpoke_invoke,
    .free_response = slowpoke_free_response,
};

FLEXCORE_EXPORT const flexcore_plugin *flexcore_plugin_entry_v1(uint16_t host_abi_major,
                                                                uint16_t host_abi_minor) {
    (void)host_abi_major;
    (void)host_abi_minor;
    return &DESCRIPTOR;
}
"#;
