/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* Loads berth.conf (or another key file): 0 and *ret, -ENOENT when the file does not exist (the caller takes
 * its defaults), -EBADMSG when it is not a key file, -EIO when it cannot be read (both logged at debug). */
int keyfile_load(const char *path, GKeyFile **ret);
