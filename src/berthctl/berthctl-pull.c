/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "berthctl.h"
#include "format.h"

/* `berthctl pull` (and push's transfer, berthctl-push.c): Docker's output. On a terminal one line per
 * layer, redrawn in place; otherwise each status change once, as plain lines. */

typedef struct PullLayer {
        char *id;
        char *status;
        uint64_t done, total;
} PullLayer;

typedef struct PullState {
        const char *path;
        GArray *layers; /* PullLayer */
        FILE *out;
        bool tty, quiet, finished;
        unsigned drawn; /* layer lines currently on screen */
        char *result, *error_name, *error_message, *digest, *image_id;
} PullState;

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
        interrupted = 1;
}

static PullLayer *find_layer(PullState *s, const char *id)
{
        for (guint i = 0; i < s->layers->len; i++) {
                PullLayer *l = &g_array_index(s->layers, PullLayer, i);
                if (streq(l->id, id))
                        return l;
        }
        PullLayer n = { .id = g_strdup(id) };
        g_array_append_val(s->layers, n);
        return &g_array_index(s->layers, PullLayer, s->layers->len - 1);
}

static void format_layer(const PullLayer *l, char *buf, size_t len)
{
        if (streq(l->status, "Pushing") && l->total == 0 && l->done > 0) {
                char done[FORMAT_SIZE_MAX];
                snprintf(buf, len, "%s: %s  %s", l->id, l->status, format_size(done, sizeof(done), l->done));
        } else if ((streq(l->status, "Downloading") || streq(l->status, "Pushing")) && l->total > 0) {
                char done[FORMAT_SIZE_MAX], total[FORMAT_SIZE_MAX], bar[52];
                unsigned width = 50, fill = (unsigned) (l->done * width / MAX(l->total, 1));

                fill = MIN(fill, width);
                memset(bar, '=', fill);
                if (fill < width)
                        bar[fill] = '>';
                memset(bar + fill + 1, ' ', width > fill + 1 ? width - fill - 1 : 0);
                bar[width] = 0;
                snprintf(buf, len, "%s: %s [%s]  %s/%s", l->id, l->status, bar,
                         format_size(done, sizeof(done), l->done),
                         format_size(total, sizeof(total), l->total));
        } else
                snprintf(buf, len, "%s: %s", l->id, l->status);
}

static void redraw(PullState *s)
{
        char line[256];

        if (s->drawn > 0)
                fprintf(s->out, "\033[%uA", s->drawn);
        for (guint i = 0; i < s->layers->len; i++) {
                format_layer(&g_array_index(s->layers, PullLayer, i), line, sizeof(line));
                fprintf(s->out, "\033[2K%s\n", line);
        }
        s->drawn = s->layers->len;
        fflush(s->out);
}

static int on_transfer_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        PullState *s = userdata;
        const char *member = sd_bus_message_get_member(m);
        int r;

        if (!streq_ptr(sd_bus_message_get_path(m), s->path))
                return 0;

        if (streq(member, "Message")) {
                const char *text;
                r = sd_bus_message_read(m, "s", &text);
                if (r >= 0 && !s->quiet) {
                        /* Layer lines stay above; Digest/Status go below them. */
                        fprintf(s->out, "%s\n", text);
                        if (s->tty)
                                s->drawn = 0, redraw(s);
                        else
                                fflush(s->out); /* a line at a time into a pipe or a log, as it happens */
                }
        } else if (streq(member, "LayerProgress")) {
                const char *id, *status;
                uint64_t done, total;
                r = sd_bus_message_read(m, "sstt", &id, &status, &done, &total);
                if (r < 0)
                        return 0;
                PullLayer *l = find_layer(s, id);
                bool changed = !streq_ptr(l->status, status);
                g_free(l->status);
                l->status = g_strdup(status);
                l->done = done;
                l->total = total;
                if (s->quiet)
                        return 0;
                if (s->tty)
                        redraw(s);
                else if (changed && !streq(status, "Downloading") && !streq(status, "Waiting") &&
                         !streq(status, "Extracting")) {
                        fprintf(s->out, "%s: %s\n", id, status);
                        fflush(s->out);
                }
        } else if (streq(member, "Finished")) {
                const char *result, *name, *message, *digest, *image;
                r = sd_bus_message_read(m, "sssss", &result, &name, &message, &digest, &image);
                if (r < 0)
                        return 0;
                s->result = g_strdup(result);
                s->error_name = g_strdup(name);
                s->error_message = g_strdup(message);
                s->digest = g_strdup(digest);
                s->image_id = g_strdup(image);
                s->finished = true;
        }
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        PullState *s = userdata;
        const char *name, *old, *new;

        if (sd_bus_message_read(m, "sss", &name, &old, &new) >= 0 && streq(name, "org.berth1") &&
            isempty(new) && !s->finished) {
                s->finished = true;
                s->result = g_strdup("failed");
                s->error_name = g_strdup("org.freedesktop.DBus.Error.NoReply");
                s->error_message = g_strdup("berthd went away during the transfer");
        }
        return 0;
}

