/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "berthctl.h"
#if BERTHCTL_FULL
#include "shared/json-build.h"
#endif
#include "format.h"
#include "shared/log.h"

typedef struct DfImage {
        char *id;
        char **tags;
        uint64_t created, size, shared, unique;
        uint32_t containers;
} DfImage;

typedef struct DfContainer {
        char *id, *name, *image, *state;
        uint64_t size, created;
} DfContainer;

static void df_image_clear(void *p)
{
        DfImage *i = p;
        free(i->id);
        g_strfreev(i->tags);
}

static void df_container_clear(void *p)
{
        DfContainer *c = p;
        free(c->id);
        free(c->name);
        free(c->image);
        free(c->state);
}

static int read_disk_usage(GArray *images, GArray *containers, uint64_t *ret_layers,
                           uint64_t *ret_reclaimable)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *name, *image, *state;
        int r;

        r = manager_call("GetDiskUsage", &reply, "a{sv}", 0);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(sasttttu)");
        if (r < 0)
                return log_bus_error(NULL, r);
        while ((r = sd_bus_message_enter_container(reply, 'r', "sasttttu")) > 0) {
                DfImage i = {};
                r = sd_bus_message_read(reply, "s", &id);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &i.tags);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "ttttu", &i.created, &i.size, &i.shared, &i.unique,
                                                &i.containers);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0) {
                        g_strfreev(i.tags);
                        return log_bus_error(NULL, r);
                }
                i.id = strdup(id);
                g_array_append_val(images, i);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sssstt)");
        if (r < 0)
                return log_bus_error(NULL, r);
        for (;;) {
                DfContainer c = {};
                r = sd_bus_message_read(reply, "(sssstt)", &id, &name, &image, &state, &c.size, &c.created);
                if (r < 0)
                        return log_bus_error(NULL, r);
                if (r == 0)
                        break;
                c.id = strdup(id);
                c.name = strdup(name);
                c.image = strdup(image);
                c.state = strdup(state);
                g_array_append_val(containers, c);
        }
        r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "tt", ret_layers, ret_reclaimable);
        if (r < 0)
                return log_bus_error(NULL, r);
        return 0;
}

/* Docker's RECLAIMABLE cell: "11.6MB (70%)", the share left out when nothing is there. */
static void format_reclaimable(char *buf, size_t len, uint64_t reclaimable, uint64_t total)
{
        char sz[FORMAT_SIZE_MAX];

        format_size(sz, sizeof(sz), reclaimable);
        if (total > 0)
                snprintf(buf, len, "%s (%u%%)", sz, (unsigned) (reclaimable * 100 / total));
        else
                snprintf(buf, len, "%s", sz);
}

static void split_tag(const char *t, char **ret_repo, char **ret_tag)
{
        const char *colon = strrchr(t, ':');

        if (colon && !strchr(colon, '/')) {
                *ret_repo = g_strndup(t, colon - t);
                *ret_tag = g_strdup(colon + 1);
        } else {
                *ret_repo = g_strdup(t);
                *ret_tag = g_strdup("<none>");
        }
}

