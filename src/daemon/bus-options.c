/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/bus-options.h"
#include "shared/macro.h"

int bus_read_options(sd_bus_message *m, BusOptionFunc func, void *userdata, sd_bus_error *error)
{
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                r = func ? func(m, key, userdata, error) : bus_option_unknown(key, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int bus_option_unknown(const char *key, sd_bus_error *error)
{
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.", key);
}

static const char *type_words(const char *contents)
{
        if (streq(contents, "b"))
                return "a boolean";
        if (streq(contents, "u"))
                return "an unsigned 32-bit integer";
        if (streq(contents, "s"))
                return "a string";
        if (streq(contents, "as"))
                return "a string array";
        return "of type";
}

int bus_option_enter(sd_bus_message *m, const char *key, const char *contents, sd_bus_error *error)
{
        int r;

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' must be %s (%s).",
                                         key, type_words(contents), contents);
        return 0;
}

int bus_option_read_basic(sd_bus_message *m, const char *key, char type, void *ret, sd_bus_error *error)
{
        const char contents[2] = { type, 0 };
        int r;

        r = bus_option_enter(m, key, contents, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(m, type, ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int bus_option_read_bool(sd_bus_message *m, const char *key, bool *ret, sd_bus_error *error)
{
        int b, r;

        r = bus_option_read_basic(m, key, 'b', &b, error);
        if (r < 0)
                return r;
        *ret = b;
        return 0;
}

int bus_option_read_string(sd_bus_message *m, const char *key, char **ret, sd_bus_error *error)
{
        const char *s;
        char *copy;
        int r;

        r = bus_option_read_basic(m, key, 's', &s, error);
        if (r < 0)
                return r;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*ret);
        *ret = copy;
        return 0;
}

int bus_option_read_strv(sd_bus_message *m, const char *key, char ***ret, sd_bus_error *error)
{
        char **l = NULL;
        int r;

        r = bus_option_enter(m, key, "as", error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(m, &l);
        if (r < 0)
                return r;
        g_strfreev(*ret);
        *ret = l ?: g_new0(char *, 1);
        return sd_bus_message_exit_container(m);
}
