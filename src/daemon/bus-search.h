/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* SearchImages(s term, a{sv} options) -> a(ss): asks the registry and replies from the request's callback,
 * so the bus is never blocked. Open to every local caller. userdata is the Manager. */
int method_search_images(sd_bus_message *message, void *userdata, sd_bus_error *error);
