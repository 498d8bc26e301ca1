/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "berthctl.h"
#include "format.h"

#define DESCRIPTION_SHOWN 45

/* "127.0.0.1:5000/busy" → registry "127.0.0.1:5000", term "busy", as docker search reads it: a first
 * component with a dot or a colon, or "localhost", names the registry. */
static void split_registry(const char *arg, char **ret_registry, const char **ret_term)
{
        const char *slash = strchr(arg, '/');

        *ret_registry = NULL;
        *ret_term = arg;
        if (!slash)
                return;
        g_autofree char *first = g_strndup(arg, (gsize) (slash - arg));
        if (strpbrk(first, ".:") || streq(first, "localhost")) {
                *ret_registry = TAKE_PTR(first);
                *ret_term = slash + 1;
        }
}

int verb_search(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        g_autofree char *registry = NULL;
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) descriptions = g_ptr_array_new_with_free_func(g_free);
        const char *term, *name, *description;
        bool no_trunc = false;
        unsigned limit = 0;
        int c, r;

        static const struct option options[] = { { "limit", required_argument, NULL, 'l' },
                                                 { "no-trunc", no_argument, NULL, 'T' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'l': {
                        char *end;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end || end == optarg || v < 1 || v > 100) {
                                fprintf(stderr, "berthctl search: --limit wants a number from 1 to 100\n");
                                return EXIT_USAGE;
                        }
                        limit = (unsigned) v;
                        break;
                }
                case 'T':
                        no_trunc = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: berthctl search [--limit N] [--no-trunc] [REGISTRY/]TERM\n");
                return EXIT_USAGE;
        }
        split_registry(argv[optind], &registry, &term);

        r = manager_new_call("SearchImages", &call);
        if (r >= 0)
                r = sd_bus_message_append(call, "s", term);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && limit > 0)
                r = sd_bus_message_append(call, "{sv}", "limit", "u", (uint32_t) limit);
        if (r >= 0 && registry)
                r = sd_bus_message_append(call, "{sv}", "registry", "s", registry);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        r = manager_call_message(call, &reply);
        if (r < 0)
                return EXIT_ERROR;

        r = sd_bus_message_enter_container(reply, 'a', "(ss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ss)", &name, &description)) > 0) {
                g_ptr_array_add(names, g_strdup(name));
                g_ptr_array_add(descriptions, g_strdup(description));
        }
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;

#if BERTHCTL_FULL
        if (arg_json) {
                g_autoptr(JsonBuilder) b = json_builder_new();
                json_builder_begin_array(b);
                for (guint i = 0; i < names->len; i++) {
                        json_builder_begin_object(b);
                        json_builder_set_member_name(b, "Name");
                        json_builder_add_string_value(b, names->pdata[i]);
                        json_builder_set_member_name(b, "Description");
                        json_builder_add_string_value(b, descriptions->pdata[i]);
                        json_builder_end_object(b);
                }
                json_builder_end_array(b);
                print_json(json_builder_get_root(b));
                return EXIT_OK;
        }
#endif

        Table *t = table_new("NAME", "DESCRIPTION", NULL);
        for (guint i = 0; i < names->len; i++) {
                const char *d = descriptions->pdata[i];
                g_autofree char *shown = NULL;

                /* As docker: one line, cut at 45 characters with an ellipsis unless --no-trunc. */
                shown = g_strdelimit(g_strdup(d), "\r\n\t", ' ');
                if (!no_trunc && g_utf8_validate(shown, -1, NULL) &&
                    g_utf8_strlen(shown, -1) > DESCRIPTION_SHOWN) {
                        g_autofree char *cut = g_utf8_substring(shown, 0, DESCRIPTION_SHOWN - 1);
                        g_free(shown);
                        shown = g_strconcat(cut, "…", NULL);
                }
                table_add_row(t, names->pdata[i], shown, NULL);
        }
        table_print(t);
        table_free(t);
        return EXIT_OK;
}
