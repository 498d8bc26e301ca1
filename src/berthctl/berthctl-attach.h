/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Attached sessions (run -ti, run -i, start -a, attach) over AttachContainer's stream. */
typedef struct AttachParams {
        bool tty;                /* the container has a terminal: raw bytes, raw mode, resize */
        bool want_stdin;         /* send our stdin */
        bool stdin_once;         /* our stdin's EOF closes the container's stdin (run -i, start -ai) */
        bool before_start;       /* the container is about to be started by us */
        bool lossless;           /* the container's output waits for us (run, start -a), never dropped */
        const char *detach_keys; /* Docker's spelling, NULL for ctrl-p,ctrl-q */
} AttachParams;

/* Checks --detach-keys' value: 0, or -EINVAL with a message printed. */
int detach_keys_check(const char *keys);
/* Docker's rule: a terminal container fed from our stdin needs a terminal here. 0, or -ENOTTY with
 * "the input device is not a TTY" printed (docker exits 1 then). */
int attach_check_tty(const AttachParams *p);
/* AttachContainer; prints the error. Returns the stream. */
int attach_open(const char *name_or_id, const AttachParams *p, int *ret_fd);
/* Pumps the stream until the container ends (returns its exit code) or we detach (returns 0 with
 * *ret_detached set), give up at a third SIGINT (130) or find our output's reader gone (141, as SIGPIPE
 * would); in the last two *ret_detached is set too, and the container keeps running. The exit code is
 * watch's Wait's answer (berthctl-exit-watch.h), or with watch NULL that of a Wait sent now. Restores the
 * terminal on every path. Takes fd. */
struct ExitWatch;
int attach_session(const char *name_or_id, int fd, const AttachParams *p, struct ExitWatch *watch,
                   bool *ret_detached);

int verb_attach(int argc, char *argv[]);

/* Shared with exec (berthctl-exec.c). */
#define DETACH_KEYS_MAX 16
int detach_keys_parse(const char *spec, char ret[static DETACH_KEYS_MAX], size_t *ret_n);
/* Raw mode on our stdin's terminal until terminal_restore() (also at exit). */
void terminal_raw(void);
void terminal_restore(void);
int verb_exec(int argc, char *argv[]);
int verb_cp(int argc, char *argv[]); /* berthctl-cp.c, in berthctl-full only */
