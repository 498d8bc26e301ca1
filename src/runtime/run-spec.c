/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>

#include "runtime/run-spec.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/strv.h"

/* A spec is written by berthd and read back by berth-monitor, but both may come from different builds
 * across an upgrade, so one table drives both directions: the names and types below are the file format
 * (run-spec.h). */
#define RUN_SPEC_SIZE_MAX ((size_t) 1024U * 1024U)
#define RUN_SPEC_NAME_MAX 64

typedef enum FieldType {
        FIELD_STRING = 's',
        FIELD_STRV = 'v',
        FIELD_BOOL = 'b',
        FIELD_BYTES = 'x',
} FieldType;

typedef struct Field {
        const char *name;
        FieldType type;
        size_t offset;
        bool required;
        size_t size_offset; /* FIELD_BYTES: where its size_t length is */
} Field;

#define STR(n, req)                                                                                         \
        {                                                                                                   \
#n, FIELD_STRING, offsetof(RunSpec, n), req, 0                                              \
        }
#define STRV(n, req)                                                                                        \
        {                                                                                                   \
#n, FIELD_STRV, offsetof(RunSpec, n), req, 0                                                \
        }
#define BOOL(n)                                                                                             \
        {                                                                                                   \
#n, FIELD_BOOL, offsetof(RunSpec, n), false, 0                                              \
        }
#define BYTES(n, sz)                                                                                        \
        {                                                                                                   \
#n, FIELD_BYTES, offsetof(RunSpec, n), false, offsetof(RunSpec, sz)                         \
        }

static const Field fields[] = {
        STR(id, true),
        STR(name, true),
        STR(image_name, false),
        STR(layers_dir, false),
        STR(lowerdir, false),
        STR(upperdir, false),
        STR(workdir, false),
        STR(rootfs, true),
        STRV(argv, true),
        STRV(env, false),
        STR(cwd, false),
        STR(user, false),
        STR(hostname, false),
        STR(hostname_file, false),
        STR(hosts_file, false),
        STR(resolv_conf_file, false),
        BOOL(tty),
        BOOL(interactive),
        BOOL(host_network),
        BOOL(network_inherited),
        STR(state_file, true),
        STR(attach_socket, false),
        BOOL(privileged),
        BOOL(no_new_privileges),
        BOOL(seccomp_unconfined),
        STRV(cap_add, false),
        STRV(cap_drop, false),
        BYTES(seccomp_filter, seccomp_filter_size),
        STRV(devices, false),
        STRV(mounts, false),
        BOOL(read_only),
        BOOL(state_unsynced),
        BOOL(prepare_after_go),
        STRV(copy_up, false),
};

#define FIELD_PTR(s, f, type) ((type *) ((uint8_t *) (s) + (f)->offset))

RunSpec *run_spec_free(RunSpec *s)
{
        if (!s)
                return NULL;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].type == FIELD_STRV)
                        strv_free(*FIELD_PTR(s, &fields[i], char **));
                else if (fields[i].type != FIELD_BOOL)
                        free(*FIELD_PTR(s, &fields[i], void *));
        return mfree(s);
}

static void put_record(FILE *f, const Field *field, const void *data, size_t size)
{
        fprintf(f, "%c %s %zu\n", (char) field->type, field->name, size);
        fwrite(data, 1, size, f);
        fputc('\n', f);
}

int run_spec_serialize(const RunSpec *s, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!s || !ret || !ret_size)
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs(RUN_SPEC_HEADER, f);
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const Field *field = &fields[i];

                switch (field->type) {
                case FIELD_STRING: {
                        const char *v = *FIELD_PTR(s, field, char *);
                        if (v)
                                put_record(f, field, v, strlen(v));
                        break;
                }
                case FIELD_STRV: {
                        char **v = *FIELD_PTR(s, field, char **);
                        size_t n = 0;
                        if (!v)
                                break;
                        STRV_FOREACH (e, v)
                                n += strlen(*e) + 1;
                        fprintf(f, "%c %s %zu\n", (char) field->type, field->name, n);
                        STRV_FOREACH (e, v)
                                fwrite(*e, 1, strlen(*e) + 1, f);
                        fputc('\n', f);
                        break;
                }
                case FIELD_BOOL:
                        put_record(f, field, *FIELD_PTR(s, field, bool) ? "1" : "0", 1);
                        break;
                case FIELD_BYTES: {
                        const void *v = *FIELD_PTR(s, field, void *);
                        if (v)
                                put_record(f, field, v,
                                           *(const size_t *) ((const uint8_t *) s + field->size_offset));
                        break;
                }
                }
        }
        fputs(RUN_SPEC_TRAILER, f);
        if (fclose(f) != 0 || !buf)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

static const Field *field_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (streq(fields[i].name, name))
                        return &fields[i];
        return NULL;
}

