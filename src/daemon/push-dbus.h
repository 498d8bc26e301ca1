/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The Manager's PushImage (push.c). */
int bus_method_push_image(sd_bus_message *message, void *userdata, sd_bus_error *error);
