/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/bus-attach.h"
#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/polkit.h"
#include "daemon/container-attach.h"
#include "shared/log.h"

/* Attaching is a shell in the container, so it has its own polkit action (org.berth1.attach-container),
 * which admins can grant apart from managing containers; resizing a terminal is part of using it. */

static int lookup_error(sd_bus_error *error, int r, const char *key)
{
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_CONTAINER, "No such container: %s", key);
        if (r == -ENOTUNIQ)
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_CONTAINER,
                                         "'%s' matches more than one container id; give more characters", key);
        return r;
}

static int read_attach_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        AttachOptions *o = userdata;

        if (streq(key, "stdin"))
                return bus_option_read_bool(m, key, &o->want_stdin, error);
        if (streq(key, "stdout"))
                return bus_option_read_bool(m, key, &o->want_stdout, error);
        if (streq(key, "stderr"))
                return bus_option_read_bool(m, key, &o->want_stderr, error);
        if (streq(key, "stdin_once"))
                return bus_option_read_bool(m, key, &o->stdin_once, error);
        if (streq(key, "before_start"))
                return bus_option_read_bool(m, key, &o->before_start, error);
        if (streq(key, "rows"))
                return bus_option_read_basic(m, key, 'u', &o->rows, error);
        if (streq(key, "columns"))
                return bus_option_read_basic(m, key, 'u', &o->columns, error);
        return bus_option_unknown(key, error);
}

static int not_running(sd_bus_error *error, Container *c)
{
        return sd_bus_error_setf(error, BERTH_ERROR_CONTAINER_NOT_RUNNING, "Container %s is not running.", c->name);
}

int bus_method_attach_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        AttachOptions o = ATTACH_OPTIONS_INIT;
        _cleanup_close_ int fd = -EBADF;
        Manager *m = userdata;
        const char *key;
        Container *c;
        int r;

        r = sd_bus_message_read(message, "s", &key);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_attach_option, &o, error);
        if (r < 0)
                return r;
        if ((o.rows == 0) != (o.columns == 0) || o.rows > UINT16_MAX || o.columns > UINT16_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Options 'rows' and 'columns' go together, each 1…65535.");
        r = manager_find_container(m, key, &c);
        if (r < 0)
                return lookup_error(error, r, key);

        const char *details[] = { "container", c->name, "verb", "attach", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_ATTACH_CONTAINER, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = container_attach(c, &o, &fd);
        if (r == -ESRCH)
                return not_running(error, c);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many streams wait for container %s to start.", c->name);
        if (r < 0)
                return log_error_errno(r, "Failed to attach to container %s: %m", c->name);
        log_debug("Attached a client to container %s.", c->name);
        return sd_bus_reply_method_return(message, "h", fd);
}

/* A resize in flight: the call is answered when the monitor has answered. */
typedef struct ResizeCall {
        sd_bus_message *message;
        sd_event_source *source;
        int fd;
        char *name;
} ResizeCall;

static void resize_call_free(ResizeCall *rc)
{
        sd_event_source_disable_unref(rc->source);
        sd_bus_message_unref(rc->message);
        safe_close(rc->fd);
        free(rc->name);
        free(rc);
}

static int on_resize_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ResizeCall *rc = userdata;
        char buf[256];
        ssize_t n;

        n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0)
                /* The monitor went away in between: the container ended. */
                (void) sd_bus_reply_method_errorf(rc->message, BERTH_ERROR_CONTAINER_NOT_RUNNING,
                                                  "Container %s is not running.", rc->name);
        else if (buf[n] = 0, startswith(buf, "OK"))
                (void) sd_bus_reply_method_return(rc->message, NULL);
        else {
                buf[strcspn(buf, "\n")] = 0;
                (void) sd_bus_reply_method_errorf(rc->message, SD_BUS_ERROR_FAILED,
                                                  "Cannot resize the terminal of container %s: %s", rc->name,
                                                  startswith(buf, "ERR ") ?: buf);
        }
        resize_call_free(rc);
        return 0;
}

int bus_method_resize_container(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *key;
        uint32_t rows, columns;
        Container *c;
        int r, fd = -EBADF;

        r = sd_bus_message_read(message, "suu", &key, &rows, &columns);
        if (r < 0)
                return r;
        if (rows == 0 || columns == 0 || rows > UINT16_MAX || columns > UINT16_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid terminal size %ux%u.", rows,
                                         columns);
        r = manager_find_container(m, key, &c);
        if (r < 0)
                return lookup_error(error, r, key);

        const char *details[] = { "container", c->name, "verb", "resize", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_ATTACH_CONTAINER, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        if (!c->config.tty)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Container %s has no terminal to resize.", c->name);
        r = container_resize_connect(c, rows, columns, &fd);
        if (r == -ESRCH)
                return not_running(error, c);
        if (r < 0)
                return log_error_errno(r, "Failed to resize the terminal of container %s: %m", c->name);

        ResizeCall *rc = calloc(1, sizeof(*rc));
        if (!rc) {
                safe_close(fd);
                return -ENOMEM;
        }
        *rc = (ResizeCall) { .message = sd_bus_message_ref(message), .fd = fd, .name = strdup(c->name) };
        r = sd_event_add_io(m->event, &rc->source, fd, EPOLLIN, on_resize_answer, rc);
        if (r < 0) {
                resize_call_free(rc);
                return r;
        }
        return 1;
}
