/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "shared/berth-messages.h"
#include "berthctl-container.h"
#include "berthctl.h"
#include "format.h"
#include "run-options.h"

/* A container's output is in the journal (berth-monitor sends each line with CONTAINER_ID_FULL=, PRIORITY=6
 * for stdout and the terminal, 3 for stderr), and after the last line one entry with MESSAGE_ID=
 * BERTH_MESSAGE_CONTAINER_EXITED and EXIT_CODE=. So a reader that follows the container's entries knows the
 * output is complete, and how it ended, without asking berthd. */

int container_journal_open(const char *id, sd_journal **ret)
{
        _cleanup_free_ char *match = NULL;
        sd_journal *j = NULL;
        int r;

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0) {
                fprintf(stderr, "Error: cannot open the journal: %s\n", strerror(-r));
                return r;
        }
        if (asprintf(&match, "CONTAINER_ID_FULL=%s", id) < 0) {
                sd_journal_close(j);
                return -ENOMEM;
        }
        r = sd_journal_add_match(j, match, 0);
        if (r >= 0)
                r = sd_journal_set_data_threshold(j, 0);
        if (r < 0) {
                sd_journal_close(j);
                fprintf(stderr, "Error: cannot read the journal: %s\n", strerror(-r));
                return r;
        }
        if (sd_journal_has_runtime_files(j) <= 0 && sd_journal_has_persistent_files(j) <= 0)
                fprintf(stderr,
                        "Warning: no system journal files are readable here; container output is only "
                        "shown to root and the systemd-journal group.\n");
        *ret = j;
        return 0;
}

int container_journal_seek_end(sd_journal *j)
{
        int r;

        /* After the last entry there is; with none yet, the head is the same place. (A bare seek_tail is not
         * a position next() reliably continues from.) */
        r = sd_journal_seek_tail(j);
        if (r >= 0)
                r = sd_journal_previous(j);
        if (r == 0)
                r = sd_journal_seek_head(j);
        return r < 0 ? r : 0;
}

/* The value of FIELD in the current entry, not NUL-terminated. */
static bool entry_field(sd_journal *j, const char *field, const char **ret, size_t *ret_len)
{
        size_t fl = strlen(field), len;
        const void *data;

        if (sd_journal_get_data(j, field, &data, &len) < 0 || len <= fl ||
            ((const char *) data)[fl] != '=') {
                if (ret_len)
                        *ret_len = 0;
                return false;
        }
        *ret = (const char *) data + fl + 1;
        if (ret_len)
                *ret_len = len - fl - 1;
        return true;
}

static bool entry_field_is(sd_journal *j, const char *field, const char *value)
{
        const char *v;
        size_t l;

        return entry_field(j, field, &v, &l) && l == strlen(value) && memcmp(v, value, l) == 0;
}

static int entry_int(sd_journal *j, const char *field, int fallback)
{
        char buf[16];
        const char *v;
        size_t l;

        if (!entry_field(j, field, &v, &l) || l == 0 || l >= sizeof(buf))
                return fallback;
        memcpy(buf, v, l);
        buf[l] = 0;
        return atoi(buf);
}

static bool entry_is_exit(sd_journal *j)
{
        return entry_field_is(j, "MESSAGE_ID", BERTH_MESSAGE_CONTAINER_EXITED);
}

/* Output entries are the ones without a MESSAGE_ID: the daemon's lifecycle messages all carry one. */
static bool entry_is_output(sd_journal *j)
{
        const char *v;
        return !entry_field(j, "MESSAGE_ID", &v, NULL);
}

static void entry_print(sd_journal *j, bool timestamps)
{
        FILE *out = entry_int(j, "PRIORITY", 6) <= 3 ? stderr : stdout;
        const char *msg = "";
        size_t len = 0;

        (void) entry_field(j, "MESSAGE", &msg, &len);
        if (timestamps) {
                char when[FORMAT_RFC3339_MAX];
                uint64_t t = 0;
                (void) sd_journal_get_realtime_usec(j, &t);
                fprintf(out, "%s ", format_rfc3339(when, sizeof(when), t));
        }
        fwrite(msg, 1, len, out);
        /* A line cut by the monitor's buffer continues in the next entry. */
        if (!entry_field_is(j, "CONTAINER_PARTIAL_MESSAGE", "true"))
                fputc('\n', out);
        /* stdout and stderr may be one pipe: keep their order. */
        fflush(out);
}

