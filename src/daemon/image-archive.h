/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "daemon/manager.h"
#include "shared/error.h"
#include "store/image-archive.h"

/* save and load (Manager.SaveImages, LoadImages): the archive is written or read by a child of berthd
 * (store/image-archive.c does the formats), so the event loop never waits on the caller's fd or the disk.
 * The child gets only its fds and a fresh handle on the layer store; for load it extracts every layer in
 * the same confined children as a pull and commits layers only once the whole archive checked out. Its
 * answer comes back in a memfd; berthd then records and tags the loaded images. Progress (bytes written or
 * read, and the total when known) goes to the caller as the Manager's ArchiveProgress signal, sent to it
 * alone, at most every 200 ms. The calls are answered when the work is done. */

/* keys as the user typed them (ids, names); out_fd is the caller's (not taken). */
int manager_save_images(Manager *m, char **keys, int out_fd, ImageArchiveFormat format,
                        sd_bus_message *reply_to, BerthError *e);
/* in_fd is the caller's (not taken). */
int manager_load_images(Manager *m, int in_fd, sd_bus_message *reply_to, BerthError *e);

/* Bus hooks (image-archive-dbus.c): the progress signal, and the replies (e NULL on success; loaded: the
 * loaded images' familiar names, or ids for untagged ones). */
void image_archive_send_progress(sd_bus_message *call, uint64_t done, uint64_t total);
void image_archive_send_save_reply(sd_bus_message *call, const BerthError *e);
void image_archive_send_load_reply(sd_bus_message *call, char **loaded, const BerthError *e);
