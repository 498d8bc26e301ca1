/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl cp: docker cp over Container.GetArchive and PutArchive, tar streams both ways
 * (store/tree-archive.h makes and reads them on our side). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glib.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berthctl-attach.h"
#include "berthctl-container.h"
#include "berthctl.h"
#include "store/tree-archive.h"

/* docker's rule: "NAME:PATH" names a container's path unless what comes before the colon looks like a local
 * path (starts with '/' or '.', or has a '/'). */
static bool split_container_path(const char *arg, char **ret_container, const char **ret_path)
{
        const char *colon = strchr(arg, ':');

        if (!colon || colon == arg || arg[0] == '/' || arg[0] == '.' ||
            memchr(arg, '/', (size_t) (colon - arg)))
                return false;
        *ret_container = g_strndup(arg, (size_t) (colon - arg));
        *ret_path = colon + 1;
        return true;
}

static int archive_call(const char *object, const char *member, const char *path, int tar_fd, bool owners,
                        int *ret_fd)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus *bus;
        int r, fd;

        r = bus_get(&bus);
        if (r < 0)
                return log_bus_error(NULL, r);
        r = sd_bus_message_new_method_call(bus, &m, "org.berth1", object, "org.berth1.Container", member);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", path);
        if (r >= 0 && tar_fd >= 0)
                r = sd_bus_message_append(m, "h", tar_fd);
        if (r >= 0 && tar_fd >= 0 && owners)
                r = sd_bus_message_append(m, "a{sv}", 1, "owners", "b", 1);
        else if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_bus_error(NULL, r);
        r = manager_call_message(m, &reply);
        if (r < 0 || !ret_fd)
                return r;
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return log_bus_error(NULL, r);
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_bus_error(NULL, -errno);
        *ret_fd = fd;
        return 0;
}

static int copy_fd(int from, int to)
{
        char buf[64 * 1024];

        for (;;) {
                ssize_t n = read(from, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : 0;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(to, buf + off, (size_t) (n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        off += w;
                }
        }
}

/* An existing directory takes the tree; otherwise the tree becomes dest in its parent (docker cp's rule). */
static int extract_local(const char *dest, int fd, bool owners)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *d = g_strdup(dest), *b = g_strdup(dest);
        struct stat st;
        int r;

        if (stat(dest, &st) >= 0 && S_ISDIR(st.st_mode))
                r = tree_archive_extract(dest, fd, NULL, owners, &e);
        else
                r = tree_archive_extract(dirname(d), fd, basename(b), owners, &e);
        if (r < 0)
                fprintf(stderr, "Error: %s\n", e.message ?: strerror(-r));
        return r;
}

static int copy_out(const char *object, const char *path, const char *dest, bool owners)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = archive_call(object, "GetArchive", path, -EBADF, false, &fd);
        if (r < 0)
                return r;
        if (streq(dest, "-")) {
                r = copy_fd(fd, STDOUT_FILENO);
                if (r < 0)
                        fprintf(stderr, "Error: cannot write the archive: %s\n", strerror(-r));
                return r;
        }
        return extract_local(dest, fd, owners);
}

static int copy_in(const char *src, const char *object, const char *path, bool owners)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        int pipefd[2], status = 0, r;
        struct stat st;
        pid_t pid;

        if (streq(src, "-"))
                return archive_call(object, "PutArchive", path, STDIN_FILENO, owners, NULL);
        if (lstat(src, &st) < 0) {
                fprintf(stderr, "Error: cannot copy '%s': %m\n", src);
                return -errno;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        /* The tar is made by a child while berthd's child reads it: neither waits for the whole. */
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                safe_close(pipefd[0]);
                r = tree_archive_write(src, pipefd[1], &e);
                if (r < 0)
                        fprintf(stderr, "Error: %s\n", e.message ?: strerror(-r));
                _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }
        safe_close(pipefd[1]);
        r = archive_call(object, "PutArchive", path, pipefd[0], owners, NULL);
        safe_close(pipefd[0]);
        (void) waitpid(pid, &status, 0);
        if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                r = -EIO;
        return r;
}

int verb_cp(int argc, char *argv[])
{
        _cleanup_(container_info_done) ContainerInfo info = {};
        g_autofree char *src_container = NULL, *dest_container = NULL;
        const char *src_path, *dest_path;
        bool owners = false;
        int c, r;

        static const struct option options[] = {
                { "archive", no_argument, NULL, 'a' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        while ((c = getopt_long(argc, argv, "ah", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        owners = true;
                        break;
                case 'h':
                        printf("Usage: berthctl cp [-a] CONTAINER:SRC DEST|-\n"
                               "       berthctl cp [-a] SRC|- CONTAINER:DEST\n\n"
                               "Copy files and trees out of or into a container ('-': a tar stream).\n\n"
                               "  -a, --archive   Keep owners (uid/gid)\n");
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 2 != argc) {
                fprintf(stderr, "berthctl cp: a source and a destination are needed.\n");
                return EXIT_USAGE;
        }
        bool src_in = split_container_path(argv[optind], &src_container, &src_path);
        bool dest_in = split_container_path(argv[optind + 1], &dest_container, &dest_path);
        if (src_in == dest_in) {
                fprintf(stderr,
                        "berthctl cp: exactly one of source and destination must be CONTAINER:PATH.\n");
                return EXIT_USAGE;
        }
        if (container_lookup(src_in ? src_container : dest_container, &info) < 0)
                return EXIT_ERROR;
        /* Paths in the container are absolute; a relative one is from its root, as docker takes it. */
        g_autofree char *abs = g_strdup_printf("%s%s", (src_in ? src_path : dest_path)[0] == '/' ? "" : "/",
                                               src_in ? src_path : dest_path);
        if (src_in)
                r = copy_out(info.path, abs, argv[optind + 1], owners);
        else
                r = copy_in(argv[optind], info.path, abs, owners);
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}
