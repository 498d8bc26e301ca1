/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "berthctl.h"

/* push, login, logout: docker's spelling and output. The work is berthd's (PushImage, Login, Logout);
 * push's progress is the Transfer's, printed as pull prints it (berthctl-pull.c). */

/* The tags of repository name ("127.0.0.1:5000/app", as image ls shows it), for --all-tags. */
static int repository_tags(const char *name, char ***ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);
        const char *id, *path;
        uint64_t created, size;
        int r;

        r = manager_call("ListImages", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(sastto)");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "sastto")) > 0) {
                g_auto(GStrv) l = NULL;
                r = sd_bus_message_read(reply, "s", &id);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &l);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "tto", &created, &size, &path);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                for (char **t = l; r >= 0 && t && *t; t++) {
                        const char *rest = startswith(*t, name);
                        if (rest && rest[0] == ':')
                                g_ptr_array_add(tags, g_strdup(*t));
                }
        }
        if (r < 0)
                return log_bus_error(NULL, r);
        g_ptr_array_sort(tags, (GCompareFunc) g_strcmp0);
        g_ptr_array_add(tags, NULL);
        *ret = (char **) g_ptr_array_free(g_steal_pointer(&tags), false);
        return 0;
}

static int verb_push(int argc, char *argv[])
{
        g_auto(GStrv) tags = NULL;
        const char *compression = NULL;
        bool all_tags = false, quiet = false;
        int c, r;

        enum { ARG_COMPRESSION = 0x100 };
        static const struct option options[] = {
                { "all-tags", no_argument, NULL, 'a' },
                { "quiet", no_argument, NULL, 'q' },
                { "compression-format", required_argument, NULL, ARG_COMPRESSION },
                {},
        };
        while ((c = getopt_long(argc, argv, "aq", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        all_tags = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case ARG_COMPRESSION:
                        if (!streq(optarg, "gzip") && !streq(optarg, "zstd")) {
                                fprintf(stderr, "berthctl push: --compression-format is gzip or zstd.\n");
                                return EXIT_USAGE;
                        }
                        compression = optarg;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: berthctl push [--all-tags] [--compression-format gzip|zstd] "
                                "NAME[:TAG]\n");
                return EXIT_USAGE;
        }

        if (!all_tags) {
                r = transfer_run("PushImage", argv[optind], compression ? "compression" : NULL, compression,
                                 stdout, quiet, NULL);
                return r < 0 ? EXIT_ERROR : EXIT_OK;
        }

        if (strchr(strrchr(argv[optind], '/') ?: argv[optind], ':') || strchr(argv[optind], '@')) {
                fprintf(stderr, "berthctl push: --all-tags takes a name without a tag.\n");
                return EXIT_USAGE;
        }
        r = repository_tags(argv[optind], &tags);
        if (r < 0)
                return EXIT_ERROR;
        if (!tags[0]) {
                fprintf(stderr, "Error: An image does not exist locally with the name: %s\n", argv[optind]);
                return EXIT_ERROR;
        }
        for (char **t = tags; *t; t++) {
                r = transfer_run("PushImage", *t, compression ? "compression" : NULL, compression, stdout,
                                 quiet, NULL);
                if (r < 0)
                        return EXIT_ERROR;
        }
        return EXIT_OK;
}

/* A line from the terminal, echo off for a password; or from stdin as it is. */
static char *read_line(const char *prompt, bool secret)
{
        struct termios old, quiet;
        bool tty = isatty(STDIN_FILENO), restore = false;
        char *line = NULL;
        size_t n = 0;
        ssize_t k;

        if (tty) {
                fputs(prompt, stderr);
                fflush(stderr);
                if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
                        quiet = old;
                        quiet.c_lflag &= ~(tcflag_t) ECHO;
                        restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
                }
        }
        k = getline(&line, &n, stdin);
        if (restore) {
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                fputc('\n', stderr);
        }
        if (k < 0) {
                free(line);
                return NULL;
        }
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
                line[--k] = 0;
        return line;
}

static int verb_login(int argc, char *argv[])
{
        _cleanup_free_ char *username = NULL, *password = NULL;
        const char *registry = "docker.io";
        bool password_stdin = false;
        int c, r;

        enum { ARG_PASSWORD_STDIN = 0x100 };
        static const struct option options[] = {
                { "username", required_argument, NULL, 'u' },
                { "password", required_argument, NULL, 'p' },
                { "password-stdin", no_argument, NULL, ARG_PASSWORD_STDIN },
                {},
        };
        while ((c = getopt_long(argc, argv, "u:p:", options, NULL)) >= 0)
                switch (c) {
                case 'u':
                        free(username);
                        username = strdup(optarg);
                        break;
                case 'p':
                        free(password);
                        password = strdup(optarg);
                        break;
                case ARG_PASSWORD_STDIN:
                        password_stdin = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 < argc) {
                fprintf(stderr,
                        "Usage: berthctl login [-u USER] [-p PASSWORD | --password-stdin] [REGISTRY]\n");
                return EXIT_USAGE;
        }
        if (optind < argc)
                registry = argv[optind];
        if (password && password_stdin) {
                fprintf(stderr, "berthctl login: --password and --password-stdin are mutually exclusive.\n");
                return EXIT_USAGE;
        }
        if (password_stdin && !username) {
                fprintf(stderr, "berthctl login: --password-stdin needs --username.\n");
                return EXIT_USAGE;
        }
        if (password)
                fprintf(stderr,
                        "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");

        if (!username)
                username = read_line("Username: ", false);
        if (!password)
                password = read_line(password_stdin ? "" : "Password: ", !password_stdin);
        if (isempty(username) || isempty(password)) {
                fprintf(stderr, "Error: a username and a password are needed.\n");
                return EXIT_ERROR;
        }

        r = manager_call("Login", NULL, "sss", registry, username, password);
        explicit_bzero(password, strlen(password));
        if (r < 0)
                return EXIT_ERROR;
        printf("Login Succeeded\n");
        return EXIT_OK;
}

static int verb_logout(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *registry = "docker.io";
        int removed = 0, r;

        if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
                fprintf(stderr, "Usage: berthctl logout [REGISTRY]\n");
                return EXIT_USAGE;
        }
        if (argc == 2)
                registry = argv[1];
        r = manager_call("Logout", &reply, "s", registry);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_read(reply, "b", &removed);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        if (removed)
                printf("Removing login credentials for %s\n", registry);
        else
                printf("Not logged in to %s\n", registry);
        return EXIT_OK;
}

const Verb push_verbs[] = {
        { "push", NULL, "[--all-tags] [--compression-format gzip|zstd] NAME[:TAG]",
          "Upload an image to a registry", verb_push },
        { "push", "image", "...", "Alias of 'push'", verb_push },
        { "login", NULL, "[-u USER] [-p PASSWORD | --password-stdin] [REGISTRY]", "Log in to a registry",
          verb_login },
        { "logout", NULL, "[REGISTRY]", "Log out from a registry", verb_logout },
        {},
};
