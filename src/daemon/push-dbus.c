/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/login.h"
#include "daemon/polkit.h"
#include "daemon/push-dbus.h"
#include "daemon/push.h"
#include "daemon/transfer-dbus.h"
#include "daemon/transfer.h"
#include "registry/registry-client.h"
#include "registry/reference.h"
#include "registry/registry-config.h"
#include "shared/log.h"

/* ---- PushImage(s reference, a{sv} options) -> (o transfer) ---- */

typedef struct PushOptions {
        LayerCompression compression;
} PushOptions;

static int read_push_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        PushOptions *o = userdata;
        const char *v;
        int r;

        if (!streq(key, "compression"))
                return bus_option_unknown(key, error);
        r = bus_option_read_basic(m, key, 's', &v, error);
        if (r < 0)
                return r;
        o->compression = layer_compression_from_string(v);
        if (o->compression < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'compression': '%s' is neither 'gzip' nor 'zstd'.", v);
        return 0;
}

int bus_method_push_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(transfer_freep) Transfer *t = NULL;
        PushOptions o = { .compression = LAYER_COMPRESSION_GZIP };
        Manager *m = userdata;
        Push *p = NULL;
        const char *reference;
        int r;

        r = sd_bus_message_read(message, "s", &reference);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_push_option, &o, error);
        if (r < 0)
                return r;

        r = push_new(m, reference, o.compression, &e, &p);
        if (r == -EINVAL || r == -ENOENT)
                return bus_error_set_image_lookup(error, &e);
        if (r < 0)
                return r;
        r = transfer_new_push(m, p, push_get_reference(p), &t);
        if (r < 0)
                return r;

        const char *details[] = { "image", transfer_get_reference(t), "verb", "push", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_PUSH_IMAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* t is dropped; the call comes back once polkit answers */
        return bus_transfer_begin(m, message, TAKE_PTR(t));
}

/* ---- Login(s registry, s username, s password) -> () ---- */

typedef struct LoginCheck {
        Manager *manager;
        sd_bus_message *message;
        char *domain, *username, *password;
} LoginCheck;

static void login_check_free(LoginCheck *c)
{
        if (!c)
                return;
        sd_bus_message_unref(c->message);
        free(c->domain);
        free(c->username);
        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        free(c);
}

static void on_login_checked(RegistryRequest *req, const RegistryError *error,
                             const RegistryResponse *response, void *userdata)
{
        _cleanup_(sd_bus_error_free) sd_bus_error reply = SD_BUS_ERROR_NULL;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        LoginCheck *c = userdata;
        int r;

        if (error) {
                if (error->kind == REGISTRY_ERROR_UNAUTHORIZED)
                        berth_error_set(&e, -EACCES, "Login to %s failed: %s", c->domain,
                                        berth_error_message(&error->base));
                else
                        berth_error_set(&e, -EPROTO, "Cannot reach %s to check the credentials: %s",
                                        c->domain, berth_error_message(&error->base));
                (void) bus_error_set(&reply, &e, bus_error_transfer_name(&e));
                (void) sd_bus_reply_method_error(c->message, &reply);
                return login_check_free(c);
        }

        r = manager_store_credentials(c->manager, c->domain, c->username, c->password);
        if (r < 0) {
                log_error_errno(r, "Failed to store the credentials for %s: %m", c->domain);
                (void) sd_bus_reply_method_errnof(c->message, r, "Cannot store the credentials: %m");
        } else {
                log_info("Stored credentials of '%s' for %s.", c->username, c->domain);
                (void) sd_bus_reply_method_return(c->message, NULL);
        }
        login_check_free(c);
}

/* DNS's limits (RFC 1035), which the reference grammar does not set: labels of at most 63 bytes, 253 in all;
 * and a port that is one. */
static bool host_fits_dns(const char *domain)
{
        size_t n = strcspn(domain, ":");

        if (n > 253)
                return false;
        if (domain[n] == ':') {
                char *end;
                unsigned long port = strtoul(domain + n + 1, &end, 10);

                if (*end || port == 0 || port > 65535 || strlen(domain + n + 1) > 5)
                        return false;
        }
        for (const char *p = domain; p < domain + n;) {
                size_t label = strcspn(p, ".:");

                if (label > 63)
                        return false;
                p += label + 1;
        }
        return true;
}

/* A registry as docker login takes it: "host[:port]", with an optional http(s):// and a path, which names
 * nothing more than the host (Docker drops it too) but may not climb (".."), be empty ("a//b") or hold what
 * no repository path holds. The host must be a valid domain, so that nothing odd reaches the resolver. */
static int read_registry(sd_bus_message *message, const char *registry, char **ret, sd_bus_error *error)
{
        const char *path = registry;
        int r;

        if (g_ascii_strncasecmp(path, "https://", 8) == 0)
                path += 8;
        else if (g_ascii_strncasecmp(path, "http://", 7) == 0)
                path += 7;
        path = strchr(path, '/');
        r = registry_normalize_domain(registry, ret);
        if (r < 0 || isempty(*ret) || !reference_domain_is_valid(*ret) || !host_fits_dns(*ret) ||
            (path && (strstr(path, "//") || strstr(path, "/.") ||
                      strspn(path, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != strlen(path))))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "'%s' is not a registry.",
                                         registry);
        return 0;
}

/* A credential: not empty, not too long for a registry to take, and no control characters. */
static bool credential_is_valid(const char *s, size_t max)
{
        size_t n = strnlen(s, max + 1);

        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

int bus_method_login(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *domain = NULL;
        Manager *m = userdata;
        const char *registry, *username, *password;
        LoginCheck *c;
        int r;

        r = sd_bus_message_read(message, "sss", &registry, &username, &password);
        if (r < 0)
                return r;
        r = read_registry(message, registry, &domain, error);
        if (r < 0)
                return r;
        if (!credential_is_valid(username, 256) || strchr(username, ':') ||
            !credential_is_valid(password, 65536))
                return sd_bus_error_set(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "A username (without ':', at most 256 bytes) and a password (at most 64 KiB), "
                        "neither with control characters, are needed.");

        const char *details[] = { "registry", domain, "verb", "login", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CREDENTIALS, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->message = sd_bus_message_ref(message);
        c->domain = TAKE_PTR(domain);
        c->username = strdup(username);
        c->password = strdup(password);
        if (!c->username || !c->password) {
                login_check_free(c);
                return -ENOMEM;
        }
        /* Verified against the registry before anything is stored, as docker login does. */
        r = registry_check_credentials(m->registry, c->domain, c->username, c->password, on_login_checked, c,
                                       NULL);
        if (r < 0) {
                login_check_free(c);
                return r;
        }
        return 1;
}

/* ---- Logout(s registry) -> (b removed) ---- */

int bus_method_logout(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *domain = NULL;
        Manager *m = userdata;
        const char *registry;
        int r;

        r = sd_bus_message_read(message, "s", &registry);
        if (r < 0)
                return r;
        r = read_registry(message, registry, &domain, error);
        if (r < 0)
                return r;

        const char *details[] = { "registry", domain, "verb", "logout", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CREDENTIALS, details, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_store_credentials(m, domain, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to remove the credentials for %s: %m", domain);
        if (r > 0)
                log_info("Removed the credentials for %s.", domain);
        return sd_bus_reply_method_return(message, "b", r > 0);
}
