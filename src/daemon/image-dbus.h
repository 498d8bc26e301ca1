/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/manager.h"

extern const sd_bus_vtable image_vtable[];
int bus_image_register(Manager *m);
