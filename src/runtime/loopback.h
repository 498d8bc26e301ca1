/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Brings "lo" up in the caller's network namespace (a fresh one has it down). */
int loopback_up(void);