uint64_t monotonic_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* journald tells readers about new entries through inotify at most every 250 ms (it batches its change
 * notifications), but the entries are in the file's shared mapping as soon as it has written them. So after
 * output look again soon, and back off while the container is quiet: a follow of a container that ends
 * ends in milliseconds, not a quarter second. The first FOLLOW_WAIT_STEADY_USEC of quiet are looked at every
 * millisecond (a doubling wait from the start found the exit entry of `run --rm true` up to twice as late as
 * it was there: 31 ms of waits for an entry written after 17), then the wait doubles. */
#define FOLLOW_WAIT_MIN_USEC    (1 * USEC_PER_MSEC)
#define FOLLOW_WAIT_STEADY_USEC (64 * USEC_PER_MSEC)
#define FOLLOW_WAIT_MAX_USEC    (250 * USEC_PER_MSEC)
/* sd_journal_wait() sets up inotify, and a process that had inotify watches pays for them when it closes
 * them or exits: the kernel waits for an RCU grace period (5-16 ms measured here, as long as the rest of
 * `run --rm true`). So the first FOLLOW_POLL_USEC of a follow only look at the mapping, with a plain sleep
 * between the looks; a follow that lasts longer waits through inotify, whose set-up rescans the journal
 * directories, so a file journald started meanwhile (rotation) is read from then: nothing is missed. */
#define FOLLOW_POLL_USEC (64 * USEC_PER_MSEC)

int follow_run(const Follow *f, int *ret_exit_code)
{
        uint64_t wait_usec = FOLLOW_WAIT_MIN_USEC, quiet_since = monotonic_usec(), started = quiet_since;
        int r;

        for (;;) {
                r = sd_journal_next(f->j);
                if (r < 0) {
                        fprintf(stderr, "Error: cannot read the journal: %s\n", strerror(-r));
                        return r;
                }
                if (r > 0) {
                        wait_usec = FOLLOW_WAIT_MIN_USEC;
                        quiet_since = monotonic_usec();
                        if (entry_is_exit(f->j)) {
                                uint64_t t = 0;
                                (void) sd_journal_get_realtime_usec(f->j, &t);
                                if (f->follow && t >= f->exit_after_usec) {
                                        *ret_exit_code = entry_int(f->j, "EXIT_CODE", 0);
                                        return 1;
                                }
                        } else if (entry_is_output(f->j)) {
                                uint64_t t = 0;
                                if (f->since_usec > 0)
                                        (void) sd_journal_get_realtime_usec(f->j, &t);
                                if (t >= f->since_usec)
                                        entry_print(f->j, f->timestamps);
                        }
                        continue;
                }
                if (!f->follow)
                        return 0;

                if (f->idle) {
                        r = f->idle(f->userdata, ret_exit_code);
                        if (r != 0)
                                return r;
                }
                if (monotonic_usec() - started < FOLLOW_POLL_USEC) {
                        (void) usleep((useconds_t) wait_usec); /* a signal ends it early, as it should */
                        continue;
                }
                r = sd_journal_wait(f->j, wait_usec);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "Error: cannot wait for the journal: %s\n", strerror(-r));
                        return r;
                }
                if (monotonic_usec() - quiet_since >= FOLLOW_WAIT_STEADY_USEC)
                        wait_usec = MIN(wait_usec * 2, FOLLOW_WAIT_MAX_USEC);
        }
}

typedef struct LogsWatch {
        const char *path;
        uint64_t last_check;
        unsigned exited_checks;
} LogsWatch;

static int logs_idle_check(void *userdata, int *ret_exit_code)
{
        LogsWatch *w = userdata;
        _cleanup_(container_info_done) ContainerInfo c = {};
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t now = monotonic_usec();

        /* Without the final entry (a monitor killed with SIGKILL cannot write it), the container's state
         * ends the follow; checked once a second, and a few times, so that the journal delivers what is
         * still in flight first. */
        if (now - w->last_check < USEC_PER_SEC)
                return 0;
        w->last_check = now;
        if (container_info_get(w->path, &c, &error) < 0) {
                *ret_exit_code = 0;
                return 1; /* removed */
        }
        if (streq_ptr(c.state, "running") || streq_ptr(c.state, "paused")) {
                w->exited_checks = 0;
                return 0;
        }
        if (++w->exited_checks < 3)
                return 0;
        *ret_exit_code = (int) c.exit_code;
        return 1;
}

static int parse_tail(const char *s, uint64_t *ret)
{
        char *end;

        if (streq(s, "all")) {
                *ret = UINT64_MAX;
                return 0;
        }
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end)
                return -EINVAL;
        /* docker takes a negative number as "all". */
        *ret = v < 0 ? UINT64_MAX : (uint64_t) v;
        return 0;
}

