/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.berth1.ExecSession: one object per exec'd process, at /org/berth1/exec/<n> (n counts from 1 per
 * berthd run). When the process ends, Running goes false and ExitCode gets its status in one
 * PropertiesChanged; the object stays EXEC_SESSION_LINGER_USEC longer (container-exec.h), then goes. The
 * status comes from the monitor (the process is its child, not berthd's; container-exec.c
 * exec_session_watch()); the caller also reads it from the last frame of its stream
 * (runtime/attach-protocol.h), whatever happened to berthd meanwhile. Sessions are not re-adopted after a
 * berthd restart: their processes and streams go on, only the objects (and so resizing) are gone. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>

#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/container-dbus.h"
#include "daemon/container-exec.h"
#include "daemon/exec-session-dbus.h"
#include "daemon/polkit.h"
#include "shared/berth-errors.h"
#include "shared/log.h"

static int exec_session_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                             void **found, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *e = startswith(path, "/org/berth1/exec/");
        uint32_t id;

        if (!e || sscanf(e, "%" SCNu32, &id) != 1)
                return 0;
        *found = g_hash_table_lookup(m->exec_sessions, GUINT_TO_POINTER(id));
        return *found ? 1 : 0;
}

static int exec_session_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                  sd_bus_error *error)
{
        Manager *m = userdata;
        char **l = g_new0(char *, g_hash_table_size(m->exec_sessions) + 1);
        GHashTableIter it;
        gpointer value;
        size_t n = 0;

        g_hash_table_iter_init(&it, m->exec_sessions);
        while (g_hash_table_iter_next(&it, NULL, &value))
                l[n++] = g_strdup(((ExecSession *) value)->path);
        *nodes = l;
        return 1;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        ExecSession *s = userdata;
        _cleanup_free_ char *container = NULL;

        if (streq(property, "Running"))
                return sd_bus_message_append(reply, "b", (int) s->running);
        if (streq(property, "Pid"))
                return sd_bus_message_append(reply, "u", (uint32_t) s->pid);
        if (streq(property, "ExitCode"))
                return sd_bus_message_append(reply, "i", (int32_t) s->exit_code);
        if (streq(property, "Tty"))
                return sd_bus_message_append(reply, "b", (int) s->tty);
        /* By its current name: a rename moves the container's object. */
        Container *c = g_hash_table_lookup(s->manager->containers, s->container_id);
        if (container_object_path(c ? c->name : s->container_name, &container) < 0)
                return -ENOMEM;
        return sd_bus_message_append(reply, "o", container);
}

static int method_resize(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        ExecSession *s = userdata;
        Manager *m = s->manager;
        _cleanup_close_ int fd = -EBADF;
        uint32_t rows, columns;
        int r;

        r = sd_bus_message_read(message, "uu", &rows, &columns);
        if (r < 0)
                return r;
        if (rows == 0 || columns == 0 || rows > UINT16_MAX || columns > UINT16_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid terminal size %ux%u.",
                                         rows, columns);
        const char *details[] = { "container", s->container_name, "verb", "exec", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_EXEC_CONTAINER, details, &m->polkit_registry,
                                    error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!s->tty)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "The exec session has no terminal.");
        /* The request is sent whole before we close; the monitor reads it and applies it (its answer is
         * not waited for: a session that ended meanwhile needs no size). */
        r = exec_session_resize_connect(s, rows, columns, &fd);
        if (r < 0)
                return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                         "The exec session has ended.");
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable exec_session_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Container", "o", property_get, 0, 0), /* changes with a rename, unsignalled */
        SD_BUS_PROPERTY("Pid", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Tty", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Running", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitCode", "i", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Resize", SD_BUS_ARGS("u", rows, "u", columns), SD_BUS_NO_RESULT,
                                method_resize, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectImplementation exec_session_object = {
        "/org/berth1/exec",
        "org.berth1.ExecSession",
        .vtable = exec_session_vtable,
        .find = exec_session_find,
        .enumerator = exec_session_enumerate,
};

void exec_session_send_new(ExecSession *s)
{
        (void) sd_bus_emit_object_added(s->manager->bus, s->path);
}

void exec_session_send_finished(ExecSession *s)
{
        (void) sd_bus_emit_properties_changed(s->manager->bus, s->path, "org.berth1.ExecSession", "Running",
                                              "ExitCode", NULL);
}

void exec_session_send_removed(ExecSession *s)
{
        (void) sd_bus_emit_object_removed(s->manager->bus, s->path);
}

static int read_exec_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        struct {
                ExecOptions o;
                char **env;
                char *user, *workdir;
        } *x = userdata;

        if (streq(key, "env"))
                return bus_option_read_strv(m, key, &x->env, error);
        if (streq(key, "user"))
                return bus_option_read_string(m, key, &x->user, error);
        if (streq(key, "workdir"))
                return bus_option_read_string(m, key, &x->workdir, error);
        if (streq(key, "tty"))
                return bus_option_read_bool(m, key, &x->o.tty, error);
        if (streq(key, "stdin"))
                return bus_option_read_bool(m, key, &x->o.interactive, error);
        if (streq(key, "rows"))
                return bus_option_read_basic(m, key, 'u', &x->o.rows, error);
        if (streq(key, "columns"))
                return bus_option_read_basic(m, key, 'u', &x->o.columns, error);
        return bus_option_unknown(key, error);
}