int pull_image(const char *ref, FILE *out, bool quiet, char **ret_reference)
{
        return transfer_run("PullImage", ref, NULL, NULL, out, quiet, ret_reference);
}

int transfer_run(const char *method, const char *ref, const char *option_key, const char *option_value,
                 FILE *out, bool quiet, char **ret_reference)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *owner_slot = NULL;
        PullState s = { .out = out, .tty = isatty(fileno(out)), .quiet = quiet };
        _cleanup_free_ char *reference = NULL;
        const char *path;
        sd_bus *bus;
        int r;

        r = bus_get(&bus);
        if (r < 0)
                return r;
        /* Subscribe before asking, so not one signal of the transfer is missed. Quiet, only to its end: the
         * bus then does not pass on the progress (some nine signals a layer), which would only be read and
         * dropped here. */
        r = sd_bus_match_signal(bus, &slot, "org.berth1", NULL, "org.berth1.Transfer",
                                quiet ? "Finished" : NULL, on_transfer_signal, &s);
        if (r >= 0)
                /* Only org.berth1's owner: every other client's exit is a NameOwnerChanged too (two
                 * concurrent pulls took each other's end for berthd's). */
                r = sd_bus_add_match(
                        bus, &owner_slot,
                        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.berth1'",
                        on_owner_changed, &s);
        if (r < 0)
                return log_bus_error(NULL, r);

        r = manager_new_call(method, &call);
        if (r < 0)
                return r;
        if (option_key)
                r = sd_bus_message_append(call, "sa{sv}", ref, 1, option_key, "s", option_value);
        else
                r = sd_bus_message_append(call, "sa{sv}", ref, 0);
        if (r < 0)
                return log_bus_error(NULL, r);
        r = manager_call_message(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(NULL, r);
        s.path = path;
        /* Read now: the object is gone once the pull ends. */
        (void) sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Transfer", "Reference", NULL,
                                          &reference);
        s.layers = g_array_new(false, true, sizeof(PullLayer));

        struct sigaction sa = { .sa_handler = on_sigint }, old;
        sigaction(SIGINT, &sa, &old);

        while (!s.finished) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        break;
                if (r > 0)
                        continue;
                if (interrupted) {
                        interrupted = 0;
                        (void) sd_bus_call_method(bus, "org.berth1", path, "org.berth1.Transfer", "Cancel",
                                                  NULL, NULL, NULL);
                        continue;
                }
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        break;
        }
        sigaction(SIGINT, &old, NULL);
        if (!s.finished)
                return log_bus_error(NULL, r);

        if (!isempty(s.error_name)) {
                sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(s.error_name, s.error_message);
                return log_bus_error(&e, -EIO);
        }
        if (ret_reference)
                *ret_reference = TAKE_PTR(reference) ?: strdup(ref);
        return 0;
}

int verb_pull(int argc, char *argv[])
{
        _cleanup_free_ char *reference = NULL;
        bool quiet = false;
        int c;

        static const struct option options[] = { { "quiet", no_argument, NULL, 'q' }, {} };
        while ((c = getopt_long(argc, argv, "q", options, NULL)) >= 0)
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: berthctl pull [-q] NAME[:TAG|@DIGEST]\n");
                return EXIT_USAGE;
        }

        if (pull_image(argv[optind], stdout, quiet, &reference) < 0)
                return EXIT_ERROR;
        /* Docker ends with the full name it pulled. */
        printf("%s\n", reference);
        return EXIT_OK;
}
