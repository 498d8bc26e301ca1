/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The Manager's Login and Logout (login.c): credentials checked against the registry, then stored. */
int bus_method_login(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_logout(sd_bus_message *message, void *userdata, sd_bus_error *error);
