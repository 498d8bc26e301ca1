/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For a forked child: berthd and berth-monitor block the signals their sd-event loop reads through a
 * signalfd and ignore SIGPIPE, and both survive fork and exec. Puts every handler back to SIG_DFL and
 * unblocks every signal, so the child (or what it execs) dies of SIGTERM and SIGPIPE like any process. */
void reset_signals(void);
/* Only the mask, for children that keep the parent's handlers on purpose. */
void reset_signal_mask(void);
