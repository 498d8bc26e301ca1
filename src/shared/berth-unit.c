/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "shared/berth-unit.h"

char *berth_scope_name(const char *container_name)
{
        char *unit;

        if (asprintf(&unit, "berth-%s.scope", container_name) < 0)
                return NULL;
        return unit;
}
