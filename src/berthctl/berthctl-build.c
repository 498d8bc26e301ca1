/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berthctl.h"
#include "build/dockerignore.h"
#include "shared/fs-util.h"
#include "store/build-copy.h"

/* `berthctl build`: the context as a tar on a pipe (a directory is tarred here, leaving out what its
 * .dockerignore names; `-` and a tarball are passed through), BuildImage, and the Build's signals printed as
 * Docker's classic builder prints them. */

#define EXTRA_DOCKERFILE ".berth-dockerfile"

typedef struct BuildState {
        const char *path;
        bool quiet, finished;
        char *result, *error_name, *error_message, *image_id;
} BuildState;

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
        interrupted = 1;
}

static int on_build_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        BuildState *s = userdata;
        const char *member = sd_bus_message_get_member(m);

        if (!s->path || !streq_ptr(sd_bus_message_get_path(m), s->path))
                return 0;
        if (streq(member, "StepStarted")) {
                uint32_t index, count;
                const char *text;
                if (sd_bus_message_read(m, "uus", &index, &count, &text) >= 0 && !s->quiet)
                        printf("Step %u/%u : %s\n", index, count, text);
        } else if (streq(member, "Output")) {
                const char *text;
                if (sd_bus_message_read(m, "s", &text) >= 0 && !s->quiet)
                        printf("%s\n", text);
        } else if (streq(member, "StepFinished")) {
                uint32_t index;
                int cached;
                const char *id;
                if (sd_bus_message_read(m, "ubs", &index, &cached, &id) >= 0 && !s->quiet && !isempty(id))
                        printf(" ---> %.12s\n", startswith(id, "sha256:") ?: id);
        } else if (streq(member, "Finished")) {
                const char *result, *name, *message, *image;
                if (sd_bus_message_read(m, "ssss", &result, &name, &message, &image) < 0)
                        return 0;
                s->result = g_strdup(result);
                s->error_name = g_strdup(name);
                s->error_message = g_strdup(message);
                s->image_id = g_strdup(image);
                s->finished = true;
        }
        fflush(stdout);
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        BuildState *s = userdata;
        const char *name, *old, *new;

        if (sd_bus_message_read(m, "sss", &name, &old, &new) >= 0 && streq(name, "org.berth1") &&
            isempty(new) && !s->finished) {
                s->finished = true;
                s->error_name = g_strdup("org.freedesktop.DBus.Error.NoReply");
                s->error_message = g_strdup("berthd went away during the build");
        }
        return 0;
}

typedef struct Ignore {
        Dockerignore *d;
        const char *dockerfile;
} Ignore;

static int context_filter(const char *path, bool is_dir, void *userdata)
{
        Ignore *ig = userdata;

        /* Docker's client always sends these two. */
        if (streq(path, ".dockerignore") || streq_ptr(path, ig->dockerfile))
                return 0;
        if (!dockerignore_excludes(ig->d, path))
                return 0;
        return is_dir && dockerignore_can_skip_dir(ig->d, path) ? 2 : 1;
}

/* A child writes the directory's tar into the pipe while berthd reads it. */
static int spawn_context_writer(const char *dir, const char *extra_path, const char *dockerfile, int *ret_fd,
                                pid_t *ret_pid)
{
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -EBADF;
        size_t size = 0;
        Ignore ig = { .dockerfile = dockerfile };
        pid_t pid;
        int r;

        dfd = open_dir_at(AT_FDCWD, dir);
        if (dfd < 0) {
                fprintf(stderr, "Error: cannot open the context '%s': %s\n", dir, strerror(-dfd));
                return dfd;
        }
        r = read_file_at(dfd, ".dockerignore", 1024 * 1024, &text, &size);
        if (r >= 0) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                r = dockerignore_parse(text, size, &ig.d, &e);
                if (r < 0) {
                        fprintf(stderr, "Error: %s\n", berth_error_message(&e));
                        return r;
                }
        } else if (r != -ENOENT) {
                fprintf(stderr, "Error: cannot read .dockerignore: %s\n", strerror(-r));
                return r;
        }
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                (void) signal(SIGPIPE, SIG_IGN);
                (void) signal(SIGINT, SIG_IGN);
                p[0] = safe_close(p[0]);
                r = build_context_write(dir, extra_path, EXTRA_DOCKERFILE, context_filter, &ig, p[1], &e);
                if (r < 0 && r != -EPIPE)
                        fprintf(stderr, "Error: %s\n", berth_error_message(&e));
                _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }
        dockerignore_free(ig.d);
        *ret_fd = TAKE_FD(p[0]);
        *ret_pid = pid;
        return 0;
}

