/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "shared/berth-errors.h"

extern const sd_bus_error_map berth_bus_errors[];

/* Registers berth_bus_errors with sd-bus so that errno values map to these names and back. */
int bus_errors_register(void);
