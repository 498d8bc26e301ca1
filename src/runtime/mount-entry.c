/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mount-entry.h"
#include "shared/macro.h"

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
        g_clear_pointer(&m->source, g_free);
        g_clear_pointer(&m->target, g_free);
}

/* An absolute path with no "." or ".." component; doubled and trailing slashes are dropped. */
static char *path_normalise(const char *p)
{
        g_auto(GStrv) parts = NULL;
        g_autoptr(GString) out = g_string_new(NULL);

        if (!p || p[0] != '/')
                return NULL;
        parts = g_strsplit(p, "/", -1);
        for (char **c = parts; *c; c++) {
                if (isempty(*c))
                        continue;
                if (streq(*c, ".") || streq(*c, ".."))
                        return NULL;
                g_string_append_printf(out, "/%s", *c);
        }
        if (out->len == 0)
                g_string_append_c(out, '/');
        return g_string_free(g_steal_pointer(&out), false);
}

bool volume_name_is_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > 255 || !g_ascii_isalnum(name[0]))
                return false;
        for (const char *p = name; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr("_.-", *p))
                        return false;
        return true;
}

/* "64m", "1g", "4096" → bytes. */
static int parse_size(const char *s, uint64_t *ret)
{
        char *end = NULL;
        unsigned long long v;
        uint64_t mult = 1;

        if (isempty(s) || !g_ascii_isdigit(s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -EINVAL;
        switch (g_ascii_tolower(*end)) {
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
        if (*end && end[1] && !(g_ascii_tolower(end[1]) == 'b' && end[2] == '\0'))
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
                return g_free(t), -EINVAL;
        g_free(m->target);
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
                g_free(m->source);
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
        g_auto(GStrv) items = NULL;
        bool have_type = false;

        if (isempty(s))
                return -EINVAL;
        items = g_strsplit(s, ",", -1);
        for (char **i = items; *i; i++) {
                const char *eq = strchr(*i, '=');
                g_autofree char *key = eq ? g_strndup(*i, eq - *i) : g_strdup(*i);
                const char *v = eq ? eq + 1 : NULL;

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
                        g_free(m.source);
                        m.source = g_strdup(v);
                } else if (streq(key, "target") || streq(key, "dst") || streq(key, "destination")) {
                        if (isempty(v))
                                return -EINVAL;
                        g_free(m.target);
                        m.target = g_strdup(v);
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
        g_auto(GStrv) parts = NULL;
        guint n;

        if (isempty(s))
                return -EINVAL;
        parts = g_strsplit(s, ":", -1);
        n = g_strv_length(parts);
        if (n == 1) {
                m.type = MOUNT_TYPE_VOLUME;
                m.target = g_strdup(parts[0]);
                return entry_finish(&m, ret);
        }
        if (n > 3)
                return -EINVAL;
        m.type = parts[0][0] == '/' ? MOUNT_TYPE_BIND : MOUNT_TYPE_VOLUME;
        if (n == 3) {
                g_auto(GStrv) opts = g_strsplit(parts[2], ",", -1);
                bool rw_given = false;

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
        m.source = g_strdup(parts[0]);
        m.target = g_strdup(parts[1]);
        return entry_finish(&m, ret);
}

int mount_entry_parse_tmpfs(const char *s, MountEntry *ret)
{
        _cleanup_(mount_entry_done) MountEntry m = { .type = MOUNT_TYPE_TMPFS, .tmpfs_mode = 01777 };
        const char *colon;

        if (isempty(s))
                return -EINVAL;
        colon = strchr(s, ':');
        m.target = colon ? g_strndup(s, colon - s) : g_strdup(s);
        if (colon) {
                g_auto(GStrv) opts = g_strsplit(colon + 1, ",", -1);

                for (char **o = opts; *o; o++) {
                        if (g_str_has_prefix(*o, "size=")) {
                                if (parse_size(*o + 5, &m.tmpfs_size) < 0)
                                        return -EINVAL;
                        } else if (g_str_has_prefix(*o, "mode=")) {
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
        GString *s = g_string_new(NULL);

        g_string_append_printf(s, "type=%s", mount_type_to_string(m->type));
        if (m->source)
                g_string_append_printf(s, ",source=%s", m->source);
        g_string_append_printf(s, ",target=%s", m->target);
        if (m->readonly)
                g_string_append(s, ",readonly");
        if (m->volume_nocopy)
                g_string_append(s, ",volume-nocopy");
        if (m->bind_create_src)
                g_string_append(s, ",bind-create-src");
        if (m->type == MOUNT_TYPE_TMPFS) {
                if (m->tmpfs_size)
                        g_string_append_printf(s, ",tmpfs-size=%" G_GUINT64_FORMAT, m->tmpfs_size);
                g_string_append_printf(s, ",tmpfs-mode=%o", m->tmpfs_mode);
        }
        return g_string_free(s, false);
}
