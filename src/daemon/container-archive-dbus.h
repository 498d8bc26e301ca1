/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Container.GetArchive and PutArchive (container-archive.h). */
int bus_container_method_get_archive(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_put_archive(sd_bus_message *message, void *userdata, sd_bus_error *error);
