/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/bus-object.h"
#include "daemon/manager.h"

#include "daemon/transfer.h"

extern const sd_bus_vtable transfer_vtable[];
extern const BusObjectImplementation transfer_object;

/* Hooks for the model (transfer.c), which builds no bus message itself: the Transfer's Message and
 * LayerProgress signals, and at the end (e NULL on success) its Finished signal and the Manager's
 * TransferRemoved, after which t is dropped and freed from the event loop. */
void transfer_send_message(Transfer *t, const char *text);
void transfer_send_layer_progress(Transfer *t, const char *layer, const char *status, uint64_t done,
                                  uint64_t total);
void transfer_send_finished(Transfer *t, const BerthError *e);

/* PullImage(): validates, authorises, creates the Transfer object, replies with its path and starts it. */
int bus_transfer_pull(Manager *m, sd_bus_message *message, const char *reference, sd_bus_error *error);
/* After polkit said yes: lists t (taken), replies with its path, announces it and starts it. */
int bus_transfer_begin(Manager *m, sd_bus_message *message, Transfer *t);
