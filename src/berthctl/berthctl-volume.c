/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The volume verbs (volume create, ls, inspect, rm, prune) and the volume row of system df. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "berthctl.h"
#include "format.h"
#if BERTHCTL_FULL
#include "shared/json-build.h"
#endif

typedef struct VolumeRow {
        char *name;
        char *mountpoint;
        bool anonymous;
        uint64_t created;
        char *path;
} VolumeRow;

static void volume_row_clear(void *p)
{
        VolumeRow *v = p;
        g_free(v->name);
        g_free(v->mountpoint);
        g_free(v->path);
}

static int list_volumes(GArray *rows)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *mountpoint, *path;
        uint64_t created;
        int anonymous, r;

        r = manager_call("ListVolumes", &reply, "");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(ssbto)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssbto)", &name, &mountpoint, &anonymous, &created,
                                                  &path)) > 0) {
                VolumeRow v = { g_strdup(name), g_strdup(mountpoint), anonymous, created, g_strdup(path) };
                g_array_append_val(rows, v);
        }
        if (r < 0)
                return log_bus_error(NULL, r);
        return 0;
}

static int get_property(const char *path, const char *property, const char *type, sd_bus_message **ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus;
        int r;

        r = bus_get(&bus);
        if (r < 0)
                return r;
        r = sd_bus_get_property(bus, "org.berth1", path, "org.berth1.Volume", property, &error, ret, type);
        if (r < 0)
                return log_bus_error(&error, r);
        return 0;
}

static uint64_t get_size(const char *path)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t size = 0;

        if (get_property(path, "Size", "t", &reply) >= 0)
                (void) sd_bus_message_read(reply, "t", &size);
        return size;
}

static char **get_used_by(const char *path)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char **l = NULL;

        if (get_property(path, "UsedBy", "as", &reply) >= 0)
                (void) sd_bus_message_read_strv(reply, &l);
        return l ?: g_new0(char *, 1);
}

int volumes_usage(unsigned *ret_total, unsigned *ret_active, uint64_t *ret_size, uint64_t *ret_reclaimable)
{
        g_autoptr(GArray) rows = g_array_new(false, true, sizeof(VolumeRow));
        uint64_t size = 0, reclaimable = 0;
        unsigned active = 0;
        int r;

        g_array_set_clear_func(rows, volume_row_clear);
        r = list_volumes(rows);
        if (r < 0)
                return r;
        for (guint i = 0; i < rows->len; i++) {
                const char *path = g_array_index(rows, VolumeRow, i).path;
                g_auto(GStrv) users = get_used_by(path);
                uint64_t s = get_size(path);

                size += s;
                if (users[0])
                        active++;
                else
                        reclaimable += s;
        }
        *ret_total = rows->len;
        *ret_active = active;
        *ret_size = size;
        *ret_reclaimable = reclaimable;
        return 0;
}

static int verb_volume_create(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        g_auto(GStrv) labels = NULL;
        int c, r;

        static const struct option options[] = { { "label", required_argument, NULL, 'l' }, {} };
        while ((c = getopt_long(argc, argv, "l:", options, NULL)) >= 0)
                switch (c) {
                case 'l': {
                        guint n = labels ? g_strv_length(labels) : 0;
                        labels = g_renew(char *, labels, n + 2);
                        labels[n] = strchr(optarg, '=') ? g_strdup(optarg) : g_strconcat(optarg, "=", NULL);
                        labels[n + 1] = NULL;
                        break;
                }
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "berthctl volume create needs one NAME.\n");
                return EXIT_USAGE;
        }
        polkit_agent_open_if_enabled();
        r = manager_new_call("CreateVolume", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[optind]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && labels) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "labels");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, labels);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        r = manager_call_message(m, &reply);
        if (r < 0)
                return EXIT_ERROR;
        printf("%s\n", argv[optind]);
        return EXIT_OK;
}

