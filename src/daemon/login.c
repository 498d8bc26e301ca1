/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>

#include "daemon/login.h"
#include "oci/registry-json.h"
#include "shared/fs-util.h"
#include "shared/log.h"

#define AUTH_FILE_MAX ((size_t) 1024U * 1024U)

int manager_store_credentials(Manager *m, const char *domain, const char *username, const char *password)
{
        _cleanup_free_ char *old = NULL, *data = NULL;
        size_t old_size = 0, size = 0;
        int had, r;

        r = read_file_at(AT_FDCWD, m->login_auth_file, AUTH_FILE_MAX, &old, &old_size);
        if (r < 0 && r != -ENOENT)
                return r;
        had = registry_json_auths_set(old, r < 0 ? 0 : old_size, domain, username, password, &data, &size);
        if (old)
                explicit_bzero(old, old_size);
        if (had < 0)
                return had;
        if (!username && !had)
                return 0; /* nothing to remove: leave the file as it is */

        r = write_file_atomic_at(AT_FDCWD, m->login_auth_file, data, size, 0600);
        explicit_bzero(data, size);
        if (r < 0)
                return r;
        r = manager_reload_credentials(m);
        if (r < 0)
                return r;
        return had;
}
