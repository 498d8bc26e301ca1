/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mount-entry.h"
#include "shared/macro.h"
#include "shared/strv.h"

static const char *const type_names[_MOUNT_TYPE_MAX] = {
        [MOUNT_TYPE_VOLUME] = "volume",
        [MOUNT_TYPE_BIND] = "bind",
        [MOUNT_TYPE_TMPFS] = "tmpfs",
};

const char *mount_type_to_string(MountType t)
{
        return t >= 0 && t < _MOUNT_TYPE_MAX ? type_names[t] : NULL;
}

void mount_entry_done(MountEntry *m)
{
        m->source = mfree(m->source);
        m->target = mfree(m->target);
}

/* An absolute path with no "." or ".." component; doubled and trailing slashes are dropped. */
static char *path_normalise(const char *p)
{
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *out = NULL;
        size_t n = 0;

        if (!p || p[0] != '/')
                return NULL;
        parts = strv_split(p, '/');
        out = malloc(strlen(p) + 1); /* never longer than p */
        if (!parts || !out)
                return NULL;
        for (char **c = parts; *c; c++) {
                if (isempty(*c))
                        continue;
                if (streq(*c, ".") || streq(*c, ".."))
                        return NULL;
                out[n++] = '/';
                memcpy(out + n, *c, strlen(*c));
                n += strlen(*c);
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        return TAKE_PTR(out);
}

/* The C locale's, whatever the process's locale is (GLib's g_ascii_ ones, before). */
static bool isdigit_ascii(char c)
{
        return c >= '0' && c <= '9';
}

static bool isalnum_ascii(char c)
{
        return isdigit_ascii(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char tolower_ascii(char c)
{
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

bool volume_name_is_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > 255 || !isalnum_ascii(name[0]))
                return false;
        for (const char *p = name; *p; p++)
                if (!isalnum_ascii(*p) && !strchr("_.-", *p))
                        return false;
        return true;
}

/* "64m", "1g", "4096" → bytes. */
static int parse_size(const char *s, uint64_t *ret)
{
        char *end = NULL;
        unsigned long long v;
        uint64_t mult = 1;

        if (isempty(s) || !isdigit_ascii(s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -EINVAL;
        switch (tolower_ascii(*end)) {
        case '\0':
                break;
        case 'k':
                mult = 1024;
                break;
        case 'm':
                mult = 1024 * 1024;
                break;
        case 'g':
                mult = 1024 * 1024 * 1024;
                break;
        default:
                return -EINVAL;
        }
        if (*end && end[1] && !(tolower_ascii(end[1]) == 'b' && end[2] == '\0'))
                return -EINVAL;
        if (v > UINT64_MAX / mult)
                return -EINVAL;
        *ret = v * mult;
        return 0;
}

static int parse_mode(const char *s, unsigned *ret)
{
        char *end = NULL;
        unsigned long v;

        if (isempty(s))
                return -EINVAL;
        v = strtoul(s, &end, 8);
        if (*end || v > 07777)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_bool(const char *v, bool *ret)
{
        if (!v || streq(v, "true") || streq(v, "1")) /* a bare key means true */
                *ret = true;
        else if (streq(v, "false") || streq(v, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

/* Checks and normalises what every spelling shares. */
static int entry_finish(MountEntry *m, MountEntry *ret)
{
        char *t = path_normalise(m->target);

        if (!t || streq(t, "/"))
                return free(t), -EINVAL;
        free(m->target);
        m->target = t;
        switch (m->type) {
        case MOUNT_TYPE_VOLUME:
                if (m->source && !volume_name_is_valid(m->source))
                        return -EINVAL;
                break;
        case MOUNT_TYPE_BIND: {
                char *s = path_normalise(m->source);
                if (!s)
                        return -EINVAL;
                free(m->source);
                m->source = s;
                break;
        }
        case MOUNT_TYPE_TMPFS:
                if (m->source)
                        return -EINVAL;
                break;
        default:
                return -EINVAL;
        }
        if (m->type != MOUNT_TYPE_TMPFS && (m->tmpfs_size || m->tmpfs_mode != 01777))
                return -EINVAL;
        if ((m->volume_nocopy && m->type != MOUNT_TYPE_VOLUME) ||
            (m->bind_create_src && m->type != MOUNT_TYPE_BIND))
                return -EINVAL;
        *ret = *m;
        *m = (MountEntry){};
        return 0;
}

int mount_entry_parse_mount(const char *s, MountEntry *ret)
{
        _cleanup_(mount_entry_done) MountEntry m = { .tmpfs_mode = 01777 };
        _cleanup_strv_free_ char **items = NULL;
        bool have_type = false;

        if (isempty(s))
                return -EINVAL;
        items = strv_split(s, ',');
        if (!items)
                return -ENOMEM;
        for (char **i = items; *i; i++) {
                char *eq = strchr(*i, '=');
                const char *key = *i, *v = eq ? eq + 1 : NULL;

                if (eq)
                        *eq = '\0';

                if (streq(key, "type")) {
                        int t = -1;
                        for (int k = 0; k < _MOUNT_TYPE_MAX; k++)
                                if (streq_ptr(v, type_names[k]))
                                        t = k;
                        if (t < 0)
                                return -EINVAL;
                        m.type = t;
                        have_type = true;
                } else if (streq(key, "source") || streq(key, "src")) {
                        if (isempty(v))
                                return -EINVAL;
                        free(m.source);
                        m.source = strdup(v);
                        if (!m.source)
                                return -ENOMEM;
                } else if (streq(key, "target") || streq(key, "dst") || streq(key, "destination")) {
                        if (isempty(v))
                                return -EINVAL;
                        free(m.target);
                        m.target = strdup(v);
                        if (!m.target)
                                return -ENOMEM;
                } else if (streq(key, "readonly") || streq(key, "ro")) {
                        if (parse_bool(v, &m.readonly) < 0)
                                return -EINVAL;
                } else if (streq(key, "volume-nocopy")) {
                        if (parse_bool(v, &m.volume_nocopy) < 0)
                                return -EINVAL;
                } else if (streq(key, "bind-create-src")) {
                        if (parse_bool(v, &m.bind_create_src) < 0)
                                return -EINVAL;
                } else if (streq(key, "tmpfs-size")) {
                        if (parse_size(v, &m.tmpfs_size) < 0)
                                return -EINVAL;
                } else if (streq(key, "tmpfs-mode")) {
                        if (parse_mode(v, &m.tmpfs_mode) < 0)
                                return -EINVAL;
                } else
                        return -EINVAL;
        }
        if (!have_type) /* Docker's default */
                m.type = MOUNT_TYPE_VOLUME;
        return entry_finish(&m, ret);
}

int mount_entry_parse_volume(const char *s, MountEntry *ret)
{
        _cleanup_(mount_entry_done) MountEntry m = { .tmpfs_mode = 01777 };
        _cleanup_strv_free_ char **parts = NULL;
        size_t n;

        if (isempty(s))
                return -EINVAL;
        parts = strv_split(s, ':');
        if (!parts)
                return -ENOMEM;
        n = strv_length(parts);
        if (n == 1) {
                m.type = MOUNT_TYPE_VOLUME;
                m.target = TAKE_PTR(parts[0]);
                return entry_finish(&m, ret);
        }
        if (n > 3)
                return -EINVAL;
        m.type = parts[0][0] == '/' ? MOUNT_TYPE_BIND : MOUNT_TYPE_VOLUME;
        if (n == 3) {
                _cleanup_strv_free_ char **opts = strv_split(parts[2], ',');
                bool rw_given = false;

                if (!opts)
                        return -ENOMEM;
                for (char **o = opts; *o; o++)
                        if (streq(*o, "ro") || streq(*o, "rw")) {
                                if (rw_given)
                                        return -EINVAL;
                                rw_given = true;
                                m.readonly = streq(*o, "ro");
                        } else if (streq(*o, "nocopy") && m.type == MOUNT_TYPE_VOLUME && !m.volume_nocopy)
                                m.volume_nocopy = true;
                        else
                                return -EINVAL;
        }
        /* Docker's -v makes a missing host directory (--mount does not). */
        m.bind_create_src = m.type == MOUNT_TYPE_BIND;
        m.source = strdup(parts[0]);
        m.target = strdup(parts[1]);
        if (!m.source || !m.target)
                return -ENOMEM;
        return entry_finish(&m, ret);
}

int mount_entry_parse_tmpfs(const char *s, MountEntry *ret)
{
        _cleanup_(mount_entry_done) MountEntry m = { .type = MOUNT_TYPE_TMPFS, .tmpfs_mode = 01777 };
        const char *colon;

        if (isempty(s))
                return -EINVAL;
        colon = strchr(s, ':');
        m.target = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
        if (!m.target)
                return -ENOMEM;
        if (colon) {
                _cleanup_strv_free_ char **opts = strv_split(colon + 1, ',');

                if (!opts)
                        return -ENOMEM;

                for (char **o = opts; *o; o++) {
                        if (startswith(*o, "size=")) {
                                if (parse_size(*o + 5, &m.tmpfs_size) < 0)
                                        return -EINVAL;
                        } else if (startswith(*o, "mode=")) {
                                if (parse_mode(*o + 5, &m.tmpfs_mode) < 0)
                                        return -EINVAL;
                        } else if (streq(*o, "ro"))
                                m.readonly = true;
                        else if (!streq(*o, "rw") && !streq(*o, "noexec") && !streq(*o, "nosuid") &&
                                 !streq(*o, "nodev") && !isempty(*o))
                                return -EINVAL; /* berth's tmpfs is always noexec, nosuid, nodev */
                }
        }
        return entry_finish(&m, ret);
}

char *mount_entry_format(const MountEntry *m)
{
        char size[40] = "", tmpfs[80] = "", *s = NULL;

        if (m->type == MOUNT_TYPE_TMPFS) {
                if (m->tmpfs_size)
                        (void) snprintf(size, sizeof(size), ",tmpfs-size=%" PRIu64, m->tmpfs_size);
                (void) snprintf(tmpfs, sizeof(tmpfs), "%s,tmpfs-mode=%o", size, m->tmpfs_mode);
        }
        if (asprintf(&s, "type=%s%s%s,target=%s%s%s%s%s", mount_type_to_string(m->type),
                     m->source ? ",source=" : "", strempty(m->source), m->target,
                     m->readonly ? ",readonly" : "", m->volume_nocopy ? ",volume-nocopy" : "",
                     m->bind_create_src ? ",bind-create-src" : "", tmpfs) < 0)
                return NULL;
        return s;
}