static int verb_volume_ls(int argc, char *argv[])
{
        g_autoptr(GArray) rows = g_array_new(false, true, sizeof(VolumeRow));
        bool quiet = false;
        int c;

        static const struct option options[] = { { "quiet", no_argument, NULL, 'q' }, {} };
        while ((c = getopt_long(argc, argv, "q", options, NULL)) >= 0)
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        g_array_set_clear_func(rows, volume_row_clear);
        if (list_volumes(rows) < 0)
                return EXIT_ERROR;
        if (quiet) {
                for (guint i = 0; i < rows->len; i++)
                        printf("%s\n", g_array_index(rows, VolumeRow, i).name);
                return EXIT_OK;
        }
        Table *t = table_new("DRIVER", "VOLUME NAME", NULL);
        for (guint i = 0; i < rows->len; i++)
                table_add_row(t, "local", g_array_index(rows, VolumeRow, i).name, NULL);
        table_print(t);
        table_free(t);
        return EXIT_OK;
}

#if BERTHCTL_FULL
/* Docker's `volume inspect` shape: an array of objects. */
static int verb_volume_inspect(int argc, char *argv[])
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        int ret = EXIT_OK;

        if (argc < 2) {
                fprintf(stderr, "berthctl volume inspect needs at least one volume.\n");
                return EXIT_USAGE;
        }
        json_builder_begin_array(b);
        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *labels = NULL,
                                                                *created = NULL, *mp = NULL, *anon = NULL;
                g_auto(GStrv) users = NULL;
                const char *path, *mountpoint = "", *k, *v;
                char when[FORMAT_RFC3339_MAX];
                uint64_t usec = 0;
                int anonymous = 0, r;

                r = manager_call("GetVolume", &reply, "s", argv[i]);
                if (r < 0 || sd_bus_message_read(reply, "o", &path) < 0) {
                        ret = EXIT_ERROR;
                        continue;
                }
                if (get_property(path, "Mountpoint", "s", &mp) < 0 ||
                    sd_bus_message_read(mp, "s", &mountpoint) < 0 ||
                    get_property(path, "CreatedUSec", "t", &created) < 0 ||
                    sd_bus_message_read(created, "t", &usec) < 0 ||
                    get_property(path, "Anonymous", "b", &anon) < 0 ||
                    sd_bus_message_read(anon, "b", &anonymous) < 0 ||
                    get_property(path, "Labels", "a{ss}", &labels) < 0) {
                        ret = EXIT_ERROR;
                        continue;
                }
                users = get_used_by(path);
                json_builder_begin_object(b);
                json_build_string(b, "CreatedAt", format_rfc3339(when, sizeof(when), usec));
                json_build_string(b, "Driver", "local");
                json_builder_set_member_name(b, "Labels");
                json_builder_begin_object(b);
                if (sd_bus_message_enter_container(labels, 'a', "{ss}") >= 0)
                        while (sd_bus_message_read(labels, "{ss}", &k, &v) > 0) {
                                json_builder_set_member_name(b, k);
                                json_builder_add_string_value(b, v);
                        }
                json_builder_end_object(b);
                json_build_string(b, "Mountpoint", mountpoint);
                json_build_string(b, "Name", argv[i]);
                json_build_string(b, "Scope", "local");
                json_build_bool(b, "Anonymous", anonymous);
                json_build_strv(b, "UsedBy", users);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        print_json(json_builder_get_root(b));
        return ret;
}
#endif

static int verb_volume_rm(int argc, char *argv[])
{
        return verb_remove_each(argc, argv, "volume rm", "volume", "RemoveVolume", "");
}

