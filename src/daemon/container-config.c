/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "daemon/container-config.h"
#include "daemon/restart-policy.h"
#include "network/etc-files.h"
#include "network/port-mapping.h"
#include "network/user-network.h"
#include "runtime/caps.h"
#include "runtime/mount-entry.h"

void container_options_done(ContainerOptions *o)
{
        g_strfreev(o->command);
        g_strfreev(o->entrypoint);
        g_strfreev(o->env);
        free(o->workdir);
        free(o->user);
        free(o->hostname);
        free(o->network);
        g_strfreev(o->cap_add);
        g_strfreev(o->cap_drop);
        g_strfreev(o->security_opt);
        g_strfreev(o->devices);
        g_strfreev(o->dns);
        g_strfreev(o->ports);
        g_strfreev(o->mounts);
        g_strfreev(o->volumes);
        g_strfreev(o->tmpfs);
        free(o->restart);
        g_strfreev(o->dns_search);
        g_strfreev(o->add_hosts);
        g_strfreev(o->aliases);
        free(o->ip);
        *o = (ContainerOptions){};
}

void container_config_done(ContainerConfig *c)
{
        g_strfreev(c->argv);
        g_strfreev(c->entrypoint);
        g_strfreev(c->cmd);
        g_strfreev(c->env);
        free(c->workdir);
        free(c->user);
        free(c->hostname);
        free(c->network);
        free(c->stop_signal);
        g_strfreev(c->cap_add);
        g_strfreev(c->cap_drop);
        g_strfreev(c->devices);
        g_strfreev(c->dns);
        g_strfreev(c->ports);
        g_strfreev(c->mounts);
        free(c->restart);
        g_strfreev(c->dns_search);
        g_strfreev(c->add_hosts);
        g_strfreev(c->networks);
        g_strfreev(c->network_aliases);
        g_strfreev(c->network_ips);
        *c = (ContainerConfig){};
}

void device_mapping_done(DeviceMapping *d)
{
        free(d->host);
        free(d->container);
        free(d->perms);
        *d = (DeviceMapping){};
}

static bool device_perms_valid(const char *s)
{
        /* Docker's validDeviceMode: a non-empty set of r, w and m, each at most once. */
        if (isempty(s) || strlen(s) > 3)
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("rwm", *p) || strchr(p + 1, *p))
                        return false;
        return true;
}

static bool device_path_valid(const char *s)
{
        g_autofree char *canonical = NULL;

        if (isempty(s) || s[0] != '/')
                return false;
        canonical = g_canonicalize_filename(s, "/");
        return streq(canonical, s);
}

int device_mapping_parse(const char *s, DeviceMapping *ret)
{
        g_auto(GStrv) parts = g_strsplit(s, ":", -1);
        const char *host, *container, *perms = "rwm";
        guint n = g_strv_length(parts);

        if (n < 1 || n > 3)
                return -EINVAL;
        host = container = parts[0];
        if (n == 2) {
                if (device_perms_valid(parts[1]))
                        perms = parts[1];
                else
                        container = parts[1];
        } else if (n == 3) {
                container = parts[1];
                perms = parts[2];
        }
        if (!device_path_valid(host) || !device_path_valid(container) || !startswith(container, "/dev/") ||
            !device_perms_valid(perms))
                return -EINVAL;
        *ret = (DeviceMapping){
                .host = strdup(host),
                .container = strdup(container),
                .perms = strdup(perms),
        };
        if (!ret->host || !ret->container || !ret->perms) {
                device_mapping_done(ret);
                return -ENOMEM;
        }
        return 0;
}

static size_t env_key_len(const char *entry)
{
        const char *eq = strchr(entry, '=');
        return eq ? (size_t) (eq - entry) : strlen(entry);
}

/* Sets or removes one entry, keeping the order of first appearance as Docker does. */
static void env_apply(GPtrArray *env, const char *entry)
{
        size_t n = env_key_len(entry);
        bool removal = entry[n] != '=';

        for (guint i = 0; i < env->len; i++) {
                const char *e = env->pdata[i];
                if (env_key_len(e) == n && strneq(e, entry, n)) {
                        if (removal)
                                g_ptr_array_remove_index(env, i);
                        else {
                                g_free(env->pdata[i]);
                                env->pdata[i] = g_strdup(entry);
                        }
                        return;
                }
        }
        if (!removal)
                g_ptr_array_add(env, g_strdup(entry));
}

