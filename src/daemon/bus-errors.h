/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "shared/berth-errors.h"
#include "shared/error.h"

extern const sd_bus_error_map berth_bus_errors[];

/* Registers berth_bus_errors with sd-bus so that errno values map to these names and back. */
int bus_errors_register(void);

/* The one place a failure becomes an org.berth1.Error.* reply. The name comes from e's errno where that
 * errno means one thing everywhere in berthd (ESRCH: the container is not running; ECANCELED: the transfer
 * was cancelled; ENOSPC: the disk is full), else, for the errnos a user causes (ENOENT, ENOTUNIQ, EINVAL,
 * EEXIST, EBUSY…), from fallback_name, which the caller picks for what it acts on. Any other errno is an
 * internal failure and gets sd-bus's generic name. The message is e's. Returns e's (negative) errno, so a
 * handler reads `return bus_error_set(error, &e, BERTH_ERROR_NO_SUCH_IMAGE);`. */
int bus_error_set(sd_bus_error *error, const BerthError *e, const char *fallback_name);

/* A failed lookup by what the user typed (manager_find_image(), manager_canonical_reference(),
 * manager_find_container()): a malformed reference is InvalidReference, anything not found or ambiguous
 * NoSuchImage or NoSuchContainer. */
int bus_error_set_image_lookup(sd_bus_error *error, const BerthError *e);
int bus_error_set_container_lookup(sd_bus_error *error, const BerthError *e);
/* A volume call: NoSuchVolume, VolumeInUse (EBUSY), InvalidName (EINVAL). */
int bus_error_set_volume(sd_bus_error *error, const BerthError *e);

/* For an operation that failed part way (a commit): NoSpace when the disk is full, else Failed. */
int bus_error_set_failed(sd_bus_error *error, const BerthError *e);
/* For a start that failed: ContainerRunning when it was refused because the container is still stopping
 * (EBUSY), else StartFailed. */
int bus_error_set_start_failed(sd_bus_error *error, const BerthError *e);

/* The org.berth1.Error.* name of a failed pull, from its errno (the kinds listed in transfer.h); "" when e
 * is NULL (it did not fail). For the Transfer's Finished signal and the journal. */
const char *bus_error_transfer_name(const BerthError *e);
/* The error name of a build's Finished signal: BuildCancelled, NoSpace or BuildFailed; "" for none. */
const char *bus_error_build_name(const BerthError *e);
