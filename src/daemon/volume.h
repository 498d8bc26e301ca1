/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/manager.h"

/* Named volumes: directories under <state_dir>/volumes/NAME/_data (Docker's layout), made on first use. */

/* <state_dir>/volumes/NAME/_data; NULL on a bad name. */
char *volume_data_path(Manager *m, const char *name);

/* Makes the volume when missing (0755 root). ret_created (may be NULL) tells whether it is new. */
int volume_ensure(Manager *m, const char *name, char **ret_path, bool *ret_created);

/* Deletes the volume and its data. */
int volume_remove(Manager *m, const char *name);