#if BERTHCTL_FULL
static void print_json_df(GArray *images, GArray *containers, uint64_t layers, uint64_t reclaimable)
{
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        json_build_int(b, "LayersSize", (gint64) layers);
        json_build_int(b, "LayersReclaimable", (gint64) reclaimable);
        json_builder_set_member_name(b, "Images");
        json_builder_begin_array(b);
        for (guint k = 0; k < images->len; k++) {
                DfImage *i = &g_array_index(images, DfImage, k);
                json_builder_begin_object(b);
                json_build_string(b, "Id", i->id);
                json_build_strv(b, "RepoTags", i->tags);
                json_build_int(b, "Created", (gint64) (i->created / USEC_PER_SEC));
                json_build_int(b, "Size", (gint64) i->size);
                json_build_int(b, "SharedSize", (gint64) i->shared);
                json_build_int(b, "UniqueSize", (gint64) i->unique);
                json_build_int(b, "Containers", i->containers);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_set_member_name(b, "Containers");
        json_builder_begin_array(b);
        for (guint k = 0; k < containers->len; k++) {
                DfContainer *c = &g_array_index(containers, DfContainer, k);
                json_builder_begin_object(b);
                json_builder_set_member_name(b, "Id");
                json_builder_add_string_value(b, c->id);
                json_builder_set_member_name(b, "Names");
                json_builder_add_string_value(b, c->name);
                json_builder_set_member_name(b, "Image");
                json_builder_add_string_value(b, c->image);
                json_builder_set_member_name(b, "State");
                json_builder_add_string_value(b, c->state);
                json_build_int(b, "SizeRw", (gint64) c->size);
                json_build_int(b, "Created", (gint64) (c->created / USEC_PER_SEC));
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        print_json(json_builder_get_root(b));
}
#endif

static void print_verbose(GArray *images, GArray *containers)
{
        Table *t;

        printf("Images space usage:\n\n");
        t = table_new("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE",
                      "CONTAINERS", NULL);
        for (guint k = 0; k < images->len; k++) {
                DfImage *i = &g_array_index(images, DfImage, k);
                char sid[13], when[FORMAT_RELATIVE_MAX], sz[FORMAT_SIZE_MAX], shared[FORMAT_SIZE_MAX],
                        unique[FORMAT_SIZE_MAX], n[16];

                short_id(i->id, sid);
                format_relative_time(when, sizeof(when), i->created);
                format_size(sz, sizeof(sz), i->size);
                format_size(shared, sizeof(shared), i->shared);
                format_size(unique, sizeof(unique), i->unique);
                snprintf(n, sizeof(n), "%u", i->containers);
                if (!i->tags || !i->tags[0])
                        table_add_row(t, "<none>", "<none>", sid, when, sz, shared, unique, n, NULL);
                STRV_FOREACH (tag, i->tags) {
                        g_autofree char *repo = NULL, *tg = NULL;
                        split_tag(*tag, &repo, &tg);
                        table_add_row(t, repo, tg, sid, when, sz, shared, unique, n, NULL);
                }
        }
        table_print(t);
        table_free(t);

        printf("\nContainers space usage:\n\n");
        t = table_new("CONTAINER ID", "IMAGE", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES", NULL);
        for (guint k = 0; k < containers->len; k++) {
                DfContainer *c = &g_array_index(containers, DfContainer, k);
                char sid[13], when[FORMAT_RELATIVE_MAX], sz[FORMAT_SIZE_MAX];
                g_autofree char *status = g_strdup(c->state);

                if (status[0])
                        status[0] = g_ascii_toupper(status[0]);
                format_relative_time(when, sizeof(when), c->created);
                format_size(sz, sizeof(sz), c->size);
                table_add_row(t, short_id(c->id, sid), c->image, "0", sz, when, status, c->name, NULL);
        }
        table_print(t);
        table_free(t);

        printf("\nLocal Volumes space usage:\n\n");
        t = table_new("VOLUME NAME", "LINKS", "SIZE", NULL);
        volumes_add_df_rows(t);
        table_print(t);
        table_free(t);

        printf("\nBuild cache usage: 0B\n\n");
        t = table_new("CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED", NULL);
        table_print(t);
        table_free(t);
}

static int verb_system_df(int argc, char *argv[])
{
        g_autoptr(GArray) images = g_array_new(false, true, sizeof(DfImage));
        g_autoptr(GArray) containers = g_array_new(false, true, sizeof(DfContainer));
        uint64_t layers = 0, reclaimable = 0, ctr_size = 0, ctr_reclaimable = 0;
        unsigned images_active = 0, ctr_active = 0;
        bool verbose = false;
        int c, r;

        static const struct option options[] = { { "verbose", no_argument, NULL, 'v' }, {} };
        while ((c = getopt_long(argc, argv, "v", options, NULL)) >= 0)
                switch (c) {
                case 'v':
                        verbose = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "berthctl system df takes no arguments.\n");
                return EXIT_USAGE;
        }

        g_array_set_clear_func(images, df_image_clear);
        g_array_set_clear_func(containers, df_container_clear);
        r = read_disk_usage(images, containers, &layers, &reclaimable);
        if (r < 0)
                return EXIT_ERROR;

#if BERTHCTL_FULL
        if (arg_json) {
                print_json_df(images, containers, layers, reclaimable);
                return EXIT_OK;
        }
#endif
        if (verbose) {
                print_verbose(images, containers);
                return EXIT_OK;
        }

        for (guint k = 0; k < images->len; k++)
                if (g_array_index(images, DfImage, k).containers > 0)
                        images_active++;
        for (guint k = 0; k < containers->len; k++) {
                DfContainer *ct = &g_array_index(containers, DfContainer, k);
                ctr_size += ct->size;
                if (streq(ct->state, "running"))
                        ctr_active++;
                else
                        ctr_reclaimable += ct->size;
        }

        Table *t = table_new("TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE", NULL);
        char total[16], active[16], sz[FORMAT_SIZE_MAX], recl[FORMAT_SIZE_MAX + 8];

        snprintf(total, sizeof(total), "%u", images->len);
        snprintf(active, sizeof(active), "%u", images_active);
        format_size(sz, sizeof(sz), layers);
        format_reclaimable(recl, sizeof(recl), reclaimable, layers);
        table_add_row(t, "Images", total, active, sz, recl, NULL);

        snprintf(total, sizeof(total), "%u", containers->len);
        snprintf(active, sizeof(active), "%u", ctr_active);
        format_size(sz, sizeof(sz), ctr_size);
        format_reclaimable(recl, sizeof(recl), ctr_reclaimable, ctr_size);
        table_add_row(t, "Containers", total, active, sz, recl, NULL);

        {
                unsigned vtotal = 0, vactive = 0;
                uint64_t vsize = 0, vreclaimable = 0;

                (void) volumes_usage(&vtotal, &vactive, &vsize, &vreclaimable);
                snprintf(total, sizeof(total), "%u", vtotal);
                snprintf(active, sizeof(active), "%u", vactive);
                format_size(sz, sizeof(sz), vsize);
                format_reclaimable(recl, sizeof(recl), vreclaimable, vsize);
                table_add_row(t, "Local Volumes", total, active, sz, recl, NULL);
        }
        {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                uint32_t bcount = 0;
                uint64_t bbytes = 0;
                sd_bus *bus;

                /* The untagged images of the build cache: none active, all reclaimable by image prune. */
                if (bus_get(&bus) >= 0 &&
                    sd_bus_get_property(bus, "org.berth1", "/org/berth1", "org.berth1.Manager",
                                        "BuildCacheUsage", &error, &reply, "(ut)") >= 0)
                        (void) sd_bus_message_read(reply, "(ut)", &bcount, &bbytes);
                snprintf(total, sizeof(total), "%u", bcount);
                format_size(sz, sizeof(sz), bbytes);
                format_reclaimable(recl, sizeof(recl), bbytes, bbytes);
                table_add_row(t, "Build Cache", total, "0", sz, recl, NULL);
        }
        table_print(t);
        table_free(t);
        return EXIT_OK;
}

static int prune(const char *member, bool all, const char *heading, bool images)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_auto(GStrv) removed = NULL;
        char sz[FORMAT_SIZE_MAX];
        uint64_t reclaimed;
        int r;

        polkit_agent_open_if_enabled();
        if (all)
                r = manager_call(member, &reply, "a{sv}", 1, "all", "b", 1);
        else
                r = manager_call(member, &reply, "a{sv}", 0);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_read_strv(reply, &removed);
        if (r >= 0)
                r = sd_bus_message_read(reply, "t", &reclaimed);
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;

#if BERTHCTL_FULL
        if (arg_json) {
                g_autoptr(JsonBuilder) b = json_builder_new();
                json_builder_begin_object(b);
                json_builder_set_member_name(b, images ? "ImagesDeleted" : "ContainersDeleted");
                json_builder_begin_array(b);
                STRV_FOREACH (id, removed)
                        json_builder_add_string_value(b, *id);
                json_builder_end_array(b);
                json_build_int(b, "SpaceReclaimed", (gint64) reclaimed);
                json_builder_end_object(b);
                print_json(json_builder_get_root(b));
                return EXIT_OK;
        }
#endif
        if (removed && removed[0]) {
                printf("%s\n", heading);
                STRV_FOREACH (id, removed)
                        printf(images ? "deleted: %s\n" : "%s\n", *id);
                printf("\n");
        }
        printf("Total reclaimed space: %s\n", format_size(sz, sizeof(sz), reclaimed));
        return EXIT_OK;
}

static int verb_image_prune(int argc, char *argv[])
{
        bool all = false, force = false;
        int c;

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
        if (optind < argc) {
                fprintf(stderr, "berthctl image prune takes no arguments.\n");
                return EXIT_USAGE;
        }
        if (!force &&
            !confirm(all ? "This will remove all images without at least one container associated to them."
                         : "This will remove all dangling images."))
                return EXIT_OK;
        return prune("PruneImages", all, "Deleted Images:", true);
}

static int verb_container_prune(int argc, char *argv[])
{
        bool force;

        if (parse_force_option(argc, argv, &force) < 0)
                return EXIT_USAGE;
        if (optind < argc) {
                fprintf(stderr, "berthctl container prune takes no arguments.\n");
                return EXIT_USAGE;
        }
        if (!force && !confirm("This will remove all stopped containers."))
                return EXIT_OK;
        return prune("PruneContainers", false, "Deleted Containers:", false);
}

const Verb system_verbs[] = {
        { "df", "system", "[-v]", "Show disk usage of images and containers", verb_system_df },
        { "prune", "image", "[-a] [-f]", "Remove unused images", verb_image_prune },
        { "prune", "container", "[-f]", "Remove all stopped containers", verb_container_prune },
        {}
};
