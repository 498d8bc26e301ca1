/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>

#include "runtime/user-lookup.h"
#include "shared/fs-util.h"
#include "shared/log.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);

/* Room for one passwd or group line; longer lines (huge member lists) are skipped by fget*ent_r. */
#define ENTRY_BUFFER_SIZE 16384
#define GROUPS_MAX        65536

void user_ids_done(UserIds *u)
{
        if (!u)
                return;
        u->groups = mfree(u->groups);
        u->n_groups = 0;
        u->home = mfree(u->home);
}

static int open_in_root(int root_fd, const char *path, FILE **ret)
{
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        FILE *f;
        int fd;

        fd = openat2_retry(root_fd, path, &how);
        if (fd < 0)
                return fd;
        f = fdopen(fd, "re");
        if (!f) {
                safe_close(fd);
                return -ENOMEM;
        }
        *ret = f;
        return 0;
}

/* Decimal id in [0, 2^31-1): what runc accepts and what never collides with (uid_t) -1. */
static bool parse_id(const char *s, unsigned *ret)
{
        unsigned long v;
        char *end;

        if (isempty(s) || s[0] < '0' || s[0] > '9')
                return false;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v >= INT32_MAX)
                return false;
        *ret = (unsigned) v;
        return true;
}

/* Finds the passwd entry by name (or, when name is NULL, by uid). 1 found, 0 not, negative on error. */
static int find_passwd(int root_fd, const char *name, uid_t uid, uid_t *ret_uid, gid_t *ret_gid,
                       char **ret_name, char **ret_home)
{
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *buf = malloc(ENTRY_BUFFER_SIZE);
        struct passwd pw, *p;
        int r;

        if (!buf)
                return -ENOMEM;
        r = open_in_root(root_fd, "etc/passwd", &f);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        while (fgetpwent_r(f, &pw, buf, ENTRY_BUFFER_SIZE, &p) == 0) {
                if (name ? !streq(p->pw_name, name) : p->pw_uid != uid)
                        continue;
                *ret_uid = p->pw_uid;
                *ret_gid = p->pw_gid;
                *ret_name = strdup(p->pw_name);
                *ret_home = strdup(isempty(p->pw_dir) ? "/" : p->pw_dir);
                if (!*ret_name || !*ret_home)
                        return -ENOMEM;
                return 1;
        }
        return 0;
}

static int find_group(int root_fd, const char *name, gid_t *ret_gid)
{
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *buf = malloc(ENTRY_BUFFER_SIZE);
        struct group gr, *g;
        int r;

        if (!buf)
                return -ENOMEM;
        r = open_in_root(root_fd, "etc/group", &f);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        while (fgetgrent_r(f, &gr, buf, ENTRY_BUFFER_SIZE, &g) == 0)
                if (streq(g->gr_name, name)) {
                        *ret_gid = g->gr_gid;
                        return 1;
                }
        return 0;
}

/* The groups whose member list names the user, without duplicates. */
static int find_supplementary(int root_fd, const char *user_name, gid_t **ret, size_t *ret_n)
{
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *buf = malloc(ENTRY_BUFFER_SIZE);
        _cleanup_free_ gid_t *list = NULL;
        struct group gr, *g;
        size_t n = 0;
        int r;

        if (!buf)
                return -ENOMEM;
        r = open_in_root(root_fd, "etc/group", &f);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        while (fgetgrent_r(f, &gr, buf, ENTRY_BUFFER_SIZE, &g) == 0) {
                bool member = false, seen = false;
                gid_t *nl;

                for (char **m = g->gr_mem; m && *m; m++)
                        if (streq(*m, user_name))
                                member = true;
                for (size_t i = 0; i < n; i++)
                        if (list[i] == g->gr_gid)
                                seen = true;
                if (!member || seen)
                        continue;
                if (n >= GROUPS_MAX)
                        break;
                nl = reallocarray(list, n + 1, sizeof(gid_t));
                if (!nl)
                        return -ENOMEM;
                list = nl;
                list[n++] = g->gr_gid;
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

static int prepend_gid(gid_t **groups, size_t *n, gid_t gid)
{
        gid_t *l;

        for (size_t i = 0; i < *n; i++)
                if ((*groups)[i] == gid) {
                        /* Already a member: move it to the front. */
                        memmove(*groups + 1, *groups, i * sizeof(gid_t));
                        (*groups)[0] = gid;
                        return 0;
                }
        l = reallocarray(*groups, *n + 1, sizeof(gid_t));
        if (!l)
                return -ENOMEM;
        memmove(l + 1, l, *n * sizeof(gid_t));
        l[0] = gid;
        *groups = l;
        (*n)++;
        return 0;
}

int user_lookup(int root_fd, const char *user, BerthError *err, UserIds *ret)
{
        _cleanup_free_ char *user_part = NULL, *name = NULL, *home = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        const char *group_part = NULL;
        size_t n_groups = 0;
        uid_t uid = 0;
        gid_t gid = 0;
        unsigned id;
        char *colon;
        int r;

        if (!ret)
                return -EINVAL;

        user_part = strdup(strempty(user));
        if (!user_part)
                return -ENOMEM;
        colon = strchr(user_part, ':');
        if (colon) {
                *colon = 0;
                group_part = colon + 1;
                if (isempty(group_part))
                        return berth_error_set(err, -EINVAL, "invalid user '%s': empty group",
                                               strempty(user));
        }

        if (isempty(user_part)) /* "" and ":group" run as root */
                r = find_passwd(root_fd, NULL, 0, &uid, &gid, &name, &home);
        else if (parse_id(user_part, &id)) {
                r = find_passwd(root_fd, NULL, id, &uid, &gid, &name, &home);
                if (r == 0)
                        uid = id;
        } else {
                r = find_passwd(root_fd, user_part, 0, &uid, &gid, &name, &home);
                if (r == 0)
                        return berth_error_set(err, -ESRCH,
                                               "unable to find user %s: no matching entries in passwd file",
                                               user_part);
        }
        if (r < 0)
                return berth_error_set(err, r, "unable to read the container's /etc/passwd: %s",
                                       strerror(-r));

        if (group_part) {
                if (parse_id(group_part, &id))
                        gid = id;
                else {
                        r = find_group(root_fd, group_part, &gid);
                        if (r < 0)
                                return berth_error_set(err, r,
                                                       "unable to read the container's /etc/group: %s",
                                                       strerror(-r));
                        if (r == 0)
                                return berth_error_set(
                                        err, -ESRCH,
                                        "unable to find group %s: no matching entries in group file",
                                        group_part);
                }
        } else if (name) {
                r = find_supplementary(root_fd, name, &groups, &n_groups);
                if (r < 0)
                        return berth_error_set(err, r, "unable to read the container's /etc/group: %s",
                                               strerror(-r));
        }

        /* Docker (through containerd) lists the primary gid among the supplementary groups too, so that
         * `id` shows it there and a later setgid program cannot shed it. */
        r = prepend_gid(&groups, &n_groups, gid);
        if (r < 0)
                return r;

        if (!home) {
                home = strdup("/");
                if (!home)
                        return -ENOMEM;
        }

        *ret = (UserIds){
                .uid = uid,
                .gid = gid,
                .groups = TAKE_PTR(groups),
                .n_groups = n_groups,
                .home = TAKE_PTR(home),
        };
        return 0;
}
