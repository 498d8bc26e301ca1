/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sys/stat.h>

#include "daemon/volume.h"
#include "runtime/mount-entry.h"
#include "shared/fs-util.h"
#include "shared/log.h"

char *volume_data_path(Manager *m, const char *name)
{
        if (!volume_name_is_valid(name))
                return NULL;
        return g_strdup_printf("%s/volumes/%s/_data", m->state_dir, name);
}

int volume_ensure(Manager *m, const char *name, char **ret_path, bool *ret_created)
{
        g_autofree char *path = volume_data_path(m, name);
        struct stat st;
        int r;

        if (!path)
                return -EINVAL;
        if (stat(path, &st) == 0) {
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                if (ret_created)
                        *ret_created = false;
        } else if (errno != ENOENT)
                return negative_errno();
        else {
                r = mkdir_p_at(AT_FDCWD, path, 0755);
                if (r < 0)
                        return r;
                log_info("Created volume %s.", name);
                if (ret_created)
                        *ret_created = true;
        }
        if (ret_path)
                *ret_path = g_steal_pointer(&path);
        return 0;
}

int volume_remove(Manager *m, const char *name)
{
        g_autofree char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (!volume_name_is_valid(name))
                return -EINVAL;
        dir = g_strdup_printf("%s/volumes", m->state_dir);
        fd = open_dir_at(AT_FDCWD, dir);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        return rm_rf_at(fd, name);
}