/* Exec runs any program as any user in the container, so it has its own action (org.berth1.exec-container):
 * as strong as attach, which an admin can grant apart from it. */
/* The monitor answered the exec request of message (a reference we own). */
static void on_exec_started(Container *c, int fd, ExecSession *s, const BerthError *e, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_close_ int stream = fd;
        Manager *m;

        if (e) {
                if (e->error == -ESRCH)
                        (void) sd_bus_error_setf(&error, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                                 "Container %s is not running.", c ? c->name : "");
                else
                        (void) bus_error_set(&error, e, SD_BUS_ERROR_FAILED);
                (void) sd_bus_reply_method_error(message, &error);
                return;
        }
        m = s->manager;
        g_hash_table_insert(m->exec_sessions, GUINT_TO_POINTER(s->id), s);
        exec_session_send_new(s);
        exec_session_watch(s);
        log_info("Started a process (pid %d) in container %s.", (int) s->pid, c->name);
        (void) sd_bus_reply_method_return(message, "ho", stream, s->path);
}

int bus_container_method_exec(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Container *c = userdata;
        Manager *m = c->manager;
        g_auto(GStrv) command = NULL;
        struct {
                ExecOptions o;
                char **env;
                char *user, *workdir;
        } x = {};
        int r;

        r = sd_bus_message_read_strv(message, &command);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_exec_option, &x, error);
        if (r >= 0 && (!command || !command[0] || isempty(command[0])))
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No command to execute.");
        if (r >= 0 &&
            ((x.o.rows == 0) != (x.o.columns == 0) || x.o.rows > UINT16_MAX || x.o.columns > UINT16_MAX))
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Options 'rows' and 'columns' go together, each 1…65535.");
        for (char **v = x.env; r >= 0 && v && *v; v++)
                if (!strchr(*v, '=') || **v == '=')
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Invalid environment entry '%s'.", *v);
        if (r >= 0 && x.workdir && x.workdir[0] != '/')
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "The working directory must be absolute.");
        if (r >= 0) {
                const char *details[] = { "container", c->name, "verb", "exec", NULL };
                r = bus_verify_polkit_async(message, BERTH_ACTION_EXEC_CONTAINER, details,
                                            &m->polkit_registry, error);
                if (r == 0)
                        r = 1; /* comes back once polkit answers */
                else if (r > 0) {
                        x.o.command = command;
                        x.o.env = x.env;
                        x.o.user = x.user;
                        x.o.workdir = x.workdir;
                        r = container_exec(c, &x.o, on_exec_started, sd_bus_message_ref(message), &e);
                        if (r < 0)
                                sd_bus_message_unref(message);
                        if (r == -ESRCH)
                                r = sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                                      "Container %s is not running.", c->name);
                        else if (r < 0)
                                r = bus_error_set(error, &e, SD_BUS_ERROR_FAILED);
                        else
                                r = 1; /* answered by on_exec_started() */
                }
        }
        g_strfreev(x.env);
        free(x.user);
        free(x.workdir);
        return r;
}
