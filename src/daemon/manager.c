/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "daemon/build.h"
#include "daemon/container-exec.h"
#include "daemon/container-monitor.h"
#include "shared/berth-messages.h"
#include "daemon/blob-sources.h"
#include "daemon/bus-errors.h"
#include "daemon/polkit.h"
#include "daemon/container-cni.h"
#include "daemon/container.h"
#include "daemon/disk-usage.h"
#include "daemon/machine.h"
#include "daemon/manager.h"
#include "daemon/network-dns.h"
#include "daemon/network.h"
#include "network/bridge.h"
#include "network/port-proxy.h"
#include "shared/fs-util.h"
#include "store/fork-server.h"
#include "registry/curl-glue.h"
#include "registry/registry-client.h"
#include "registry/registry-config.h"
#include "shared/log.h"
#include "store/image-store.h"
#include "store/layer-extract.h"
#include "store/layer-store.h"
#include "store/store-config.h"
#include "daemon/transfer.h"

int manager_new(Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        m->state_dir = strdup(getenv("BERTH_STATE_DIR") ?: BERTH_STATE_DIR);
        m->runtime_dir = strdup(getenv("BERTH_RUNTIME_DIR") ?: BERTH_RUNTIME_DIR);
        m->config_file = strdup(getenv("BERTH_CONFIG_FILE") ?: BERTH_CONFIG_FILE);
        m->auth_file = strdup(getenv("BERTH_AUTH_FILE") ?: BERTH_AUTH_FILE);
        if (!m->state_dir || !m->runtime_dir || !m->config_file || !m->auth_file)
                return -ENOMEM;
        m->login_auth_file = g_strconcat(m->state_dir, "/auth.json", NULL);

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        m->transfers = g_hash_table_new(g_direct_hash, g_direct_equal);
        m->containers = g_hash_table_new(g_str_hash, g_str_equal);
        m->machine_calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        m->exec_sessions = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, exec_session_destroy);
        m->networks = manager_networks_new();
        m->network_bridges = manager_network_bridges_new();
        m->builds = g_hash_table_new(g_direct_hash, g_direct_equal);

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;

        bus_polkit_registry_free(&m->polkit_registry);
        if (m->exec_sessions)
                g_hash_table_destroy(m->exec_sessions);
        manager_stop_disk_walk(m);
        if (m->transfers) {
                GHashTableIter it;
                gpointer value;
                g_hash_table_iter_init(&it, m->transfers);
                while (g_hash_table_iter_next(&it, NULL, &value))
                        transfer_free(value);
                g_hash_table_destroy(m->transfers);
        }
        if (m->builds) {
                GHashTableIter it;
                gpointer value;
                g_hash_table_iter_init(&it, m->builds);
                while (g_hash_table_iter_next(&it, NULL, &value))
                        build_free(value);
                g_hash_table_destroy(m->builds);
        }
        if (m->build_cache)
                g_hash_table_destroy(m->build_cache);
        free(m->build_cache_path);
        if (m->containers) {
                GHashTableIter it;
                gpointer value;

                /* Containers keep running: only berthd's handles on them go. */
                g_hash_table_iter_init(&it, m->containers);
                while (g_hash_table_iter_next(&it, NULL, &value)) {
                        g_hash_table_iter_steal(&it);
                        container_free(value);
                }
                g_hash_table_destroy(m->containers);
        }
        if (m->machine_calls)
                g_hash_table_destroy(m->machine_calls);
        registry_client_free(m->registry);
        bridge_network_free(m->bridge);
        user_network_free(m->bridge_record);
        if (m->networks)
                g_hash_table_destroy(m->networks);
        if (m->network_bridges)
                g_hash_table_destroy(m->network_bridges);
        curl_glue_free(m->curl);
        image_store_free(m->images);
        layer_store_free(m->layers);
        registry_config_free(m->registry_config);
        sd_event_source_unref(m->trash_event_source);
        sd_event_source_unref(m->trash_soon);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->state_dir);
        free(m->runtime_dir);
        free(m->config_file);
        cni_settings_done(&m->cni);
        free(m->auth_file);
        free(m->login_auth_file);
        blob_sources_free(m->blob_sources);
        return mfree(m);
}

void manager_set_status(Manager *m, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        (void) sd_notifyf(false, "STATUS=%s", s);
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                log_error("Failed to acquire bus name org.berth1: %s", e->message ?: e->name);
                return sd_event_exit(m->event, -EEXIST);
        }

        m->ready_sent = true;
        (void) sd_notify(false, "READY=1\nSTATUS=Serving org.berth1.");
        sd_journal_send("MESSAGE=berthd " BERTH_VERSION " started, serving org.berth1.",
                        "MESSAGE_ID=" BERTH_MESSAGE_DAEMON_STARTED, "PRIORITY=%i", LOG_INFO,
                        "BERTH_VERSION=" BERTH_VERSION, "BERTH_STATE_DIR=%s", m->state_dir, NULL);
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        return sd_event_exit(m->event, 0);
}

