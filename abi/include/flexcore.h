/*
 * flexcore.h — the FlexCore plugin ABI, version 1.
 *
 * This header is the single source of truth for the contract between the
 * FlexCore gateway (the "host") and a plugin (a shared object the host loads
 * in-process). The Rust SDK (crate flexcore-abi) mirrors it and a test checks
 * that both agree on every size, alignment and field offset.
 *
 * Stability rules
 *   - A plugin exports exactly one symbol: flexcore_plugin_entry_v1.
 *   - Every struct starts with `struct_size` and is append-only: later minor
 *     versions only add fields at the end. A reader never touches a field that
 *     lies outside the `struct_size` the writer declared.
 *   - The host refuses a plugin whose abi_major differs from its own, or whose
 *     abi_minor is newer than its own.
 *
 * Memory rules
 *   - Memory is always freed by the library that allocated it.
 *   - Every pointer below says who owns it and for how long it is valid.
 *   - Strings are UTF-8. A (pointer, length) pair is NOT NUL-terminated;
 *     a lone `const char *` IS NUL-terminated.
 *
 * Threads
 *   - init and shutdown never overlap any other call into the same plugin.
 *   - invoke is called concurrently from several threads only when the plugin
 *     sets FLEXCORE_FLAG_THREAD_SAFE; otherwise the host serialises it.
 *   - A plugin whose invoke may block (sleep, I/O, long computation) sets
 *     FLEXCORE_FLAG_MAY_BLOCK so that the host runs it on a separate thread
 *     pool; the host also moves a plugin there by itself once it observes
 *     several slow calls in a row (three), and back once it has been fast
 *     for long.
 */
#ifndef FLEXCORE_H
#define FLEXCORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLEXCORE_ABI_MAJOR 1
#define FLEXCORE_ABI_MINOR 1

/* The name of the one symbol a plugin exports. */
#define FLEXCORE_ENTRY_SYMBOL "flexcore_plugin_entry_v1"

/* ---- Status codes ------------------------------------------------------- */

/* Returned by init and invoke. The host maps them to HTTP statuses as noted.
 * Any other value is treated as FLEXCORE_STATUS_INTERNAL. */
typedef int32_t flexcore_status;
#define FLEXCORE_STATUS_OK            0 /* success                      -> 200 */
#define FLEXCORE_STATUS_INVALID_INPUT 1 /* the caller's input is wrong  -> 400 */
#define FLEXCORE_STATUS_UNAVAILABLE   2 /* try again later              -> 503 */
#define FLEXCORE_STATUS_INTERNAL      3 /* the plugin failed            -> 500 */
#define FLEXCORE_STATUS_PANIC         4 /* the plugin panicked; the host
                                           re-initialises it            -> 500 */

/* ---- Descriptor flags --------------------------------------------------- */

/* invoke may be called from several threads at once. */
#define FLEXCORE_FLAG_THREAD_SAFE ((uint64_t)1 << 0)
/* invoke may block; the host calls it on its blocking thread pool. */
#define FLEXCORE_FLAG_MAY_BLOCK   ((uint64_t)1 << 1)

/* ---- Log levels for flexcore_host.log ----------------------------------- */

#define FLEXCORE_LOG_ERROR 1
#define FLEXCORE_LOG_WARN  2
#define FLEXCORE_LOG_INFO  3
#define FLEXCORE_LOG_DEBUG 4
#define FLEXCORE_LOG_TRACE 5

/* ---- The host table ----------------------------------------------------- */

/* Services the host offers a plugin. Owned by the host; the pointer given to
 * init, and everything it points to, stays valid until shutdown returns.
 * Every function may be called from any thread. */
typedef struct flexcore_host {
    uint32_t struct_size;      /* sizeof(flexcore_host) as the host knows it */
    uint16_t abi_major;
    uint16_t abi_minor;
    void *host_data;           /* opaque, owned by the host: pass it back */

    /* Writes one log line, attributed to the plugin, into the host's log.
     * `message` is borrowed for the call (len bytes, not NUL-terminated). */
    void (*log)(void *host_data, int32_t level, const char *message, size_t len);

    /* Looks up the plugin's configuration value for `key` (borrowed for the
     * call, key_len bytes). Returns 1 and sets *value / *value_len when found,
     * 0 otherwise. The value is owned by the host and stays valid until
     * shutdown returns. */
    int32_t (*config_get)(void *host_data, const char *key, size_t key_len,
                          const char **value, size_t *value_len);
} flexcore_host;

/* ---- Request and response ----------------------------------------------- */

/* One invocation's input. Owned by the host and borrowed by the plugin for
 * the duration of invoke, and additionally until free_response returns (so a
 * response may point into the request's content type). */