/* A list of NUL-terminated strings, size bytes in all. */
static int parse_strv(const char *p, size_t size, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, k = 0;

        if (size > 0 && p[size - 1] != '\0')
                return -EBADMSG;
        for (size_t i = 0; i < size; i++)
                n += p[i] == '\0';
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (const char *e = p; k < n; e += strlen(e) + 1) {
                l[k] = strdup(e);
                if (!l[k++])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_value(RunSpec *s, const Field *field, const char *p, size_t size)
{
        switch (field->type) {
        case FIELD_STRING:
                if (memchr(p, '\0', size))
                        return log_debug_errno(-EBADMSG, "Run spec member '%s' holds a NUL byte",
                                               field->name);
                *FIELD_PTR(s, field, char *) = strndup(p, size);
                return *FIELD_PTR(s, field, char *) ? 0 : -ENOMEM;
        case FIELD_STRV:
                return parse_strv(p, size, FIELD_PTR(s, field, char **)) == -EBADMSG
                               ? log_debug_errno(-EBADMSG, "Run spec member '%s' is not a string list",
                                                 field->name)
                               : 0;
        case FIELD_BOOL:
                if (size != 1 || (p[0] != '0' && p[0] != '1'))
                        return log_debug_errno(-EBADMSG, "Run spec member '%s' is not a boolean",
                                               field->name);
                *FIELD_PTR(s, field, bool) = p[0] == '1';
                return 0;
        case FIELD_BYTES: {
                void *v = malloc(MAX(size, (size_t) 1));
                if (!v)
                        return -ENOMEM;
                memcpy(v, p, size);
                *FIELD_PTR(s, field, void *) = v;
                *(size_t *) ((uint8_t *) s + field->size_offset) = size;
                return 0;
        }
        }
        return -EBADMSG;
}

/* The decimal number in [p, end) (nothing else), at most max. */
static int parse_size(const char *p, const char *end, size_t max, size_t *ret)
{
        size_t v = 0;

        if (p == end || end - p > 20)
                return -EBADMSG;
        for (; p < end; p++) {
                if (*p < '0' || *p > '9' || v > (max - (size_t) (*p - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (size_t) (*p - '0');
        }
        *ret = v;
        return 0;
}

int run_spec_parse(const void *data, size_t size, RunSpec **ret)
{
        _cleanup_(run_spec_freep) RunSpec *s = NULL;
        const char *p = data, *end = p + size;
        bool seen[ELEMENTSOF(fields)] = {}, complete = false;
        int r;

        if (!data || !ret)
                return -EINVAL;
        if (size < strlen(RUN_SPEC_HEADER) || memcmp(p, RUN_SPEC_HEADER, strlen(RUN_SPEC_HEADER)) != 0)
                return log_debug_errno(-EBADMSG, "Not a run spec of version 1");
        p += strlen(RUN_SPEC_HEADER);

        s = calloc(1, sizeof(RunSpec));
        if (!s)
                return -ENOMEM;
        while (p < end) {
                if ((size_t) (end - p) == strlen(RUN_SPEC_TRAILER) &&
                    memcmp(p, RUN_SPEC_TRAILER, strlen(RUN_SPEC_TRAILER)) == 0) {
                        complete = true;
                        break;
                }
                /* "<type> <name> <length>\n" */
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *sp;
                char name[RUN_SPEC_NAME_MAX + 1];
                const Field *field;
                size_t length;
                char type;

                if (!nl || nl - p < 5 || p[1] != ' ')
                        return log_debug_errno(-EBADMSG, "Run spec record header is malformed");
                type = p[0];
                sp = memchr(p + 2, ' ', (size_t) (nl - p - 2));
                if (!sp || sp == p + 2 || sp - (p + 2) > RUN_SPEC_NAME_MAX)
                        return log_debug_errno(-EBADMSG, "Run spec record name is malformed");
                memcpy(name, p + 2, (size_t) (sp - (p + 2)));
                name[sp - (p + 2)] = '\0';
                if (parse_size(sp + 1, nl, (size_t) (end - nl - 1), &length) < 0 || nl + 1 + length >= end ||
                    nl[1 + length] != '\n')
                        return log_debug_errno(-EBADMSG, "Run spec record '%s' has a bad length", name);
                p = nl + 1 + length + 1;

                field = field_find(name);
                if (!field)
                        continue; /* from a newer berthd */
                if ((char) field->type != type)
                        return log_debug_errno(-EBADMSG, "Run spec member '%s' has type '%c', not '%c'",
                                               name, type, (char) field->type);
                if (seen[field - fields])
                        return log_debug_errno(-EBADMSG, "Run spec member '%s' is there twice", name);
                seen[field - fields] = true;
                r = parse_value(s, field, nl + 1, length);
                if (r < 0)
                        return r;
        }
        if (!complete)
                return log_debug_errno(-EBADMSG, "Run spec is truncated");
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i].required && !seen[i])
                        return log_debug_errno(-EBADMSG, "Run spec lacks '%s'", fields[i].name);
        if (!s->argv[0])
                return log_debug_errno(-EBADMSG, "Run spec has an empty argv");

        *ret = TAKE_PTR(s);
        return 0;
}

int run_spec_load(const char *path, RunSpec **ret)
{
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        r = read_file_at(AT_FDCWD, path, RUN_SPEC_SIZE_MAX, &data, &size);
        if (r == -EFBIG || r == -EBADFD)
                return -EBADMSG;
        if (r < 0)
                return r;
        return run_spec_parse(data, size, ret);
}