static bool env_has(GPtrArray *env, const char *key)
{
        size_t n = strlen(key);
        for (guint i = 0; i < env->len; i++) {
                const char *e = env->pdata[i];
                if (strneq(e, key, n) && e[n] == '=')
                        return true;
        }
        return false;
}

static char **strv_concat(char *const *a, char *const *b)
{
        GPtrArray *v = g_ptr_array_new();
        for (char *const *s = a; s && *s; s++)
                g_ptr_array_add(v, g_strdup(*s));
        for (char *const *s = b; s && *s; s++)
                g_ptr_array_add(v, g_strdup(*s));
        g_ptr_array_add(v, NULL);
        return (char **) g_ptr_array_free(v, false);
}

static bool hostname_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.')
                return false;
        for (const char *p = s; *p; p++)
                if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
                        return false;
        return true;
}

int signal_from_string(const char *s)
{
        char *end;
        long n;
        int sig;

        if (isempty(s))
                return -EINVAL;
        n = strtol(s, &end, 10);
        if (*end == '\0')
                return n > 0 && n < _NSIG ? (int) n : -EINVAL;
        s = startswith(s, "SIG") ?: s;
        for (sig = 1; sig < SIGRTMIN; sig++)
                if (sigabbrev_np(sig) && strcasecmp(sigabbrev_np(sig), s) == 0)
                        return sig;
        return -EINVAL;
}

/* Docker's spellings: "no-new-privileges", with ":true"/"=true" or ":false"/"=false"; "seccomp=unconfined"
 * or "seccomp:unconfined". Profiles from files (seccomp=/path) and AppArmor/SELinux labels are not
 * supported. */
static int parse_security_opts(char *const *l, BerthError *e, bool *ret_nnp, bool *ret_unconfined)
{
        bool nnp = false, unconfined = false;

        for (char *const *s = l; s && *s; s++) {
                if (streq(*s, "no-new-privileges") || streq(*s, "no-new-privileges:true") ||
                    streq(*s, "no-new-privileges=true"))
                        nnp = true;
                else if (streq(*s, "no-new-privileges:false") || streq(*s, "no-new-privileges=false"))
                        nnp = false;
                else if (streq(*s, "seccomp=unconfined") || streq(*s, "seccomp:unconfined"))
                        unconfined = true;
                else
                        return berth_error_set(e, -EINVAL,
                                               "unsupported security option (known: no-new-privileges, "
                                               "seccomp=unconfined)");
        }
        *ret_nnp = nnp;
        *ret_unconfined = unconfined;
        return 0;
}

/* Publishing below 1024 or on one of the host's addresses takes what belongs to the host's admin: the
 * privileged action, as for the host's network. An invalid entry is refused later anyway; ask for the most.
 */
/* A bind mount gives the container a piece of the host: as privileged as a device. Unparsable entries count
 * too (they fail later anyway). */
static bool mounts_bind_host(char **mounts, char **volumes)
{
        STRV_FOREACH (m, mounts) {
                _cleanup_(mount_entry_done) MountEntry e = {};
                if (mount_entry_parse_mount(*m, &e) < 0 || e.type == MOUNT_TYPE_BIND)
                        return true;
        }
        STRV_FOREACH (v, volumes) {
                _cleanup_(mount_entry_done) MountEntry e = {};
                if (mount_entry_parse_volume(*v, &e) < 0 || e.type == MOUNT_TYPE_BIND)
                        return true;
        }
        return false;
}

char *container_anonymous_volume_name(const char *id, const char *target)
{
        g_autofree char *s = g_strdup_printf("%s:%s", id, target);
        return g_compute_checksum_for_string(G_CHECKSUM_SHA256, s, -1);
}

/* All mounts of a new container in one list: --mount, -v, --tmpfs, then the image's VOLUMEs not already
 * covered; anonymous volumes named; two mounts on one target refused, as Docker does. */
