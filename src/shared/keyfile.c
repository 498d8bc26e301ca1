/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "shared/keyfile.h"
#include "shared/log.h"

int keyfile_load(const char *path, GKeyFile **ret)
{
        g_autoptr(GKeyFile) k = g_key_file_new();
        g_autoptr(GError) error = NULL;

        if (!g_key_file_load_from_file(k, path, G_KEY_FILE_NONE, &error)) {
                if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                        return -ENOENT;
                log_debug("Failed to load '%s': %s", path, error->message);
                return error->domain == G_KEY_FILE_ERROR ? -EBADMSG : -EIO;
        }
        *ret = g_steal_pointer(&k);
        return 0;
}
