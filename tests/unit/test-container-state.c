/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "runtime/container-state.h"
#include "shared/fs-util.h"

typedef struct Fixture {
        char *dir;
        char *path;
        char *spare;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
        f->dir = g_dir_make_tmp("test-container-state-XXXXXX", NULL);
        g_assert_nonnull(f->dir);
        f->path = g_build_filename(f->dir, "state.json", NULL);
        f->spare = g_build_filename(f->dir, ".state.json.spare", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
        (void) g_unlink(f->path);
        (void) g_unlink(f->spare); /* the page kept for writes on a full disk (write_file_reserved_at) */
        g_assert_cmpint(g_rmdir(f->dir), ==, 0); /* also proves no temp file was left behind */
        g_free(f->path);
        g_free(f->spare);
        g_free(f->dir);
}

static void write_raw(Fixture *f, const char *s)
{
        g_assert_cmpint(write_file_atomic_at(AT_FDCWD, f->path, s, strlen(s), 0644), ==, 0);
}

static void test_status_strings(void)
{
        g_assert_cmpstr(container_status_to_string(CONTAINER_CREATED), ==, "created");
        g_assert_cmpstr(container_status_to_string(CONTAINER_RUNNING), ==, "running");
        g_assert_cmpstr(container_status_to_string(CONTAINER_EXITED), ==, "exited");
        g_assert_null(container_status_to_string(_CONTAINER_STATUS_MAX));
        g_assert_null(container_status_to_string(_CONTAINER_STATUS_INVALID));
        g_assert_cmpint(container_status_from_string("running"), ==, CONTAINER_RUNNING);
        g_assert_cmpint(container_status_from_string("paused"), ==, _CONTAINER_STATUS_INVALID);
        g_assert_cmpint(container_status_from_string(NULL), ==, _CONTAINER_STATUS_INVALID);
}

static void test_round_trip(Fixture *f, gconstpointer data)
{
        ContainerState s = {
                .status = CONTAINER_EXITED,
                .monitor_pid = 4242,
                .pid = 0,
                .started_usec = UINT64_C(1704934323123456),
                .finished_usec = UINT64_C(1704934324000001),
                .exit_code = 137,
                .exit_signal = 9,
                .error = (char *) "exec: \"foo\": executable file not found in $PATH",
                .unrecorded_end = true,
        };
        ContainerState t = CONTAINER_STATE_INIT;
        struct stat st, spare, after;

        g_assert_cmpint(container_state_load(f->path, &t), ==, -ENOENT);
        g_assert_cmpint(container_state_save(f->path, &s), ==, 0);
        g_assert_cmpint(stat(f->path, &st), ==, 0);
        g_assert_cmpuint(st.st_mode & 07777, ==, 0644);

        g_assert_cmpint(container_state_load(f->path, &t), ==, 0);
        g_assert_cmpint(t.status, ==, CONTAINER_EXITED);
        g_assert_cmpint(t.monitor_pid, ==, 4242);
        g_assert_cmpint(t.pid, ==, 0);
        g_assert_cmpuint(t.started_usec, ==, s.started_usec);
        g_assert_cmpuint(t.finished_usec, ==, s.finished_usec);
        g_assert_cmpint(t.exit_code, ==, 137);
        g_assert_cmpint(t.exit_signal, ==, 9);
        g_assert_cmpstr(t.error, ==, s.error);
        g_assert_true(t.unrecorded_end);
        container_state_done(&t);
        g_assert_null(t.error);

        /* A whole page, padded with spaces, and a spare of the same size beside it. */
        g_assert_cmpint(st.st_size, ==, 4096);
        g_assert_cmpint(stat(f->spare, &spare), ==, 0);
        g_assert_cmpint(spare.st_size, ==, 4096);

        /* Overwriting replaces; no error member means NULL. The two files trade places, so the rewrite
         * allocated nothing. */
        s = (ContainerState){ .status = CONTAINER_RUNNING, .monitor_pid = 10, .pid = 11, .started_usec = 5 };
        g_assert_cmpint(container_state_save(f->path, &s), ==, 0);
        g_assert_cmpint(stat(f->path, &after), ==, 0);
        g_assert_cmpuint(after.st_ino, ==, spare.st_ino);
        g_assert_cmpint(stat(f->spare, &spare), ==, 0);
        g_assert_cmpuint(spare.st_ino, ==, st.st_ino);
        g_assert_cmpint(container_state_load(f->path, &t), ==, 0);
        g_assert_cmpint(t.status, ==, CONTAINER_RUNNING);
        g_assert_cmpint(t.pid, ==, 11);
        g_assert_null(t.error);
        g_assert_false(t.unrecorded_end);
        container_state_done(&t);
}

/* The writer is berth-monitor's own (no JSON library); the reader is json-glib. Every member at its
 * extremes, and error strings that need escaping, must come back as they were. */
static void test_writer_extremes(Fixture *f, gconstpointer data)
{
        static const char *const errors[] = {
                "",
                "quote \" backslash \\ slash / tab \t newline \n cr \r bell \a esc \033 del \177",
                "UTF-8: ünïcödé, 日本語, 🐳",
                "{\"looks\": [\"like json\"]}",
        };
        static const struct {
                const char *in, *out;
        } replaced[] = {
                { "bad \xff byte", "bad \xef\xbf\xbd byte" },
                { "cut \xe6\x97", "cut \xef\xbf\xbd\xef\xbf\xbd" },
                { "overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd" },
                { "surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        };
        ContainerState s = {
                .status = CONTAINER_RUNNING,
                .monitor_pid = INT32_MAX,
                .pid = 1,
                .started_usec = INT64_MAX,
                .finished_usec = 0,
                .exit_code = INT32_MIN,
                .exit_signal = 64,
        };
        ContainerState t = CONTAINER_STATE_INIT;

        for (size_t i = 0; i < G_N_ELEMENTS(errors); i++) {
                s.error = (char *) errors[i];
                g_assert_cmpint(container_state_save(f->path, &s), ==, 0);
                g_assert_cmpint(container_state_load(f->path, &t), ==, 0);
                g_assert_cmpint(t.status, ==, CONTAINER_RUNNING);
                g_assert_cmpint(t.monitor_pid, ==, INT32_MAX);
                g_assert_cmpint(t.pid, ==, 1);
                g_assert_cmpuint(t.started_usec, ==, INT64_MAX);
                g_assert_cmpuint(t.finished_usec, ==, 0);
                g_assert_cmpint(t.exit_code, ==, INT32_MIN);
                g_assert_cmpint(t.exit_signal, ==, 64);
                g_assert_cmpstr(t.error, ==, errors[i]);
                container_state_done(&t);
        }
        /* Bytes that are not UTF-8 (a file name from the image) become U+FFFD, so the file stays JSON. */
        for (size_t i = 0; i < G_N_ELEMENTS(replaced); i++) {
                s.error = (char *) replaced[i].in;
                g_assert_cmpint(container_state_save(f->path, &s), ==, 0);
                g_assert_cmpint(container_state_load(f->path, &t), ==, 0);
                g_assert_cmpstr(t.error, ==, replaced[i].out);
                container_state_done(&t);
        }
        /* Beyond JSON's safe integers, as before: clamped, still readable. */
        s = (ContainerState){ .status = CONTAINER_EXITED, .finished_usec = UINT64_MAX };
        g_assert_cmpint(container_state_save(f->path, &s), ==, 0);
        g_assert_cmpint(container_state_load(f->path, &t), ==, 0);
        g_assert_cmpuint(t.finished_usec, ==, INT64_MAX);
        g_assert_null(t.error);
        container_state_done(&t);
}

static void test_minimal(Fixture *f, gconstpointer data)
{
        ContainerState t = CONTAINER_STATE_INIT;

        write_raw(f, "{\"status\":\"created\",\"unknown\":[1,2]}");
        g_assert_cmpint(container_state_load(f->path, &t), ==, 0);
        g_assert_cmpint(t.status, ==, CONTAINER_CREATED);
        g_assert_cmpint(t.pid, ==, 0);
        g_assert_cmpint(t.exit_code, ==, 0);
        container_state_done(&t);
}

static void test_malformed(Fixture *f, gconstpointer data)
{
        static const char *const bad[] = {
                "",
                "garbage",
                "[]",
                "{}",
                "{\"status\":\"paused\"}",
                "{\"status\":3}",
                "{\"status\":\"running\",\"pid\":\"12\"}",
                "{\"status\":\"running\",\"pid\":-1}",
                "{\"status\":\"running\",\"pid\":99999999999}",
                "{\"status\":\"exited\",\"exit_code\":1.5}",
                "{\"status\":\"exited\",\"error\":false}",
                "{\"status\":\"exited\"",
        };
        ContainerState s = { .status = CONTAINER_RUNNING };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                ContainerState t = CONTAINER_STATE_INIT;
                g_test_message("case %zu: %s", i, bad[i]);
                write_raw(f, bad[i]);
                g_assert_cmpint(container_state_load(f->path, &t), ==, -EBADMSG);
                g_assert_null(t.error);
        }

        /* A status beyond the table is refused, not written. */
        s.status = _CONTAINER_STATUS_MAX;
        g_assert_cmpint(container_state_save(f->path, &s), ==, -EINVAL);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/container-state/status-strings", test_status_strings);
        g_test_add("/container-state/round-trip", Fixture, NULL, fixture_setup, test_round_trip,
                   fixture_teardown);
        g_test_add("/container-state/writer-extremes", Fixture, NULL, fixture_setup, test_writer_extremes,
                   fixture_teardown);
        g_test_add("/container-state/minimal", Fixture, NULL, fixture_setup, test_minimal, fixture_teardown);
        g_test_add("/container-state/malformed", Fixture, NULL, fixture_setup, test_malformed,
                   fixture_teardown);
        return g_test_run();
}