static int resolve_mounts(const OciImageConfig *image, const ContainerOptions *o, const char *id,
                          BerthError *err, char ***ret)
{
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GHashTable) targets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        char **lists[] = { o->mounts, o->volumes, o->tmpfs, image ? image->volumes : NULL };
        int (*parsers[])(const char *, MountEntry *) = { mount_entry_parse_mount, mount_entry_parse_volume,
                                                         mount_entry_parse_tmpfs, mount_entry_parse_volume };
        static const char *const what[] = { "a --mount", "a volume", "a tmpfs", "the image's VOLUME" };

        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                STRV_FOREACH (s, lists[l]) {
                        _cleanup_(mount_entry_done) MountEntry e = {};

                        if (parsers[l](*s, &e) < 0)
                                return berth_error_set(err, -EINVAL, "%s entry is not valid: '%s'", what[l],
                                                       *s);
                        if (g_hash_table_contains(targets, e.target)) {
                                if (l == 3) /* a VOLUME the caller mounted something on */
                                        continue;
                                return berth_error_set(err, -EINVAL, "duplicate mount point: %s", e.target);
                        }
                        if (e.type == MOUNT_TYPE_VOLUME && !e.source)
                                e.source = container_anonymous_volume_name(id, e.target);
                        g_hash_table_add(targets, g_strdup(e.target));
                        g_ptr_array_add(out, mount_entry_format(&e));
                }
        g_ptr_array_add(out, NULL);
        *ret = (char **) g_ptr_array_steal(out, NULL);
        return 0;
}

static bool ports_are_privileged(char **ports)
{
        STRV_FOREACH (p, ports) {
                PortMapping m;

                if (port_mapping_parse(*p, &m) < 0 || port_mapping_is_privileged(&m))
                        return true;
        }
        return false;
}

int container_options_check_confinement(const ContainerOptions *o, BerthError *e, bool *ret_weakens)
{
        const char *bad = NULL;
        bool nnp, unconfined;
        uint64_t caps;
        int r;

        r = caps_resolve(o->privileged, o->cap_add, o->cap_drop, &caps, &bad);
        if (r < 0)
                return berth_error_set(
                        e, r,
                        "unknown capability in cap_add or cap_drop (use names such as NET_ADMIN "
                        "or CAP_NET_ADMIN, or ALL)");
        r = parse_security_opts(o->security_opt, e, &nnp, &unconfined);
        if (r < 0)
                return r;
        STRV_FOREACH (d, o->devices) {
                _cleanup_(device_mapping_done) DeviceMapping m = {};

                r = device_mapping_parse(*d, &m);
                if (r == -EINVAL)
                        return berth_error_set(
                                e, r,
                                "a device is not HOST[:CONTAINER][:PERMS] with absolute paths, "
                                "CONTAINER below /dev/ and PERMS of r, w, m");
                if (r < 0)
                        return berth_error_set_errno(e, r, "cannot read the device '%s'", *d);
        }
        /* A device of the host's is the host's to give: as privileged as the rest. */
        *ret_weakens = o->privileged || (caps & ~caps_docker_default()) != 0 || unconfined ||
                       streq_ptr(o->network, "host") || (o->devices && o->devices[0]) ||
                       ports_are_privileged(o->ports) || mounts_bind_host(o->mounts, o->volumes);
        return 0;
}

bool container_config_weakens_confinement(const ContainerConfig *c)
{
        uint64_t caps;

        if (c->privileged || c->seccomp_unconfined || streq_ptr(c->network, "host") ||
            (c->devices && c->devices[0]) || ports_are_privileged(c->ports) ||
            mounts_bind_host(c->mounts, NULL))
                return true;
        /* A record whose names no longer parse would fail to start anyway; ask for the most. */
        if (caps_resolve(false, c->cap_add, c->cap_drop, &caps, NULL) < 0)
                return true;
        return (caps & ~caps_docker_default()) != 0;
}

/* -P: each EXPOSEd port ("80/tcp") not published already (-p wins for its container port, as in Docker), on
 * a free host port. Entries that are not a port are skipped. */
static char **ports_add_exposed(char **ports, char **exposed)
{
        g_autoptr(GPtrArray) l = g_ptr_array_new();

        STRV_FOREACH (p, ports)
                g_ptr_array_add(l, g_strdup(*p));
        STRV_FOREACH (e, exposed) {
                PortMapping m;
                bool given = false;

                if (port_mapping_parse(*e, &m) < 0 || m.host_port != 0 || m.host_address != 0)
                        continue;
                STRV_FOREACH (p, ports) {
                        PortMapping q;

                        if (port_mapping_parse(*p, &q) >= 0 && q.container_port == m.container_port &&
                            q.protocol == m.protocol)
                                given = true;
                }
                if (!given)
                        g_ptr_array_add(l, g_strdup_printf("%u/%s", m.container_port,
                                                           port_protocol_to_string(m.protocol)));
        }
        g_ptr_array_add(l, NULL);
        g_strfreev(ports);
        return (char **) g_ptr_array_steal(l, NULL);
}

