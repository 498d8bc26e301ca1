/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/manager.h"

struct Transfer;

extern const sd_bus_vtable transfer_vtable[];
int bus_transfer_register(Manager *m);
struct Manager *bus_transfer_manager(struct Transfer *t);

/* PullImage(): validates, authorises, creates the Transfer object, replies with its path and starts it. */
int bus_transfer_pull(Manager *m, sd_bus_message *message, const char *reference, sd_bus_error *error);