static int append_dict(sd_bus_message *call, const char *key, char **pairs)
{
        int r;

        r = sd_bus_message_open_container(call, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'v', "a{ss}");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{ss}");
        for (char **p = pairs; r >= 0 && p[0] && p[1]; p += 2)
                r = sd_bus_message_append(call, "{ss}", p[0], p[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        return r;
}

/* "K=V" → K, V; "K" alone takes K from our environment, and is left out when unset (Docker's rule). */
static void add_pair(GPtrArray *a, const char *s, bool from_env)
{
        const char *eq = strchr(s, '=');

        if (eq) {
                g_ptr_array_add(a, g_strndup(s, eq - s));
                g_ptr_array_add(a, g_strdup(eq + 1));
        } else if (from_env && getenv(s)) {
                g_ptr_array_add(a, g_strdup(s));
                g_ptr_array_add(a, g_strdup(getenv(s)));
        } else if (!from_env) {
                g_ptr_array_add(a, g_strdup(s));
                g_ptr_array_add(a, g_strdup(""));
        }
}

int verb_build(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *owner_slot = NULL;
        g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func(g_free);
        _cleanup_free_ char *dockerfile = NULL, *extra = NULL;
        const char *file = NULL, *target = NULL, *network = NULL, *context;
        bool no_cache = false, pull = false, quiet = false;
        _cleanup_close_ int fd = -EBADF;
        BuildState s = {};
        pid_t writer = 0;
        struct stat st;
        sd_bus *bus;
        int c, r;

        enum { ARG_BUILD_ARG = 0x100, ARG_TARGET, ARG_NO_CACHE, ARG_PULL, ARG_NETWORK, ARG_LABEL };
        static const struct option options[] = { { "tag", required_argument, NULL, 't' },
                                                 { "file", required_argument, NULL, 'f' },
                                                 { "build-arg", required_argument, NULL, ARG_BUILD_ARG },
                                                 { "target", required_argument, NULL, ARG_TARGET },
                                                 { "no-cache", no_argument, NULL, ARG_NO_CACHE },
                                                 { "pull", no_argument, NULL, ARG_PULL },
                                                 { "network", required_argument, NULL, ARG_NETWORK },
                                                 { "label", required_argument, NULL, ARG_LABEL },
                                                 { "quiet", no_argument, NULL, 'q' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "t:f:q", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        g_ptr_array_add(tags, g_strdup(optarg));
                        break;
                case 'f':
                        file = optarg;
                        break;
                case ARG_BUILD_ARG:
                        add_pair(args, optarg, true);
                        break;
                case ARG_TARGET:
                        target = optarg;
                        break;
                case ARG_NO_CACHE:
                        no_cache = true;
                        break;
                case ARG_PULL:
                        pull = true;
                        break;
                case ARG_NETWORK:
                        network = optarg;
                        break;
                case ARG_LABEL:
                        add_pair(labels, optarg, false);
                        break;
                case 'q':
                        quiet = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: berthctl build [OPTIONS] PATH | -\n");
                return EXIT_USAGE;
        }
        context = argv[optind];
        g_ptr_array_add(tags, NULL);
        g_ptr_array_add(args, NULL);
        g_ptr_array_add(labels, NULL);

        if (streq(context, "-"))
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        else if (stat(context, &st) < 0) {
                fprintf(stderr, "Error: unable to prepare context: path \"%s\" not found\n", context);
                return EXIT_ERROR;
        } else if (S_ISDIR(st.st_mode)) {
                if (file) {
                        /* Inside the context: its path there; outside: sent along, as Docker's client does.
                         */
                        _cleanup_free_ char *cdir = realpath(context, NULL), *f = realpath(file, NULL);
                        const char *rel = cdir && f ? startswith(f, cdir) : NULL;
                        if (!f) {
                                fprintf(stderr, "Error: cannot find the Dockerfile '%s'\n", file);
                                return EXIT_ERROR;
                        }
                        if (rel && rel[0] == '/')
                                dockerfile = strdup(rel + 1);
                        else {
                                extra = strdup(f);
                                dockerfile = strdup(EXTRA_DOCKERFILE);
                        }
                }
                r = spawn_context_writer(context, extra, dockerfile ?: "Dockerfile", &fd, &writer);
                if (r < 0)
                        return EXIT_ERROR;
        } else
                fd = open(context, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "Error: cannot open the context '%s': %m\n", context);
                return EXIT_ERROR;
        }
        if (!dockerfile && file)
                dockerfile = strdup(file);

        r = bus_get(&bus);
        if (r < 0)
                return EXIT_DAEMON;
        r = sd_bus_match_signal(bus, &slot, "org.berth1", NULL, "org.berth1.Build", NULL, on_build_signal,
                                &s);
        if (r >= 0)
                r = sd_bus_add_match(
                        bus, &owner_slot,
                        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.berth1'",
                        on_owner_changed, &s);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;

        r = manager_new_call("BuildImage", &call);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_append(call, "h", fd);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && tags->len > 1) {
                r = sd_bus_message_open_container(call, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(call, "s", "tags");
                if (r >= 0)
                        r = sd_bus_message_open_container(call, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(call, (char **) tags->pdata);
                if (r >= 0)
                        r = sd_bus_message_close_container(call);
                if (r >= 0)
                        r = sd_bus_message_close_container(call);
        }
        if (r >= 0 && dockerfile)
                r = sd_bus_message_append(call, "{sv}", "dockerfile", "s", dockerfile);
        if (r >= 0 && target)
                r = sd_bus_message_append(call, "{sv}", "target", "s", target);
        if (r >= 0 && network)
                r = sd_bus_message_append(call, "{sv}", "network", "s", network);
        if (r >= 0 && no_cache)
                r = sd_bus_message_append(call, "{sv}", "no_cache", "b", 1);
        if (r >= 0 && pull)
                r = sd_bus_message_append(call, "{sv}", "pull", "b", 1);
        if (r >= 0 && quiet)
                r = sd_bus_message_append(call, "{sv}", "quiet", "b", 1);
        if (r >= 0 && args->len > 1)
                r = append_dict(call, "build_args", (char **) args->pdata);
        if (r >= 0 && labels->len > 1)
                r = append_dict(call, "labels", (char **) labels->pdata);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;

        s.quiet = quiet;
        r = manager_call_message(call, &reply);
        fd = safe_close(fd);
        if (r < 0) {
                if (writer > 0)
                        (void) kill(writer, SIGKILL), (void) waitpid(writer, NULL, 0);
                return EXIT_ERROR;
        }
        r = sd_bus_message_read(reply, "o", &s.path);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;

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
                        (void) sd_bus_call_method(bus, "org.berth1", s.path, "org.berth1.Build", "Cancel",
                                                  NULL, NULL, NULL);
                        continue;
                }
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        break;
        }
        sigaction(SIGINT, &old, NULL);
        if (writer > 0)
                (void) waitpid(writer, NULL, 0);
        if (!s.finished)
                return log_bus_error(NULL, r), EXIT_ERROR;
        if (!isempty(s.error_name)) {
                sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(s.error_name, s.error_message);
                log_bus_error(&e, -EIO);
                return EXIT_ERROR;
        }
        if (quiet) {
                printf("%s\n", s.image_id);
                return EXIT_OK;
        }
        for (char **t = (char **) tags->pdata; *t; t++) {
                const char *slash = strrchr(*t, '/');
                bool has_tag = strchr(slash ? slash : *t, ':') != NULL;
                printf("Successfully tagged %s%s\n", *t, has_tag ? "" : ":latest");
        }
        return EXIT_OK;
}
