/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* save and load: the archive goes to and from berthd as an fd; berthd writes or reads it itself. */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berthctl.h"
#include "format.h"
#include "shared/log.h"

typedef struct Call {
        const char *verb; /* "Loading", "Saving" */
        bool show;        /* progress on stderr (a terminal) */
        bool done, shown;
        sd_bus_message *reply;
        sd_bus_error error;
} Call;

static int on_progress(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Call *c = userdata;
        uint64_t done, total;
        char a[32], b[32];

        if (!c->show || sd_bus_message_read(m, "tt", &done, &total) < 0)
                return 0;
        if (total > 0)
                fprintf(stderr, "\r\033[K%s %s/%s", c->verb, format_size(a, sizeof(a), done),
                        format_size(b, sizeof(b), total));
        else
                fprintf(stderr, "\r\033[K%s %s", c->verb, format_size(a, sizeof(a), done));
        c->shown = true;
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Call *c = userdata;

        const sd_bus_error *e = sd_bus_message_get_error(m);

        c->done = true;
        if (e)
                (void) sd_bus_error_set(&c->error, e->name, e->message);
        else
                c->reply = sd_bus_message_ref(m);
        return 0;
}

/* Answered when the archive is done, however big: no timeout. Meanwhile berthd's ArchiveProgress signals,
 * sent to us alone, are shown on a terminal. */
static int call_long(sd_bus_message *m, const char *verb, bool quiet, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *match = NULL, *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(m);
        Call c = { .verb = verb, .show = !quiet && isatty(STDERR_FILENO), .error = SD_BUS_ERROR_NULL };
        int r;

        polkit_agent_open_if_enabled();
        if (c.show)
                (void) sd_bus_match_signal(bus, &match, "org.berth1", "/org/berth1", "org.berth1.Manager",
                                           "ArchiveProgress", on_progress, &c);
        r = sd_bus_call_async(bus, &call, m, on_reply, &c, UINT64_MAX - 1);
        while (r >= 0 && !c.done) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
        }
        if (c.shown)
                fputs("\r\033[K", stderr);
        if (r >= 0 && sd_bus_error_is_set(&c.error))
                r = -(sd_bus_error_get_errno(&c.error) ?: EIO);
        if (r < 0) {
                r = log_bus_error(&c.error, r);
                sd_bus_error_free(&c.error);
                return r;
        }
        *ret_reply = c.reply;
        return 0;
}

static void save_usage(FILE *f)
{
        fprintf(f, "Usage: berthctl save [-o FILE] [--format docker-archive|oci-archive] IMAGE...\n\n"
                   "Write images, with all their layers, to a tar archive (standard output by default).\n");
}

static int verb_save(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *output = NULL, *format = "docker-archive";
        int c, r;

        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        while ((c = getopt_long(argc, argv, "o:h", options, NULL)) >= 0)
                switch (c) {
                case 'o':
                        output = optarg;
                        break;
                case 'f':
                        if (!streq(optarg, "docker-archive") && !streq(optarg, "oci-archive")) {
                                fprintf(stderr,
                                        "berthctl save: unknown --format '%s': docker-archive or "
                                        "oci-archive.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        format = optarg;
                        break;
                case 'h':
                        save_usage(stdout);
                        return EXIT_OK;
                default:
                        save_usage(stderr);
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                save_usage(stderr);
                return EXIT_USAGE;
        }

        if (output) {
                /* Into a temp file beside it, renamed at the end: a failed save leaves no half archive and
                 * does not destroy an older file of that name. */
                g_autofree char *copy = g_strdup(output);
                tmp = g_strdup_printf("%s/.berth-save-XXXXXX", dirname(copy));
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "Error: cannot create %s: %m\n", output);
                        return EXIT_ERROR;
                }
                (void) fchmod(fd, 0644 & ~umask(umask(0)));
        } else {
                if (isatty(STDOUT_FILENO)) {
                        fprintf(stderr, "Error: cowardly refusing to save to a terminal. Use the -o flag or "
                                        "redirect.\n");
                        return EXIT_ERROR;
                }
                fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
                if (fd < 0) {
                        fprintf(stderr, "Error: %m\n");
                        return EXIT_ERROR;
                }
        }

        r = manager_new_call("SaveImages", &m);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv + optind);
        if (r >= 0)
                r = sd_bus_message_append(m, "ha{sv}", fd, 1, "format", "s", format);
        if (r < 0)
                log_bus_error(NULL, r);
        if (r >= 0)
                r = call_long(m, "Saving", false, &reply);
        if (r >= 0 && output && (fsync(fd) < 0 || rename(tmp, output) < 0)) {
                fprintf(stderr, "Error: cannot write %s: %m\n", output);
                r = -errno;
        }
        if (r < 0 && tmp)
                (void) unlink(tmp);
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}

static void load_usage(FILE *f)
{
        fprintf(f,
                "Usage: berthctl load [-i FILE] [-q]\n\n"
                "Load images from a docker-archive or OCI image layout tar, plain or compressed with gzip,\n"
                "zstd or xz (standard input by default).\n");
}

static int verb_load(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        g_auto(GStrv) loaded = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *input = NULL;
        bool quiet = false;
        int c, r;

        static const struct option options[] = {
                { "input", required_argument, NULL, 'i' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        while ((c = getopt_long(argc, argv, "i:qh", options, NULL)) >= 0)
                switch (c) {
                case 'i':
                        input = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        load_usage(stdout);
                        return EXIT_OK;
                default:
                        load_usage(stderr);
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                load_usage(stderr);
                return EXIT_USAGE;
        }

        if (input) {
                fd = open(input, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        fprintf(stderr, "Error: cannot open %s: %m\n", input);
                        return EXIT_ERROR;
                }
        } else {
                if (isatty(STDIN_FILENO)) {
                        fprintf(stderr,
                                "Error: requested load from stdin, but stdin is a terminal. Use -i or "
                                "redirect.\n");
                        return EXIT_ERROR;
                }
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
                if (fd < 0) {
                        fprintf(stderr, "Error: %m\n");
                        return EXIT_ERROR;
                }
        }

        r = manager_new_call("LoadImages", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ha{sv}", fd, 0);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        r = call_long(m, "Loading", quiet, &reply);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_read_strv(reply, &loaded);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        if (!quiet)
                STRV_FOREACH (l, loaded)
                        printf("Loaded image%s: %s\n", startswith(*l, "sha256:") ? " ID" : "", *l);
        return EXIT_OK;
}

const Verb save_load_verbs[] = {
        { "save", NULL, "[-o FILE] [--format F] IMAGE...", "Write images to a tar archive", verb_save },
        { "save", "image", "...", "Alias of 'save'", verb_save },
        { "load", NULL, "[-i FILE] [-q]", "Load images from a tar archive", verb_load },
        { "load", "image", "...", "Alias of 'load'", verb_load },
        {},
};