static void manager_load_credentials(Manager *m, RegistryConfig *config)
{
        const char *files[] = { m->auth_file, m->login_auth_file };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (!files[i])
                        continue;
                r = i == 0 ? registry_config_load_auth(config, files[i])
                           : registry_config_add_auth(config, files[i]);
                if (r == -EPERM)
                        log_warning("Ignoring credentials in '%s': readable by others than root.", files[i]);
                else if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Failed to read credentials '%s', ignoring: %m", files[i]);
        }
}

int manager_reload_credentials(Manager *m)
{
        manager_load_credentials(m, m->registry_config);
        /* Forget tokens and Basic hints won with the old credentials. */
        registry_client_set_config(m->registry, m->registry_config);
        return 0;
}

/* berth.conf and the credentials, read into a new configuration that replaces the one in use only when the
 * whole file is good: a reload of a broken file keeps the settings in use. */
static int manager_load_config(Manager *m)
{
        _cleanup_(registry_config_freep) RegistryConfig *config = NULL;
        StoreConfig store;
        CniSettings cni;
        int r;

        r = registry_config_load(m->config_file, &config);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration '%s': %m", m->config_file);
        r = store_config_load(m->config_file, &store);
        if (r < 0)
                return log_error_errno(r, "Failed to load the [Store] settings of '%s': %m", m->config_file);
        r = cni_settings_load(m->config_file, &cni);
        if (r < 0)
                return log_error_errno(r, "Failed to load the CNI settings of '%s': %m", m->config_file);
        cni_settings_done(&m->cni);
        m->cni = cni;
        manager_load_credentials(m, config);

        /* Extractions already running keep the limits they were forked with. */
        layer_extract_set_limits(store.max_layer_size, store.max_layer_entries);
        if (m->registry)
                registry_client_set_config(m->registry, config);
        registry_config_free(m->registry_config);
        m->registry_config = TAKE_PTR(config);
        m->default_domain = registry_config_get_default_domain(m->registry_config);
        return 0;
}

/* systemctl reload: ExecReload= sends SIGHUP, then pings us over the bus; this source's priority puts the
 * reload before that ping's answer, so systemctl returns once the new settings are in use. */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading the configuration.");
        r = manager_load_config(m);
        if (r < 0)
                log_warning("Keeping the configuration in use.");
        else
                log_info("Reloaded the configuration from '%s'.", m->config_file);
        (void) sd_notify(false, "READY=1\nSTATUS=Serving org.berth1.");
        return 0;
}

static int on_trash_emptied(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        Manager *m = userdata;

        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("Removing deleted layers or containers failed; will retry on next start.");
        m->trash_event_source = sd_event_source_unref(m->trash_event_source);
        if (m->trash_again) {
                m->trash_again = false;
                manager_empty_trash(m);
        }
        return 0;
}

/* A child that empties the layer store's trash and the dirs of removed containers (container_remove()).
 * From the fork server when it runs (fork_server_remove_entries()): forking berthd itself copies its page
 * tables, and every page berthd writes afterwards faults once, on the next start's path too. */
static int trash_child_spawn(Manager *m, pid_t *ret_pid)
{
        _cleanup_close_ int containers_fd = -EBADF;
        const char *prefixes[] = { "", CONTAINER_TRASH_PREFIX };
        char dir[PATH_MAX];
        size_t n = 1;

        snprintf(dir, sizeof(dir), "%s/containers", m->state_dir);
        containers_fd = open_dir_at(AT_FDCWD, dir);
        if (containers_fd >= 0)
                n = 2;
        else if (containers_fd != -ENOENT)
                return containers_fd;
        int fds[] = { layer_store_trash_fd(m->layers), containers_fd };

        return fork_server_remove_entries(fds, prefixes, n, ret_pid);
}

void manager_empty_trash(Manager *m)
{
        pid_t pid;
        int r;

        /* Deleting a big tree (a layer, a removed container's writable layer) may take long; a child does
         * it, so the loop stays responsive, and one at a time. */
        if (m->trash_event_source) {
                m->trash_again = true;
                return;
        }
        r = trash_child_spawn(m, &pid);
        if (r < 0) {
                log_warning_errno(
                        r, "Failed to start the deletion of removed layers and containers, ignoring: %m");
                return;
        }
        r = sd_event_add_child(m->event, &m->trash_event_source, pid, WEXITED, on_trash_emptied, m);
        if (r < 0)
                log_warning_errno(r, "Failed to watch layer deletion, ignoring: %m");
}

static int on_empty_trash_soon(sd_event_source *s, void *userdata)
{
        Manager *m = userdata;

        m->trash_soon = sd_event_source_disable_unref(m->trash_soon);
        manager_empty_trash(m);
        return 0;
}

