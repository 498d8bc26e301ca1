/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

/* fsyncs off the event loop. A file's fsync costs one journal commit (1-10 ms on this kind of disk, more
 * under load): made in berthd's loop, every caller's request queued behind it. Here a thread fsyncs the
 * given fds, in order, and closes them; then done(userdata, r) runs in the loop, r the first failure or 0.
 * Takes the fds (closed on every path). done always comes later, from the loop, never from inside this call;
 * if no thread can be made, the fsyncs run here, and done still comes from the loop. */
typedef void (*DurableDone)(void *userdata, int r);
int durable_fsync_async(sd_event *event, int *fds, size_t n_fds, DurableDone done, void *userdata);
