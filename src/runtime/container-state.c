/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>

#include "runtime/container-state.h"
#include "shared/fs-util.h"
#include "shared/macro.h"

#define CONTAINER_STATE_RESERVE ((size_t) 4096U)

static const char *const status_table[_CONTAINER_STATUS_MAX] = {
        [CONTAINER_CREATED] = "created",
        [CONTAINER_RUNNING] = "running",
        [CONTAINER_EXITED] = "exited",
};

const char *container_status_to_string(ContainerStatus s)
{
        return s >= 0 && s < _CONTAINER_STATUS_MAX ? status_table[s] : NULL;
}

ContainerStatus container_status_from_string(const char *s)
{
        if (!s)
                return _CONTAINER_STATUS_INVALID;
        for (int i = 0; i < _CONTAINER_STATUS_MAX; i++)
                if (streq(s, status_table[i]))
                        return (ContainerStatus) i;
        return _CONTAINER_STATUS_INVALID;
}

void container_state_done(ContainerState *s)
{
        if (!s)
                return;
        s->error = mfree(s->error);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, at most U+10FFFF), or 0.
 */
static size_t utf8_sequence(const unsigned char *p)
{
        size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;
        uint32_t c;

        if (n == 0 || *p > 0xf4)
                return 0;
        c = *p & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (p[i] & 0x3f);
        }
        if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
            (n == 4 && (c < 0x10000 || c > 0x10ffff)))
                return 0;
        return n;
}

/* s as a JSON string: RFC 8259's escapes for '"', '\\' and the control characters, valid UTF-8 as it is, and
 * U+FFFD for a byte that is not (a message may quote a file name from the image). */
static void put_json_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = *p < 0x80 ? 1 : utf8_sequence(p);

                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else if (n == 0)
                        fputs("\\ufffd", f);
                else
                        fwrite(p, 1, n, f);
                p += MAX(n, (size_t) 1);
        }
        fputc('"', f);
}

int container_state_save(const char *path, const ContainerState *s)
{
        return container_state_save_flags(path, s, 0);
}

int container_state_save_flags(const char *path, const ContainerState *s, int flags)
{
        _cleanup_free_ char *json = NULL;
        size_t size = 0;
        FILE *f;

        if (!path || !s || !container_status_to_string(s->status))
                return -EINVAL;

        /* Written by hand rather than with json-glib: berth-monitor writes it and links no JSON library. A
         * fixed set of members, all numbers but two strings and a flag; berthd reads it with json-glib
         * (container-state-load.c), and the unit test reads every member back. */
        f = open_memstream(&json, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "{\n  \"status\" : \"%s\",\n  \"monitor_pid\" : %d,\n  \"pid\" : %d,\n"
                "  \"started_usec\" : %" PRIu64 ",\n  \"finished_usec\" : %" PRIu64 ",\n"
                "  \"exit_code\" : %d,\n  \"exit_signal\" : %d",
                container_status_to_string(s->status), (int) s->monitor_pid, (int) s->pid,
                (uint64_t) MIN(s->started_usec, (uint64_t) INT64_MAX),
                (uint64_t) MIN(s->finished_usec, (uint64_t) INT64_MAX), s->exit_code, s->exit_signal);
        if (s->error) {
                fputs(",\n  \"error\" : ", f);
                put_json_string(f, s->error);
        }
        if (s->unrecorded_end)
                fputs(",\n  \"unrecorded_end\" : true", f);
        fputs("\n}", f);
        if (fclose(f) != 0 || !json)
                return -ENOMEM;

        /* 0644: berthctl users may read it; only root (berthd or the monitor) writes. With a spare of one
         * page kept beside it, so that the exit of a container that filled the disk is still recorded and it
         * can still be stopped and started. */
        return write_file_reserved_flags_at(AT_FDCWD, path, json, size, CONTAINER_STATE_RESERVE, 0644,
                                            (WriteFileFlags) flags);
}