/* Forking berthd (its page tables) took 0.5 ms of RemoveContainer's answer, which `run --rm` waits for. */
void manager_empty_trash_soon(Manager *m)
{
        if (m->trash_soon)
                return;
        if (sd_event_add_defer(m->event, &m->trash_soon, on_empty_trash_soon, m) < 0)
                manager_empty_trash(m);
}

static int manager_open_stores(Manager *m)
{
        _cleanup_free_ char *layers = NULL;
        int r;

        r = image_store_open(m->state_dir, &m->images);
        if (r < 0)
                return log_error_errno(r, "Failed to open image store in '%s': %m", m->state_dir);

        if (asprintf(&layers, "%s/layers", m->state_dir) < 0)
                return log_oom();
        r = layer_store_open(layers, &m->layers);
        if (r < 0)
                return log_error_errno(r, "Failed to open layer store '%s': %m", layers);

        r = blob_sources_open(m->state_dir, &m->blob_sources);
        if (r < 0)
                return log_error_errno(r, "Failed to open the blob sources record: %m");

        /* A crash or kill mid-pull leaves temporary layer dirs: nothing references them. */
        r = layer_store_cleanup_tmp(m->layers);
        if (r < 0)
                log_warning_errno(r, "Failed to clean up half-made layers, ignoring: %m");
        return 0;
}

/* [Network] is read at start only: a bridge in use is not renamed or renumbered under running containers. */
static int manager_open_network(Manager *m)
{
        NetworkConfig config;
        int r;

        r = network_config_load(m->config_file, &config);
        if (r < 0)
                return log_error_errno(r, "Failed to load the [Network] settings of '%s': %m",
                                       m->config_file);
        port_proxy_set_event(m->event);
        r = bridge_network_new(m->state_dir, &config, &m->bridge);
        if (r >= 0 && config.ipv6)
                bridge_network_set_ipv6(m->bridge, &config.subnet6);
        return r;
}

static bool manager_container_is_running(const char *id, void *userdata)
{
        Manager *m = userdata;
        Container *c = g_hash_table_lookup(m->containers, id);

        return c && c->monitor_source;
}

int manager_startup(Manager *m)
{
        sd_event_source *sighup = NULL;
        sigset_t mask;
        int r;

        r = bus_errors_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus error map: %m");

        r = mkdir_p_at(AT_FDCWD, m->state_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create state directory '%s': %m", m->state_dir);

        r = manager_load_config(m);
        if (r < 0)
                return r;

        r = manager_open_stores(m);
        if (r < 0)
                return r;
        r = manager_open_network(m);
        if (r < 0)
                return r;
        r = manager_load_networks(m);
        if (r < 0)
                return r;
        manager_sweep_builds(m);
        (void) manager_load_build_cache(m);
        r = manager_load_containers(m);
        if (r < 0)
                return log_error_errno(r, "Failed to load containers: %m");
        manager_sweep_build_containers(m);
        manager_sweep_networks(m, manager_container_is_running);
        r = bridge_network_sweep(m->bridge, manager_container_is_running, m);
        if (r < 0)
                log_warning_errno(
                        r, "Failed to set up the bridge network for running containers, ignoring: %m");
        manager_dns_update(m); /* names of user networks: those of the containers still running */

        r = curl_glue_new(m->event, &m->curl);
        if (r < 0)
                return log_error_errno(r, "Failed to set up HTTP client: %m");
        r = registry_client_new(m->event, m->curl, m->registry_config, &m->registry);
        if (r < 0)
                return log_error_errno(r, "Failed to set up registry client: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_add_signal(m->event, &sighup, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGHUP: %m");
        r = sd_event_source_set_priority(sighup, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_floating(sighup, true);
        sighup = sd_event_source_unref(sighup);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the SIGHUP source: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM: %m");
        r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGINT: %m");

        /* SIGCHLD must be blocked for sd-event child sources (extraction children, trash deletion). */
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        manager_empty_trash(m);
        manager_sweep_cni(m, manager_container_is_running); /* children too */
        manager_remove_exited_on_load(m);                   /* container removal deletes in a child */

        /* Pings the watchdog when WatchdogSec= is set; a no-op otherwise. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable watchdog: %m");

        r = sd_bus_default_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = bus_manager_register(m);
        if (r < 0)
                return r;

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");
        /* The containers adopted above, before there was a bus. */
        manager_adopt_machines(m);
        manager_adopt_freezer_states(m);

        r = sd_bus_request_name_async(m->bus, NULL, "org.berth1", 0, on_name_acquired, m);
        if (r < 0)
                return log_error_errno(r, "Failed to request bus name: %m");

        return 0;
}

int manager_run(Manager *m)
{
        int r;

        r = sd_event_loop(m->event);
        sd_journal_send("MESSAGE=berthd stopped.", "MESSAGE_ID=" BERTH_MESSAGE_DAEMON_STOPPED, "PRIORITY=%i",
                        LOG_INFO, "BERTH_EXIT_STATUS=%i", r, NULL);
        return r;
}