typedef struct flexcore_request {
    uint32_t struct_size;      /* sizeof(flexcore_request) as the host knows it */
    uint32_t reserved;         /* zero */
    const uint8_t *body;       /* body_len bytes; may be NULL when body_len is 0 */
    size_t body_len;
    const char *content_type;  /* content_type_len bytes; "" when none was sent */
    size_t content_type_len;
    const char *request_id;    /* request_id_len bytes */
    size_t request_id_len;
    /* Wall-clock deadline in milliseconds since the Unix epoch; 0 means none.
     * Past it the host has already answered the caller with a timeout. */
    uint64_t deadline_unix_ms;

    /* Since ABI 1.1. Settings for this call as JSON text (config_len bytes),
     * such as a pipeline step's `config`; "" when there are none. A plugin
     * built for 1.1 is only loaded by hosts of 1.1 or later, which always set
     * it; code that must also run under 1.0 hosts checks struct_size first. */
    const char *config;
    size_t config_len;
} flexcore_request;

/* One invocation's output. The host zeroes it and sets struct_size before
 * calling invoke; the plugin fills the rest. Every pointer the plugin stores
 * here is owned by the plugin until the host passes the same struct to
 * free_response, which the host does exactly once after every invoke call,
 * whatever its status. */
typedef struct flexcore_response {
    uint32_t struct_size;      /* set by the host */
    uint32_t reserved;         /* zero */
    const uint8_t *body;       /* body_len bytes of output; may be NULL */
    size_t body_len;
    const char *content_type;  /* content_type_len bytes; empty means
                                  application/octet-stream */
    size_t content_type_len;
    const char *error_message; /* error_message_len bytes; a human-readable
                                  reason when the status is not OK */
    size_t error_message_len;
    /* Two words the plugin may use to find its allocation again in
     * free_response (e.g. a capacity, a pointer to an owner). The host never
     * reads or writes them. */
    uintptr_t plugin_data[2];
} flexcore_response;

/* ---- The descriptor ----------------------------------------------------- */

typedef struct flexcore_plugin {
    uint32_t struct_size;      /* sizeof(flexcore_plugin) as the plugin knows it */
    uint16_t abi_major;        /* FLEXCORE_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;        /* FLEXCORE_ABI_MINOR the plugin was built with */
    const char *name;          /* static, NUL-terminated; [a-z0-9._-]{1,64} */
    const char *version;       /* static, NUL-terminated, e.g. "1.2.0" */
    const char *description;   /* static, NUL-terminated; may be NULL */
    uint64_t flags;            /* FLEXCORE_FLAG_* */

    /* Optional (may be NULL). Creates the plugin's state. `host` is owned by
     * the host and valid until shutdown returns. On success the plugin stores
     * an opaque pointer in *instance (which it owns) and returns OK; any other
     * status refuses the load, with no shutdown call. */
    flexcore_status (*init)(const flexcore_host *host, void **instance);

    /* Required. Handles one request. `instance` is what init stored (NULL
     * without init); `request` is borrowed (see flexcore_request); `response`
     * is zeroed by the host and filled by the plugin. */
    flexcore_status (*invoke)(void *instance, const flexcore_request *request,
                              flexcore_response *response);

    /* Required. Releases whatever invoke stored in `response`. Called exactly
     * once per invoke, after the host has read the response. */
    void (*free_response)(void *instance, flexcore_response *response);

    /* Optional (may be NULL). Releases the instance. No call into the plugin
     * follows it for this instance. */
    void (*shutdown)(void *instance);
} flexcore_plugin;

/* The one exported function. The host passes its own ABI version; the plugin
 * returns a pointer to its static descriptor (owned by the plugin, valid for
 * the life of the process), or NULL to refuse a host it cannot serve. */
typedef const flexcore_plugin *(*flexcore_plugin_entry_fn)(uint16_t host_abi_major,
                                                           uint16_t host_abi_minor);

#if defined(_WIN32)
#define FLEXCORE_EXPORT __declspec(dllexport)
#else
#define FLEXCORE_EXPORT __attribute__((visibility("default")))
#endif

/* Declare the entry point in a plugin's source:
 *   FLEXCORE_EXPORT const flexcore_plugin *
 *   flexcore_plugin_entry_v1(uint16_t host_abi_major, uint16_t host_abi_minor) { ... } */
FLEXCORE_EXPORT const flexcore_plugin *flexcore_plugin_entry_v1(uint16_t host_abi_major,
                                                                uint16_t host_abi_minor);

#ifdef __cplusplus
}
#endif

#endif /* FLEXCORE_H */
