/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/bus-object.h"
#include "daemon/manager.h"
#include "oci/image-record.h"

extern const sd_bus_vtable image_vtable[];
extern const BusObjectImplementation image_object;

/* The methods of org.berth1.Image, called for the record image, which the caller named key (its id on the
 * object path; what the user typed when redirected from the Manager). */
typedef int (*ImageMethod)(sd_bus_message *message, Manager *m, const ImageRecord *image, const char *key,
                           sd_bus_error *error);
int bus_image_method_remove(sd_bus_message *message, Manager *m, const ImageRecord *image, const char *key,
                            sd_bus_error *error);
int bus_image_method_tag(sd_bus_message *message, Manager *m, const ImageRecord *image, const char *key,
                         sd_bus_error *error);

/* machined's redirect_method_to_image(): reads the leading name, finds the image, calls method. */
int bus_redirect_method_to_image(sd_bus_message *message, Manager *m, sd_bus_error *error,
                                 ImageMethod method);

/* Hooks for the model (image.c, transfer.c, container-commit.c), which builds no bus message itself:
 * ImageNew or ImageRemoved on the Manager, and PropertiesChanged for an image's RepoTags. */
void image_send_signal(Manager *m, const char *id, bool new_image);
void image_send_changed(Manager *m, const char *id);
