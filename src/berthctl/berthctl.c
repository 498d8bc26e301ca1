/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "berthctl.h"
#include "shared/log.h"

bool arg_json = false;
bool arg_ask_password = true;
char **berthctl_argv = NULL;

/* Verbs as docker spells them. A grouped verb ("image ls") may also have a top-level alias ("images"); both
 * point at the same function. */
static const Verb base_verbs[] = { { "version", NULL, "", "Show the client and daemon versions",
                                     verb_version },
                                   { "commit", NULL, "[OPTIONS] CONTAINER [REPO[:TAG]]",
                                     "Create an image from a container's changes", verb_commit },
                                   { "commit", "container", "...", "Alias of 'commit'", verb_commit },
                                   {} };

static const Verb *const verb_tables[] = { base_verbs,
                                           image_verbs,
                                           container_verbs,
                                           lifecycle_verbs,
                                           system_verbs,
                                           volume_verbs,
                                           network_verbs,
                                           save_load_verbs /* berthctl-save-load.c */,
                                           push_verbs /* berthctl-push.c */,
                                           build_verbs /* berthctl-image.c */ };

#define FOREACH_VERB(v)                                                                                     \
        for (size_t _t = 0; _t < ELEMENTSOF(verb_tables); _t++)                                             \
                for (const Verb *v = verb_tables[_t]; v->name; v++)

#if BERTHCTL_FULL
void print_json(JsonNode *root)
{
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autofree char *s = NULL;

        json_generator_set_root(gen, root);
        json_generator_set_pretty(gen, true);
        json_generator_set_indent(gen, 4);
        s = json_generator_to_data(gen, NULL);
        printf("%s\n", s);
        json_node_unref(root);
}
#endif

static void help(void)
{
        printf("berthctl [OPTIONS] COMMAND [ARGS...]\n\n"
               "Control the berth container service (org.berth1 on the system bus).\n\n"
               "Commands:\n");
        FOREACH_VERB(v)
        {
                char name[64];
                snprintf(name, sizeof(name), "%s%s%s %s", strempty(v->group), v->group ? " " : "", v->name,
                         v->args);
                printf("  %-36s %s\n", name, v->help);
        }
        printf("\nOptions:\n"
               "  -h --help             Show this help\n"
               "     --version          Show the client version\n"
               "     --json             Print machine-readable JSON\n"
               "     --no-ask-password  Do not ask for a password when authorisation is needed\n"
               "\nSee berthctl(1).\n");
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_NO_ASK_PASSWORD };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "version", no_argument, NULL, ARG_VERSION },
                                                 { "json", no_argument, NULL, ARG_JSON },
                                                 { "no-ask-password", no_argument, NULL,
                                                   ARG_NO_ASK_PASSWORD },
                                                 {} };
        int c;

        /* "+": stop at the first non-option, so each verb parses its own options. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("berthctl %s\n", BERTH_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                default:
                        return -EINVAL;
                }
        return 1;
}

static const Verb *find_verb(int argc, char *argv[], int *ret_consumed)
{
        /* "image ls" first, then "ls" alone. */
        if (argc >= 2)
                FOREACH_VERB(v)
        if (v->group && streq(v->group, argv[0]) && streq(v->name, argv[1])) {
                *ret_consumed = 2;
                return v;
        }
        FOREACH_VERB(v)
        if (!v->group && streq(v->name, argv[0])) {
                *ret_consumed = 1;
                return v;
        }
        return NULL;
}

int main(int argc, char *argv[])
{
        const Verb *v;
        int consumed, r;

        berthctl_argv = argv;
        log_parse_environment();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;

#if !BERTHCTL_FULL
        if (arg_json)
                return exec_full();
#endif
        argc -= optind;
        argv += optind;
        if (argc == 0) {
                help();
                return EXIT_USAGE;
        }

        v = find_verb(argc, argv, &consumed);
        if (!v) {
                fprintf(stderr, "berthctl: unknown command '%s%s%s'. See 'berthctl --help'.\n", argv[0],
                        argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
                return EXIT_USAGE;
        }

        /* The verb sees its own name as argv[0], like a separate program, so getopt works as usual. */
        argc -= consumed - 1;
        argv += consumed - 1;
        optind = 0;
        r = v->run(argc, argv);
        polkit_agent_close();
        return r;
}
