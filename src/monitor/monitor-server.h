/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* berth-monitor --serve: a spawn server (shared/spawn-server.h) for berthd's monitors. berthd starts it
 * when it starts; a monitor is then a clone of it, with libsystemd and its libraries already loaded and
 * relocated, instead of a new exec of berth-monitor, which loaded them again at each start (about 2 ms of
 * CPU here, before the monitor was ready for the go). The clone also maps only the pages it uses after the
 * clone: the loader's work stays in the server (bench/README.md has both figures).
 *
 * Returns 1 in such a clone, which goes on as `berth-monitor --spec=PATH` would: the sync socket at
 * MONITOR_SYNC_FD and *ret_spec_path set (static storage). In the server: 0 once berthd closed its end, or a
 * negative errno. */
int monitor_serve(const char **ret_spec_path);