int container_config_resolve(const OciImageConfig *image, const ContainerOptions *o, const char *id,
                             BerthError *err, ContainerConfig *ret)
{
        g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func(g_free);
        _cleanup_(container_config_done) ContainerConfig c = {};
        int sig;

#define INVALID(why) berth_error_set(err, -EINVAL, "%s", why)

        /* Docker: --entrypoint replaces the image's Entrypoint and drops its Cmd; a command replaces Cmd. */
        c.entrypoint = g_strdupv(o->set_entrypoint ? o->entrypoint : image ? image->entrypoint : NULL);
        if (o->command && o->command[0])
                c.cmd = g_strdupv(o->command);
        else if (!o->set_entrypoint && image)
                c.cmd = g_strdupv(image->cmd);
        c.argv = strv_concat(c.entrypoint, c.cmd);
        if (!c.argv[0] || isempty(c.argv[0])) {
                return INVALID("no command specified (the image has none; give one)");
        }

        for (char **e = image ? image->env : NULL; e && *e; e++)
                env_apply(env, *e);
        STRV_FOREACH (e, o->env) {
                if (isempty(*e) || **e == '=') {
                        return INVALID("an environment entry has no name");
                }
                env_apply(env, *e);
        }
        if (!env_has(env, "PATH"))
                g_ptr_array_insert(env, 0, g_strdup(CONTAINER_DEFAULT_PATH));

        c.workdir = g_strdup(!isempty(o->workdir)                    ? o->workdir
                             : image && !isempty(image->working_dir) ? image->working_dir
                                                                     : "/");
        if (c.workdir[0] != '/') {
                return INVALID("the working directory must be an absolute path");
        }
        c.user = g_strdup(o->set_user ? strempty(o->user) : image ? strempty(image->user) : "");

        c.hostname = !isempty(o->hostname) ? g_strdup(o->hostname) : g_strndup(id, 12);
        if (!hostname_is_valid(c.hostname)) {
                return INVALID("the hostname is not valid (letters, digits, '-' and '.', at most 64)");
        }
        /* Docker sets HOSTNAME, and TERM for a terminal, unless the caller did. */
        if (!env_has(env, "HOSTNAME"))
                g_ptr_array_add(env, g_strdup_printf("HOSTNAME=%s", c.hostname));
        if (o->tty && !env_has(env, "TERM"))
                g_ptr_array_add(env, g_strdup("TERM=xterm"));
        g_ptr_array_add(env, NULL);
        c.env = (char **) g_ptr_array_steal(env, NULL);

        c.network = g_strdup(isempty(o->network) ? "bridge" : o->network);
        if (!streq(c.network, "bridge") && !streq(c.network, "none") && !streq(c.network, "host") &&
            !user_network_name_is_valid(c.network)) {
                return INVALID("network must be \"bridge\", \"none\", \"host\" or a user network's name");
        }
        STRV_FOREACH (d, o->dns)
                if (!dns_server_is_valid(*d))
                        return INVALID("a dns server must be an IPv4 or IPv6 address");
        STRV_FOREACH (d, o->dns_search)
                if (!dns_search_is_valid(*d))
                        return INVALID("a dns search domain must be a domain name or \".\"");
        STRV_FOREACH (h, o->add_hosts)
                if (add_host_parse(*h, NULL, NULL) < 0)
                        return INVALID("an added host must be NAME:ADDRESS with an IPv4 or IPv6 address");
        STRV_FOREACH (p, o->ports) {
                PortMapping m;

                if (port_mapping_parse(*p, &m) < 0)
                        return INVALID(
                                "a published port must be [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp] (an IPv6 "
                                "IP in brackets)");
        }
        if (o->ports && o->ports[0] && (streq(c.network, "none") || streq(c.network, "host")))
                return INVALID("published ports need a network (the bridge or a user network)");
        c.ports = g_strdupv(o->ports);
        if (o->publish_all && image && !streq(c.network, "none") && !streq(c.network, "host"))
                c.ports = ports_add_exposed(c.ports, image->exposed_ports);
        if ((o->aliases && o->aliases[0]) || !isempty(o->ip)) {
                _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
                _cleanup_free_ char *network = g_strdup(c.network);

                /* Docker's rule: aliases and fixed addresses belong to user networks only. */
                if (streq(c.network, "bridge") || streq(c.network, "none") || streq(c.network, "host"))
                        return INVALID("--network-alias and --ip need a user network (--network NAME)");
                free(c.network);
                c.network = g_strdup("none");
                if (container_config_connect(&c, network, o->ip, o->aliases, &e) < 0)
                        return INVALID(berth_error_message(&e));
        }
        {
                RestartPolicy policy;
                unsigned max;

                if (restart_policy_parse(o->restart, &policy, &max) < 0)
                        return INVALID(
                                "a restart policy must be no, on-failure[:N], always or unless-stopped");
                c.restart = isempty(o->restart) ? NULL : g_strdup(o->restart);
                /* Docker's "Conflicting options: --restart and --rm". */
                if (o->remove_on_exit && policy != RESTART_NO)
                        return INVALID(
                                "a container removed once it exits (--rm) cannot have a restart policy");
        }
        c.dns = g_strdupv(o->dns);
        c.dns_search = g_strdupv(o->dns_search);
        c.add_hosts = g_strdupv(o->add_hosts);

        sig = signal_from_string(image && !isempty(image->stop_signal) ? image->stop_signal : "SIGTERM");
        if (sig < 0)
                sig = SIGTERM;
        c.stop_signal = g_strdup_printf("SIG%s", sigabbrev_np(sig));
        c.tty = o->tty;
        c.interactive = o->interactive;
        {
                bool weakens;
                int r = container_options_check_confinement(o, err, &weakens);
                if (r < 0)
                        return r;
                (void) parse_security_opts(o->security_opt, NULL, &c.no_new_privileges,
                                           &c.seccomp_unconfined);
        }
        c.privileged = o->privileged;
        c.cap_add = g_strdupv(o->cap_add);
        c.cap_drop = g_strdupv(o->cap_drop);
        c.devices = g_strdupv(o->devices);
        {
                int r = resolve_mounts(image, o, id, err, &c.mounts);
                if (r < 0)
                        return r;
        }
        c.read_only = o->read_only;
        c.remove_on_exit = o->remove_on_exit;
        *ret = c;
        c = (ContainerConfig){};
        return 0;
#undef INVALID
}

