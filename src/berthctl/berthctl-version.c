/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "berthctl.h"

int verb_version(int argc, char *argv[])
{
        _cleanup_free_ char *server = NULL;
        int r;

        if (argc > 1) {
                fprintf(stderr, "berthctl version takes no arguments.\n");
                return EXIT_USAGE;
        }

        r = bus_get_manager_property_string("Version", &server);
        if (arg_json)
                printf("{\"client\":{\"version\":\"%s\"},\"server\":%s%s%s}\n", BERTH_VERSION,
                       server ? "{\"version\":\"" : "null", strempty(server), server ? "\"}" : "");
        else {
                printf("Client: berthctl %s\n", BERTH_VERSION);
                if (server)
                        printf("Server: berthd %s\n", server);
        }
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}
