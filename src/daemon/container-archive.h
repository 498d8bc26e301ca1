/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "daemon/container.h"
#include "shared/error.h"

/* cp: tar streams out of and into a container's root (Container.GetArchive, PutArchive), made and read by
 * a child so that the bus never waits on a file. The child chroots into the container's root before it
 * resolves any path, so the container's own symlinks (absolute or with "..") stay inside it:
 *   - running: the init's root, /proc/<pid>/root (the merged overlay with the container's mounts, so
 *     /etc/hosts and friends are the container's, and a read-only mount refuses writes with EROFS); the pid
 *     is checked to still be the init through its pidfd after the open;
 *   - not running: the container's overlay (its upper dir over the image's layers), mounted in a private
 *     mount namespace of the child only.
 * The call is answered by hooks in container-dbus.c's file (container_send_archive_reply). */
typedef struct ArchiveRequest {
        bool put;
        char *path;  /* absolute, in the container */
        int tar_fd;  /* put: the caller's tar stream (owned) */
        bool owners; /* put: keep the archive's owners (cp -a); else root's */
} ArchiveRequest;

/* Starts the child; the reply goes to reply_to when the child has answered: for get, the tar stream's read
 * end (or an error) as soon as the path was found, for put when all was written. */
int container_archive(Container *c, ArchiveRequest *req, sd_bus_message *reply_to, BerthError *e);

/* The same for the builder's put: done (instead of a reply) gets NULL or the error when the child is done.
 */
typedef void (*ArchiveDoneFn)(void *userdata, const BerthError *e);
int container_archive_full(Container *c, ArchiveRequest *req, sd_bus_message *reply_to, ArchiveDoneFn done,
                           void *userdata, BerthError *e);

/* Bus hook: the reply, with fd >= 0 for a get; e on failure. */
void container_send_archive_reply(sd_bus_message *call, int fd, const BerthError *e);
