/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <strings.h>

#include "berthctl.h"
#include "shared/log.h"

static void commit_usage(FILE *f)
{
        fprintf(f,
                "Usage: berthctl commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
                "Create a new image from a container's changes.\n\n"
                "  -a, --author=AUTHOR     Author (e.g. \"Jane Doe <jane@example.com>\")\n"
                "  -c, --change=CHANGE     Apply a Dockerfile instruction to the image's config (CMD,\n"
                "                          ENTRYPOINT, ENV, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR); "
                "repeatable\n"
                "  -m, --message=MESSAGE   Commit message\n"
                "  -p, --pause[=BOOL]      Freeze a running container during the commit (default true)\n");
}

static int parse_bool(const char *s, bool *ret)
{
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "1") || !strcasecmp(s, "on"))
                *ret = true;
        else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "0") ||
                 !strcasecmp(s, "off"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

int verb_commit(int argc, char *argv[])
{
        static const struct option options[] = {
                { "author", required_argument, NULL, 'a' },  { "change", required_argument, NULL, 'c' },
                { "message", required_argument, NULL, 'm' }, { "pause", optional_argument, NULL, 'p' },
                { "help", no_argument, NULL, 'h' },          {}
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_autoptr(GPtrArray) changes = g_ptr_array_new();
        const char *author = NULL, *message = NULL, *id;
        bool pause = true;
        int c, r;

        while ((c = getopt_long(argc, argv, "a:c:m:p::h", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        author = optarg;
                        break;
                case 'c':
                        g_ptr_array_add(changes, optarg);
                        break;
                case 'm':
                        message = optarg;
                        break;
                case 'p':
                        if (!optarg)
                                pause = true;
                        else if (parse_bool(optarg, &pause) < 0) {
                                fprintf(stderr, "Invalid value for --pause: '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'h':
                        commit_usage(stdout);
                        return EXIT_OK;
                default:
                        commit_usage(stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind < 1 || argc - optind > 2) {
                commit_usage(stderr);
                return EXIT_USAGE;
        }
        g_ptr_array_add(changes, NULL);

        r = manager_new_call("CommitContainer", &m);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_append(m, "ss", argv[optind], argc - optind > 1 ? argv[optind + 1] : "");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && author)
                r = sd_bus_message_append(m, "{sv}", "author", "s", author);
        if (r >= 0 && message)
                r = sd_bus_message_append(m, "{sv}", "message", "s", message);
        if (r >= 0 && changes->len > 1) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "changes");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, (char **) changes->pdata);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && !pause)
                r = sd_bus_message_append(m, "{sv}", "pause", "b", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                log_bus_error(NULL, r);
                return EXIT_ERROR;
        }

        /* No timeout: the copy of a big writable layer takes what it takes, and polkit may prompt. */
        polkit_agent_open_if_enabled();
        r = sd_bus_call(sd_bus_message_get_bus(m), m, UINT64_MAX - 1, &error, &reply);
        if (r < 0) {
                log_bus_error(&error, r);
                return EXIT_ERROR;
        }
        r = sd_bus_message_read(reply, "s", &id);
        if (r < 0) {
                log_bus_error(NULL, r);
                return EXIT_ERROR;
        }
        printf("%s\n", id);
        return EXIT_OK;
}
