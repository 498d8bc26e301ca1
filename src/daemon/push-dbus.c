/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/bus-errors.h"
#include "daemon/bus-options.h"
#include "daemon/polkit.h"
#include "daemon/push-dbus.h"
#include "daemon/push.h"
#include "daemon/transfer-dbus.h"
#include "daemon/transfer.h"
#include "registry/registry-client.h"
#include "shared/log.h"

/* ---- PushImage(s reference, a{sv} options) -> (o transfer) ---- */

typedef struct PushOptions {
        LayerCompression compression;
} PushOptions;

static int read_push_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        PushOptions *o = userdata;
        const char *v;
        int r;

        if (!streq(key, "compression"))
                return bus_option_unknown(key, error);
        r = bus_option_read_basic(m, key, 's', &v, error);
        if (r < 0)
                return r;
        o->compression = layer_compression_from_string(v);
        if (o->compression < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'compression': '%s' is neither 'gzip' nor 'zstd'.", v);
        return 0;
}

int bus_method_push_image(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        _cleanup_(transfer_freep) Transfer *t = NULL;
        PushOptions o = { .compression = LAYER_COMPRESSION_GZIP };
        Manager *m = userdata;
        Push *p = NULL;
        const char *reference;
        int r;

        r = sd_bus_message_read(message, "s", &reference);
        if (r < 0)
                return r;
        r = bus_read_options(message, read_push_option, &o, error);
        if (r < 0)
                return r;

        r = push_new(m, reference, o.compression, &e, &p);
        if (r == -EINVAL || r == -ENOENT)
                return bus_error_set_image_lookup(error, &e);
        if (r < 0)
                return r;
        r = transfer_new_push(m, p, push_get_reference(p), &t);
        if (r < 0)
                return r;

        const char *details[] = { "image", transfer_get_reference(t), "verb", "push", NULL };
        r = bus_verify_polkit_async(message, BERTH_ACTION_PUSH_IMAGE, details, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* t is dropped; the call comes back once polkit answers */
        return bus_transfer_begin(m, message, TAKE_PTR(t));
}
