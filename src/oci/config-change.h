/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "oci/config.h"

/* Docker's `commit --change` lines, the Dockerfile instructions that only touch the config:
 *   CMD ["exe","arg"] | CMD exe arg          (shell form: ["/bin/sh","-c","exe arg"])
 *   ENTRYPOINT [...]  | ENTRYPOINT exe arg   (clears Cmd unless a CMD came before, as a Dockerfile does)
 *   ENV K=V [K2=V2…]  | ENV K V
 *   WORKDIR /p        (relative paths are taken from the current WorkingDir)
 *   USER u[:g]
 *   LABEL k=v [k2=v2…]
 *   STOPSIGNAL SIGTERM | TERM | 15
 * Keywords are case-insensitive; values may be "double-quoted". */
typedef struct OciConfigChangeState {
        bool cmd_set;
} OciConfigChangeState;

/* Applies one line to c. -EINVAL, with the reason in *err, when the line is not one of the above. */
int oci_image_config_apply_change(OciImageConfig *c, const char *change, OciConfigChangeState *state,
                                  BerthError *err);
