/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/bus-errors.h"
#include "daemon/login-dbus.h"
#include "daemon/login.h"
#include "daemon/polkit.h"
#include "registry/registry-client.h"
#include "shared/log.h"

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
DEFINE_TRIVIAL_CLEANUP_FUNC(LoginCheck *, login_check_free);

static void on_login_checked(RegistryRequest *req, const RegistryError *error,
                             const RegistryResponse *response, void *userdata)
{
        _cleanup_(sd_bus_error_free) sd_bus_error reply = SD_BUS_ERROR_NULL;
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(login_check_freep) LoginCheck *c = userdata;
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
                return;
        }

        r = manager_store_credentials(c->manager, c->domain, c->username, c->password);
        if (r < 0) {
                log_error_errno(r, "Failed to store the credentials for %s: %m", c->domain);
                (void) sd_bus_reply_method_errnof(c->message, r, "Cannot store the credentials: %m");
        } else {
                log_info("Stored credentials of '%s' for %s.", c->username, c->domain);
                (void) sd_bus_reply_method_return(c->message, NULL);
        }
}

static int read_registry(const char *registry, char **ret, sd_bus_error *error)
{
        int r = login_registry_domain(registry, ret);

        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "'%s' is not a registry.",
                                         registry);
        return r;
}

/* polkit's answer for verb (login, logout) on the credentials of domain: 1 allowed, 0 while asked (the call
 * comes back), negative on error. */
static int verify_manage_credentials(sd_bus_message *message, Manager *m, const char *domain,
                                     const char *verb, sd_bus_error *error)
{
        const char *details[] = { "registry", domain, "verb", verb, NULL };

        return bus_verify_polkit_async(message, BERTH_ACTION_MANAGE_CREDENTIALS, details,
                                       &m->polkit_registry, error);
}

int bus_method_login(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *domain = NULL;
        Manager *m = userdata;
        const char *registry, *username, *password;
        _cleanup_(login_check_freep) LoginCheck *c = NULL;
        int r;

        r = sd_bus_message_read(message, "sss", &registry, &username, &password);
        if (r < 0)
                return r;
        r = read_registry(registry, &domain, error);
        if (r < 0)
                return r;
        if (!login_credentials_are_valid(username, password))
                return sd_bus_error_set(
                        error, SD_BUS_ERROR_INVALID_ARGS,
                        "A username (without ':', at most 256 bytes) and a password (at most 64 KiB), "
                        "neither with control characters, are needed.");

        r = verify_manage_credentials(message, m, domain, "login", error);
        if (r <= 0)
                return r < 0 ? r : 1;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->message = sd_bus_message_ref(message);
        c->domain = TAKE_PTR(domain);
        c->username = strdup(username);
        c->password = strdup(password);
        if (!c->username || !c->password)
                return -ENOMEM;
        /* Verified against the registry before anything is stored, as docker login does. */
        r = registry_check_credentials(m->registry, c->domain, c->username, c->password, on_login_checked, c,
                                       NULL);
        if (r < 0)
                return r;
        TAKE_PTR(c); /* on_login_checked()'s now */
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
        r = read_registry(registry, &domain, error);
        if (r < 0)
                return r;

        r = verify_manage_credentials(message, m, domain, "logout", error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = manager_store_credentials(m, domain, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to remove the credentials for %s: %m", domain);
        if (r > 0)
                log_info("Removed the credentials for %s.", domain);
        return sd_bus_reply_method_return(message, "b", r > 0);
}
