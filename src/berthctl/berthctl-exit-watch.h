/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* A container's next exit, asked of berthd as soon as the container started: WaitContainer, sent then and
 * answered while it runs or as its monitor goes, so that its end costs the attached client no round trip
 * and no look at its state. With remove (run --rm), an UpdateContainer follows, telling berthd to remove the
 * container and its anonymous volumes when it exits (Docker's AutoRemove), also if we are killed. Once both
 * answers are in, the container is gone. */
typedef struct ExitWatch {
        sd_bus_slot *update_slot;
        sd_bus_slot *wait_slot;
        bool update_ok; /* berthd removes it once it exits (or did: NoSuchContainer) */
        bool exited;    /* the Wait's answer came, with exit_code */
        bool gone;      /* the Wait's answer was NoSuchContainer: removed before it was handled */
        int exit_code;
} ExitWatch;

int exit_watch_send(ExitWatch *w, const char *id, bool remove);
/* Dispatches the answers that came, and waits until deadline (0: not at all) for the Update's answer and,
 * with wait_too, the Wait's. True when those came, whatever they said (update_ok, exited, gone tell). */
bool exit_watch_poll(ExitWatch *w, uint64_t deadline, bool wait_too);
void exit_watch_done(ExitWatch *w);
