/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "daemon/build.h"
#include "daemon/bus-object.h"

extern const sd_bus_vtable build_vtable[];
extern const BusObjectImplementation build_object;

/* Hooks for the model (build.c), which builds no bus message itself: the Build's signals; at the end (e
 * NULL on success) its Finished signal, after which the build is dropped. */
void build_send_step_started(Build *b, unsigned index, unsigned count, const char *text);
void build_send_output(Build *b, const char *text);
void build_send_step_finished(Build *b, unsigned index, bool cached, const char *image_id);
void build_send_finished(Build *b, const BerthError *e, const char *image_id);
void build_send_changed(Build *b);

/* BuildImage(): reads the options, authorises, creates the Build object, replies with its path, starts it.
 */
int bus_method_build_image(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* The Manager's BuildCacheUsage property. */
int bus_property_get_build_cache_usage(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error);