bool container_name_is_valid(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n > 128 || !g_ascii_isalnum(name[0]))
                return false;
        for (const char *p = name; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr("_.-", *p))
                        return false;
        return true;
}

bool container_name_is_id(const char *name)
{
        return strlen(name) == 64 && strspn(name, "0123456789abcdefABCDEF") == 64;
}

/* Short lists in Docker's spirit; 40 × 40 names, and the caller retries on a clash. */
static const char *const adjectives[] = {
        "admiring", "blissful",   "bold",     "brave",   "busy",    "calm",     "clever",   "cool",
        "dazzling", "eager",      "ecstatic", "elegant", "festive", "focused",  "friendly", "gallant",
        "gentle",   "happy",      "hopeful",  "jolly",   "keen",    "kind",     "lucid",    "modest",
        "nifty",    "optimistic", "peaceful", "quirky",  "relaxed", "serene",   "sharp",    "stoic",
        "sweet",    "tender",     "trusting", "upbeat",  "vibrant", "wizardly", "youthful", "zealous",
};
static const char *const nouns[] = {
        "albatross", "anchor", "barge",   "beacon",     "buoy",    "canal",    "capstan", "cove",
        "dinghy",    "dock",   "ferry",   "fjord",      "galley",  "harbor",   "hull",    "jetty",
        "keel",      "ketch",  "lagoon",  "lighthouse", "mariner", "mast",     "mooring", "narwhal",
        "oar",       "pier",   "port",    "quay",       "rudder",  "schooner", "sextant", "skiff",
        "sloop",     "tide",   "trawler", "wharf",      "yacht",   "yawl",     "compass", "lantern",
};

char *container_name_generate(void)
{
        uint32_t r[2];

        if (getrandom(r, sizeof(r), 0) != sizeof(r))
                r[0] = (uint32_t) g_random_int(), r[1] = (uint32_t) g_random_int();
        return g_strdup_printf("%s_%s", adjectives[r[0] % ELEMENTSOF(adjectives)],
                               nouns[r[1] % ELEMENTSOF(nouns)]);
}

static bool network_is_joined(const char *network)
{
        return !streq_ptr(network, "none") && !streq_ptr(network, "host") && !isempty(network);
}

char **container_config_networks(const ContainerConfig *c)
{
        g_autoptr(GPtrArray) l = g_ptr_array_new();

        if (network_is_joined(c->network))
                g_ptr_array_add(l, g_strdup(c->network));
        STRV_FOREACH (n, c->networks)
                g_ptr_array_add(l, g_strdup(*n));
        g_ptr_array_add(l, NULL);
        return (char **) g_ptr_array_steal(l, NULL);
}