static int verb_volume_prune(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_auto(GStrv) removed = NULL;
        char sz[FORMAT_SIZE_MAX];
        bool all = false, force = false;
        uint64_t reclaimed = 0;
        int c, r;

        static const struct option options[] = { { "all", no_argument, NULL, 'a' },
                                                 { "force", no_argument, NULL, 'f' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "af", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'f':
                        force = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (!force && !confirm(all ? "This will remove all local volumes not used by at least one container."
                                   : "This will remove anonymous local volumes not used by at least one "
                                     "container."))
                return EXIT_OK;
        polkit_agent_open_if_enabled();
        r = manager_call("PruneVolumes", &reply, "a{sv}", all ? 1 : 0, "all", "b", 1);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_read_strv(reply, &removed);
        if (r >= 0)
                r = sd_bus_message_read(reply, "t", &reclaimed);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        if (removed && removed[0]) {
                printf("Deleted Volumes:\n");
                STRV_FOREACH (n, removed)
                        printf("%s\n", *n);
                printf("\n");
        }
        printf("Total reclaimed space: %s\n", format_size(sz, sizeof(sz), reclaimed));
        return EXIT_OK;
}

const Verb volume_verbs[] = {
        { "create", "volume", "[--label KEY=VALUE] NAME", "Create a volume", verb_volume_create },
        { "ls", "volume", "[-q]", "List volumes", verb_volume_ls },
        { "inspect", "volume", "VOLUME...", "Show volumes in detail", FULL_VERB(verb_volume_inspect) },
        { "rm", "volume", "[-f] VOLUME...", "Remove volumes", verb_volume_rm },
        { "prune", "volume", "[-a] [-f]", "Remove unused volumes", verb_volume_prune },
        {}
};

/* The volume names among a container's mounts (its Mounts property). */
static char **mounts_volume_names(char **mounts)
{
        g_autoptr(GPtrArray) names = g_ptr_array_new();

        STRV_FOREACH (m, mounts) {
                g_auto(GStrv) keys = g_strsplit(*m, ",", -1);

                if (!g_strv_contains((const char *const *) keys, "type=volume"))
                        continue;
                STRV_FOREACH (k, keys)
                        if (g_str_has_prefix(*k, "source="))
                                g_ptr_array_add(names, g_strdup(*k + strlen("source=")));
        }
        g_ptr_array_add(names, NULL);
        return (char **) g_ptr_array_steal(names, NULL);
}

/* `rm -v`: the volume names of a container's mounts, read before it goes. */
char **container_volume_names(const char *container)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_auto(GStrv) mounts = NULL;
        const char *path;
        sd_bus *bus;

        if (manager_call("GetContainer", &reply, "s", container) >= 0 &&
            sd_bus_message_read(reply, "o", &path) >= 0 && bus_get(&bus) >= 0)
                (void) sd_bus_get_property_strv(bus, "org.berth1", path, "org.berth1.Container", "Mounts",
                                                &error, &mounts);
        return mounts_volume_names(mounts);
}

void remove_anonymous_volumes(char **names)
{
        STRV_FOREACH (n, names) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *anon = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                const char *path;
                int anonymous = 0;

                if (manager_call_quiet("GetVolume", 0, &error, &reply, "s", *n) < 0 ||
                    sd_bus_message_read(reply, "o", &path) < 0 ||
                    get_property(path, "Anonymous", "b", &anon) < 0 ||
                    sd_bus_message_read(anon, "b", &anonymous) < 0 || !anonymous)
                        continue;
                /* Another container may still name it: then it stays, as Docker's. */
                (void) manager_call_quiet("RemoveVolume", 0, &error, NULL, "sb", *n, false);
        }
}

void volumes_add_df_rows(Table *t)
{
        g_autoptr(GArray) rows = g_array_new(false, true, sizeof(VolumeRow));

        g_array_set_clear_func(rows, volume_row_clear);
        if (list_volumes(rows) < 0)
                return;
        for (guint i = 0; i < rows->len; i++) {
                const VolumeRow *v = &g_array_index(rows, VolumeRow, i);
                g_auto(GStrv) users = get_used_by(v->path);
                char links[16], sz[FORMAT_SIZE_MAX];

                snprintf(links, sizeof(links), "%u", g_strv_length(users));
                table_add_row(t, v->name, links, format_size(sz, sizeof(sz), get_size(v->path)), NULL);
        }
}
