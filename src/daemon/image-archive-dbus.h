/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Manager.SaveImages(as refs, h fd, a{sv} options) and LoadImages(h fd, a{sv} options) -> (as loaded); the
 * Manager's vtable points at these. */
int bus_manager_method_save_images(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_manager_method_load_images(sd_bus_message *message, void *userdata, sd_bus_error *error);