/* The values of the "NETWORK=VALUE" entries of l for network. */
static char **keyed_values(char **l, const char *network)
{
        g_autoptr(GPtrArray) v = g_ptr_array_new();
        size_t n = strlen(network);

        STRV_FOREACH (e, l)
                if (strncmp(*e, network, n) == 0 && (*e)[n] == '=')
                        g_ptr_array_add(v, g_strdup(*e + n + 1));
        g_ptr_array_add(v, NULL);
        return (char **) g_ptr_array_steal(v, NULL);
}

static char **keyed_remove(char **l, const char *network)
{
        g_autoptr(GPtrArray) v = g_ptr_array_new();
        size_t n = strlen(network);

        STRV_FOREACH (e, l)
                if (!(strncmp(*e, network, n) == 0 && (*e)[n] == '='))
                        g_ptr_array_add(v, g_strdup(*e));
        g_ptr_array_add(v, NULL);
        g_strfreev(l);
        return (char **) g_ptr_array_steal(v, NULL);
}

static void strv_append(char ***l, char *s)
{
        size_t n = *l ? g_strv_length(*l) : 0;

        *l = g_renew(char *, *l, n + 2);
        (*l)[n] = s;
        (*l)[n + 1] = NULL;
}

char **container_config_network_aliases(const ContainerConfig *c, const char *network)
{
        return keyed_values(c->network_aliases, network);
}

const char *container_config_network_ip(const ContainerConfig *c, const char *network)
{
        size_t n = strlen(network);

        STRV_FOREACH (e, c->network_ips)
                if (strncmp(*e, network, n) == 0 && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

int container_config_connect(ContainerConfig *c, const char *network, const char *ip, char **aliases,
                             BerthError *e)
{
        g_auto(GStrv) joined = container_config_networks(c);
        uint32_t a;

        if (streq_ptr(c->network, "host"))
                return berth_error_set(e, -EINVAL, "a container on the host's network cannot join another");
        if (streq(network, "none") || streq(network, "host") ||
            (!streq(network, "bridge") && !user_network_name_is_valid(network)))
                return berth_error_set(e, -EINVAL, "cannot connect to network '%s'", network);
        if (g_strv_contains((const char *const *) joined, network))
                return berth_error_set(e, -EEXIST, "already connected to network %s", network);
        if (((aliases && aliases[0]) || !isempty(ip)) && streq(network, "bridge"))
                return berth_error_set(e, -EINVAL,
                                       "aliases and fixed addresses need a user network, not the bridge");
        if (!isempty(ip) && ipv4_parse(ip, &a) < 0)
                return berth_error_set(e, -EINVAL, "invalid IPv4 address '%s'", ip);
        STRV_FOREACH (al, aliases)
                if (!container_name_is_valid(*al))
                        return berth_error_set(e, -EINVAL,
                                               "invalid alias '%s': use [a-zA-Z0-9][a-zA-Z0-9_.-]*", *al);
        if (network_is_joined(c->network))
                strv_append(&c->networks, g_strdup(network));
        else {
                free(c->network);
                c->network = g_strdup(network);
        }
        STRV_FOREACH (al, aliases)
                strv_append(&c->network_aliases, g_strdup_printf("%s=%s", network, *al));
        if (!isempty(ip))
                strv_append(&c->network_ips, g_strdup_printf("%s=%s", network, ip));
        return 0;
}

int container_config_disconnect(ContainerConfig *c, const char *network, BerthError *e)
{
        g_auto(GStrv) joined = container_config_networks(c);

        if (!g_strv_contains((const char *const *) joined, network))
                return berth_error_set(e, -ENOENT, "not connected to network %s", network);
        if (streq(c->network, network)) {
                free(c->network);
                if (c->networks && c->networks[0]) {
                        c->network = c->networks[0];
                        memmove(c->networks, c->networks + 1, g_strv_length(c->networks) * sizeof(char *));
                } else
                        c->network = g_strdup("none");
        } else {
                char **l = c->networks;
                size_t j = 0;

                for (size_t i = 0; l[i]; i++)
                        if (streq(l[i], network))
                                free(l[i]);
                        else
                                l[j++] = l[i];
                l[j] = NULL;
        }
        c->network_aliases = keyed_remove(c->network_aliases, network);
        c->network_ips = keyed_remove(c->network_ips, network);
        return 0;
}