int verb_logs(int argc, char *argv[])
{
        _cleanup_(container_info_done) ContainerInfo c = {};
        sd_journal *j = NULL;
        bool follow = false, timestamps = false;
        uint64_t since = 0, until = 0, tail = UINT64_MAX;
        int c_, r, exit_code;
        struct timespec ts;

        enum { ARG_SINCE = 0x100, ARG_UNTIL, ARG_HELP };
        static const struct option options[] = { { "follow", no_argument, NULL, 'f' },
                                                 { "since", required_argument, NULL, ARG_SINCE },
                                                 { "until", required_argument, NULL, ARG_UNTIL },
                                                 { "tail", required_argument, NULL, 'n' },
                                                 { "timestamps", no_argument, NULL, 't' },
                                                 { "help", no_argument, NULL, ARG_HELP },
                                                 {} };

        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;

        while ((c_ = getopt_long(argc, argv, "fn:t", options, NULL)) >= 0)
                switch (c_) {
                case 'f':
                        follow = true;
                        break;
                case ARG_SINCE:
                case ARG_UNTIL:
                        if (parse_since(optarg, now, c_ == ARG_SINCE ? &since : &until) < 0) {
                                fprintf(stderr,
                                        "berthctl logs: invalid time '%s': use RFC 3339 "
                                        "(2024-05-01T10:00:00Z), a duration back from now (10m, 2h) or a "
                                        "unix timestamp.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'n':
                        if (parse_tail(optarg, &tail) < 0) {
                                fprintf(stderr, "berthctl logs: invalid --tail '%s': a number or all.\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 't':
                        timestamps = true;
                        break;
                case ARG_HELP:
                        printf("Usage: berthctl logs [-f] [--since TIME] [--until TIME] [-n N] [-t] "
                               "CONTAINER\n\n"
                               "Show a container's output, from the journal.\n\n"
                               "  -f, --follow       Keep printing new output until the container exits\n"
                               "      --since TIME   Only output since TIME: RFC 3339, 10m/2h back, or a "
                               "unix time\n"
                               "      --until TIME   Only output before TIME\n"
                               "  -n, --tail N       Only the last N lines (default all)\n"
                               "  -t, --timestamps   Prefix each line with its time\n");
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: berthctl logs [-f] [--since TIME] [-n N] [-t] CONTAINER\n");
                return EXIT_USAGE;
        }
        if (until > 0 && follow) {
                fprintf(stderr, "berthctl logs: --until and --follow do not go together.\n");
                return EXIT_USAGE;
        }

        r = container_lookup(argv[optind], &c);
        if (r < 0)
                return EXIT_ERROR;
        r = container_journal_open(c.id, &j);
        if (r < 0)
                return EXIT_ERROR;

        if (tail == UINT64_MAX) {
                r = since > 0 ? sd_journal_seek_realtime_usec(j, since) : sd_journal_seek_head(j);
        } else {
                /* Walk back from the end over the last `tail` output lines (not older than --since), then
                 * read forward from the earliest of them. */
                _cleanup_free_ char *first = NULL;
                uint64_t n = 0;

                r = sd_journal_seek_tail(j);
                while (r >= 0 && n < tail) {
                        uint64_t t = 0;

                        r = sd_journal_previous(j);
                        if (r <= 0)
                                break;
                        (void) sd_journal_get_realtime_usec(j, &t);
                        if (t < since)
                                break;
                        if (until > 0 && t >= until)
                                continue;
                        if (!entry_is_output(j))
                                continue;
                        n++;
                        free(first);
                        first = NULL;
                        r = sd_journal_get_cursor(j, &first);
                }
                if (r >= 0 && first) {
                        r = sd_journal_seek_cursor(j, first);
                } else if (r >= 0)
                        r = container_journal_seek_end(j);
        }
        if (r < 0) {
                fprintf(stderr, "Error: cannot read the journal: %s\n", strerror(-r));
                sd_journal_close(j);
                return EXIT_ERROR;
        }

        /* Follow only what runs now: an exited container's output is complete. */
        LogsWatch watch = { .path = c.path, .last_check = monotonic_usec() };
        Follow f = {
                .j = j,
                .timestamps = timestamps,
                .since_usec = since,
                .follow = follow && (streq_ptr(c.state, "running") || streq_ptr(c.state, "paused")),
                .exit_after_usec = c.started_usec,
                .idle = logs_idle_check,
                .userdata = &watch,
        };
        if (until == 0)
                r = follow_run(&f, &exit_code);
        else
                for (;;) {
                        uint64_t t = 0;

                        r = sd_journal_next(j);
                        if (r <= 0)
                                break;
                        (void) sd_journal_get_realtime_usec(j, &t);
                        if (t >= until)
                                break;
                        if (t >= since && entry_is_output(j))
                                entry_print(j, timestamps);
                }
        sd_journal_close(j);
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}
