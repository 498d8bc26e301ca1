/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>

#include "daemon/container-monitor.h"
#include "daemon/manager.h"
#include "shared/log.h"
#include "store/fork-server.h"

static void help(void)
{
        printf("berthd [OPTIONS]\n\n"
               "The berth container service: serves org.berth1 on the system bus.\n\n"
               "  -h --help       Show this help\n"
               "     --version    Show the version\n"
               "See berthd(8).\n");
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "version", no_argument, NULL, ARG_VERSION },
                                                 {} };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("berthd %s\n", BERTH_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "berthd takes no arguments.");
        return 1;
}

int main(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_parse_environment();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 1 : 0;

        /* Before the daemon grows or starts threads: the store's children are forked from there. */
        r = fork_server_start(getenv("BERTH_FORK_SERVER") ?: BERTH_LIBEXECDIR "/berth-fork-server");
        if (r < 0)
                log_warning_errno(r, "Failed to start the fork server, forking layer children directly: %m");
        r = container_monitor_server_start();
        if (r < 0)
                log_warning_errno(r, "Failed to start the monitor server, executing each monitor: %m");

        r = manager_new(&m);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate manager: %m");
                return 1;
        }
        r = manager_startup(m);
        if (r < 0)
                return 1;
        r = manager_run(m);
        return r < 0 ? 1 : 0;
}
