/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "network/cni.h"
#include "shared/macro.h"

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        GHashTable *polkit_registry;

        char *state_dir;   /* /var/lib/berth unless $BERTH_STATE_DIR says otherwise (tests) */
        char *runtime_dir; /* /run/berth */
        char *config_file;
        char *auth_file;
        const char *default_domain; /* berth.conf's default registry, owned by registry_config */

        struct ImageStore *images;
        struct LayerStore *layers;
        struct RegistryConfig *registry_config;
        struct CurlGlue *curl;
        struct RegistryClient *registry;
        struct BridgeNetwork *bridge; /* the default network (network/bridge.h) */
        CniSettings cni;              /* [Network] CniPath=, CniTimeout= (re-read on reload) */
        GHashTable *transfers;        /* id → Transfer */
        GHashTable *containers;       /* id → Container (the key is the container's own id string) */
        GHashTable *networks;         /* name → UserNetwork (daemon/network.h) */
        GHashTable *network_bridges;  /* name → BridgeNetwork of each user network */
        /* machine name → berthd's calls to systemd-machined in flight for it (machine.c) */
        GHashTable *machine_calls;

        /* The default network as an org.berth1.Network (network.h), built when first asked for. */
        struct UserNetwork *bridge_record;

        uint32_t transfer_counter;
        GHashTable *exec_sessions; /* id → ExecSession (container-exec.h) */
        uint32_t exec_counter;
        unsigned n_searches; /* SearchImages() calls waiting for their registry (manager-dbus.c) */
        sd_event_source *trash_event_source;
        bool trash_again;
        /* manager_empty_trash_soon()'s */
        sd_event_source *trash_soon;
        struct DiskWalk *disk_walk; /* the running walk of the containers' writable layers */
        GArray *disk_walk_queue;    /* requests for the next one */

        GHashTable *builds; /* id → Build (build.h) */
        uint32_t build_counter;
        GHashTable *build_cache; /* cache key → image id (build.c) */
        char *build_cache_path;

        bool ready_sent;

        /* push (push.c): <state>/auth.json, what Login writes (login.c); where pulled layers' blobs live */
        char *login_auth_file;
        struct BlobSources *blob_sources;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Connects to the system bus, exports the objects and asks for org.berth1. READY=1 goes out when the name
 * is ours. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

/* Sends STATUS= to the service manager (no-op outside systemd). */
void manager_set_status(Manager *m, const char *fmt, ...) _printf_(2, 3);

/* Reads berth.conf's credentials and berthd's own (Login's) again, into the configuration in use. */
int manager_reload_credentials(Manager *m);

/* Removes deleted layers (the layer store's trash) in a child process. */
void manager_empty_trash(Manager *m);
/* The same from the loop's next round, after the current method has answered. */
void manager_empty_trash_soon(Manager *m);

/* manager-dbus.c */
extern const sd_bus_vtable manager_vtable[];
int bus_manager_register(Manager *m);
