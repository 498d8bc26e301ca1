/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "berthctl.h"
#if BERTHCTL_FULL
#include "shared/json-build.h"
#endif
#include "format.h"
#include "registry/reference.h"

typedef struct ImageRow {
        char *id;
        char **tags;
        char **digests; /* RepoDigests, "repo@sha256:…" */
        uint64_t created, size;
} ImageRow;

static void image_row_clear(ImageRow *r)
{
        free(r->id);
        g_strfreev(r->tags);
        g_strfreev(r->digests);
}

/* The repository of "repo@sha256:…" in Docker's short form ("debian", "127.0.0.1:5000/app"). */
static char *digest_repository(const char *repo_digest)
{
        _cleanup_(reference_freep) Reference *ref = NULL;
        _cleanup_free_ char *familiar = NULL;
        const char *at = strchr(repo_digest, '@');

        if (!at)
                return NULL;
        if (reference_parse(repo_digest, NULL, &ref) >= 0 &&
            reference_familiar_string(ref, &familiar) >= 0 && (at = strchr(familiar, '@')))
                return g_strndup(familiar, (gsize) (at - familiar));
        return g_strndup(repo_digest, (gsize) (at - repo_digest));
}

static int compare_rows(const void *a, const void *b)
{
        const ImageRow *x = a, *y = b;
        /* Newest first, as docker does. */
        return x->created < y->created ? 1 : x->created > y->created ? -1 : strcmp(x->id, y->id);
}

/* Splits Docker's short name "repo:tag" (the repository may hold a port: "127.0.0.1:5000/a:b"). */
static void split_tag(const char *t, char **ret_repo, char **ret_tag)
{
        const char *colon = strrchr(t, ':'), *slash = strrchr(t, '/');

        if (colon && (!slash || colon > slash)) {
                *ret_repo = g_strndup(t, (gsize) (colon - t));
                *ret_tag = g_strdup(colon + 1);
        } else {
                *ret_repo = g_strdup(t);
                *ret_tag = g_strdup("<none>");
        }
}

#if BERTHCTL_FULL
/* The Engine API's /images/json shape, as `docker images --format json` has it. */
static void print_images_json(GArray *rows)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_array(b);
        for (guint i = 0; i < rows->len; i++) {
                ImageRow *row = &g_array_index(rows, ImageRow, i);
                json_builder_begin_object(b);
                json_build_string(b, "Id", row->id);
                json_build_strv(b, "RepoTags", row->tags);
                json_build_strv(b, "RepoDigests", row->digests);
                json_build_int(b, "Created", (gint64) (row->created / USEC_PER_SEC));
                json_build_int(b, "Size", (gint64) row->size);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        print_json(json_builder_get_root(b));
}
#endif

static int verb_image_ls(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autoptr(GArray) rows = g_array_new(false, true, sizeof(ImageRow));
        bool quiet = false, no_trunc = false;
        const char *id, *path;
        uint64_t created, size;
        int c, r;

        g_array_set_clear_func(rows, (GDestroyNotify) image_row_clear);
        static const struct option options[] = { { "quiet", no_argument, NULL, 'q' },
                                                 { "no-trunc", no_argument, NULL, 'T' },
                                                 { "all", no_argument, NULL, 'a' },
                                                 {} };
        while ((c = getopt_long(argc, argv, "qa", options, NULL)) >= 0)
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                case 'T':
                        no_trunc = true;
                        break;
                case 'a':
                        break; /* berth keeps no intermediate images: all is what there is */
                default:
                        return EXIT_USAGE;
                }

        r = manager_call("ListImages", &reply, NULL);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_enter_container(reply, 'a', "(sastto)");
        if (r < 0)
                return EXIT_ERROR;
        while ((r = sd_bus_message_enter_container(reply, 'r', "sastto")) > 0) {
                ImageRow row = {};
                r = sd_bus_message_read(reply, "s", &id);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &row.tags);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "tto", &created, &size, &path);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return log_bus_error(NULL, r), EXIT_ERROR;
                row.id = strdup(id);
                /* Docker shows "repo <none>" for a repository reached only by digest: it needs them. */
                if (!quiet) {
                        sd_bus *bus;
                        if (bus_get(&bus) >= 0)
                                (void) sd_bus_get_property_strv(bus, "org.berth1", path, "org.berth1.Image",
                                                                "RepoDigests", NULL, &row.digests);
                }
                row.created = created;
                row.size = size;
                g_array_append_val(rows, row);
        }
        if (r < 0)
                return log_bus_error(NULL, r), EXIT_ERROR;
        qsort(rows->data, rows->len, sizeof(ImageRow), compare_rows);

#if BERTHCTL_FULL
        if (arg_json) {
                print_images_json(rows);
                return EXIT_OK;
        }
#endif
        if (quiet) {
                for (guint i = 0; i < rows->len; i++) {
                        char sid[13];
                        ImageRow *row = &g_array_index(rows, ImageRow, i);
                        printf("%s\n", no_trunc ? row->id : short_id(row->id, sid));
                }
        } else {
                Table *t = table_new("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", NULL);
                for (guint i = 0; i < rows->len; i++) {
                        ImageRow *row = &g_array_index(rows, ImageRow, i);
                        char sid[13], when[FORMAT_RELATIVE_MAX], sz[FORMAT_SIZE_MAX];
                        const char *shown = no_trunc ? row->id : short_id(row->id, sid);

                        format_relative_time(when, sizeof(when), row->created);
                        format_size(sz, sizeof(sz), row->size);
                        g_autoptr(GPtrArray) repos = g_ptr_array_new_with_free_func(g_free);
                        STRV_FOREACH (tag, row->tags) {
                                g_autofree char *repo = NULL, *tg = NULL;
                                split_tag(*tag, &repo, &tg);
                                table_add_row(t, repo, tg, shown, when, sz, NULL);
                                g_ptr_array_add(repos, TAKE_PTR(repo));
                        }
                        /* As docker: a row "repo <none>" per repository the image has a digest in but no
                         * tag; "<none> <none>" only when it has neither. */
                        STRV_FOREACH (d, row->digests) {
                                char *repo = digest_repository(*d);
                                if (!repo ||
                                    g_ptr_array_find_with_equal_func(repos, repo, g_str_equal, NULL)) {
                                        g_free(repo);
                                        continue;
                                }
                                table_add_row(t, repo, "<none>", shown, when, sz, NULL);
                                g_ptr_array_add(repos, repo);
                        }
                        if (repos->len == 0)
                                table_add_row(t, "<none>", "<none>", shown, when, sz, NULL);
                }
                table_print(t);
                table_free(t);
        }

        return EXIT_OK;
}

static int verb_image_rm(int argc, char *argv[])
{
        return verb_remove_each(argc, argv, "image rm", "image", "RemoveImage", "Untagged: ");
}

static int verb_tag(int argc, char *argv[])
{
        if (argc != 3) {
                fprintf(stderr, "Usage: berthctl tag SOURCE_IMAGE TARGET_IMAGE[:TAG]\n");
                return EXIT_USAGE;
        }
        return manager_call("TagImage", NULL, "ss", argv[1], argv[2]) < 0 ? EXIT_ERROR : EXIT_OK;
}

/* Reads an image object's properties into a Docker-inspect-shaped JSON object. */
#if BERTHCTL_FULL
static int image_inspect_one(const char *key, JsonBuilder *b)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *id = NULL, *config = NULL, *manifest = NULL;
        g_auto(GStrv) tags = NULL, digests = NULL, layers = NULL;
        uint64_t size = 0, created = 0;
        char when[FORMAT_RFC3339_MAX];
        const char *path;
        sd_bus *bus;
        int r;

        r = manager_call("GetImage", &reply, "s", key);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(NULL, r);
        r = bus_get(&bus);
        if (r < 0)
                return r;

#define GET(prop, type, ptr)                                                                                \
        r = sd_bus_get_property_trivial(bus, "org.berth1", path, "org.berth1.Image", prop, &error, type,    \
                                        ptr);                                                               \
        if (r < 0)                                                                                          \
                return log_bus_error(&error, r);
        GET("Size", 't', &size);
        GET("Created", 't', &created);
#undef GET
        r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Image", "Id", &error, &id);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Image", "Config", &error,
                                               &config);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Image", "ManifestDigest",
                                               &error, &manifest);
        if (r >= 0)
                r = sd_bus_get_property_strv(bus, "org.berth1", path, "org.berth1.Image", "RepoTags", &error,
                                             &tags);
        if (r >= 0)
                r = sd_bus_get_property_strv(bus, "org.berth1", path, "org.berth1.Image", "RepoDigests",
                                             &error, &digests);
        if (r >= 0)
                r = sd_bus_get_property_strv(bus, "org.berth1", path, "org.berth1.Image", "Layers", &error,
                                             &layers);
        if (r < 0)
                return log_bus_error(&error, r);

        g_autoptr(JsonParser) parser = json_parser_new();
        JsonObject *cfg = NULL;
        if (json_parser_load_from_data(parser, config, -1, NULL) &&
            JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
                cfg = json_node_get_object(json_parser_get_root(parser));

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "Id");
        json_builder_add_string_value(b, id);
        json_builder_set_member_name(b, "RepoTags");
        json_builder_begin_array(b);
        STRV_FOREACH (t, tags)
                json_builder_add_string_value(b, *t);
        json_builder_end_array(b);
        json_builder_set_member_name(b, "RepoDigests");
        json_builder_begin_array(b);
        STRV_FOREACH (t, digests)
                json_builder_add_string_value(b, *t);
        json_builder_end_array(b);
        json_builder_set_member_name(b, "Created");
        json_builder_add_string_value(b, format_rfc3339(when, sizeof(when), created));
        if (cfg) {
                static const char *const copied[] = { "Author", "Architecture", "Variant", "Os" };
                static const char *const json_names[] = { "author", "architecture", "variant", "os" };
                for (size_t i = 0; i < ELEMENTSOF(copied); i++)
                        if (json_object_has_member(cfg, json_names[i])) {
                                json_builder_set_member_name(b, copied[i]);
                                json_builder_add_value(
                                        b, json_node_copy(json_object_get_member(cfg, json_names[i])));
                        }
                if (json_object_has_member(cfg, "config")) {
                        json_builder_set_member_name(b, "Config");
                        json_builder_add_value(b, json_node_copy(json_object_get_member(cfg, "config")));
                }
        }
        json_build_int(b, "Size", (gint64) size);
        json_builder_set_member_name(b, "RootFS");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "Type");
        json_builder_add_string_value(b, "layers");
        json_builder_set_member_name(b, "Layers");
        json_builder_begin_array(b);
        STRV_FOREACH (l, layers)
                json_builder_add_string_value(b, *l);
        json_builder_end_array(b);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "Metadata");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "ManifestDigest");
        json_builder_add_string_value(b, manifest);
        json_builder_end_object(b);
        json_builder_end_object(b);
        return 0;
}

static int verb_image_inspect(int argc, char *argv[])
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        int ret = EXIT_OK;

        if (argc < 2) {
                fprintf(stderr, "berthctl image inspect: at least one image is needed.\n");
                return EXIT_USAGE;
        }
        json_builder_begin_array(b);
        for (int i = 1; i < argc; i++)
                if (image_inspect_one(argv[i], b) < 0)
                        ret = EXIT_ERROR;
        json_builder_end_array(b);
        print_json(json_builder_get_root(b));
        return ret;
}

static int verb_image_history(int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *config = NULL, *id = NULL;
        _cleanup_free_ uint64_t *sizes = NULL;
        g_autoptr(JsonParser) parser = json_parser_new();
        const void *sizes_data;
        size_t sizes_len = 0, layer = 0;
        const char *path;
        sd_bus *bus;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: berthctl image history IMAGE\n");
                return EXIT_USAGE;
        }
        r = manager_call("GetImage", &reply, "s", argv[1]);
        if (r < 0)
                return EXIT_ERROR;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0 || bus_get(&bus) < 0)
                return EXIT_ERROR;
        r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Image", "Config", &error,
                                       &config);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.berth1", path, "org.berth1.Image", "Id", &error,
                                               &id);
        if (r < 0)
                return log_bus_error(&error, r), EXIT_ERROR;
        sd_bus_message_unref(reply);
        reply = NULL;
        r = sd_bus_get_property(bus, "org.berth1", path, "org.berth1.Image", "LayerSizes", &error, &reply,
                                "at");
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 't', &sizes_data, &sizes_len);
        if (r < 0)
                return log_bus_error(&error, r), EXIT_ERROR;
        sizes_len /= sizeof(uint64_t);

        if (!json_parser_load_from_data(parser, config, -1, NULL) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
                fprintf(stderr, "Error: the image's config cannot be read.\n");
                return EXIT_ERROR;
        }
        JsonObject *cfg = json_node_get_object(json_parser_get_root(parser));
        JsonArray *history =
                json_object_has_member(cfg, "history") ? json_object_get_array_member(cfg, "history") : NULL;
        guint n = history ? json_array_get_length(history) : 0;

        /* Newest step first, and the image id on the newest line only, as docker shows it. */
        Table *t = table_new("IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT", NULL);
        size_t n_layers = 0;
        for (guint i = 0; i < n; i++) {
                JsonObject *h = json_array_get_object_element(history, i);
                if (!h || !json_object_get_boolean_member_with_default(h, "empty_layer", false))
                        n_layers++;
        }
        layer = n_layers;
        for (guint k = n; k > 0; k--) {
                JsonObject *h = json_array_get_object_element(history, k - 1);
                const char *by = h ? json_object_get_string_member_with_default(h, "created_by", "") : "";
                const char *comment = h ? json_object_get_string_member_with_default(h, "comment", "") : "";
                const char *created =
                        h ? json_object_get_string_member_with_default(h, "created", NULL) : NULL;
                bool empty = h && json_object_get_boolean_member_with_default(h, "empty_layer", false);
                char sid[13], when[FORMAT_RELATIVE_MAX], sz[FORMAT_SIZE_MAX];
                g_autofree char *by_short = NULL;
                uint64_t bytes = 0;

                if (!empty && layer > 0) {
                        layer--;
                        bytes = layer < sizes_len ? ((const uint64_t *) sizes_data)[layer] : 0;
                }
                g_autoptr(GDateTime) dt = created ? g_date_time_new_from_iso8601(created, NULL) : NULL;
                format_relative_time(when, sizeof(when),
                                     dt ? (uint64_t) g_date_time_to_unix(dt) * USEC_PER_SEC : 0);
                format_size(sz, sizeof(sz), bytes);
                by_short = g_utf8_strlen(by, -1) > 45 ? g_strdup_printf("%.44s…", by) : g_strdup(by);
                table_add_row(t, k == n ? short_id(id, sid) : "<missing>", when, by_short, sz, comment,
                              NULL);
        }
        table_print(t);
        table_free(t);
        return EXIT_OK;
}
#endif

const Verb image_verbs[] = {
        { "pull", NULL, "[-q] NAME[:TAG|@DIGEST]", "Download an image from a registry", verb_pull },
        { "pull", "image", "[-q] NAME[:TAG|@DIGEST]", "Download an image from a registry", verb_pull },
        { "ls", "image", "[-q] [--no-trunc]", "List images", verb_image_ls },
        { "images", NULL, "", "Alias of 'image ls'", verb_image_ls },
        { "rm", "image", "[-f] IMAGE...", "Remove images (or tags)", verb_image_rm },
        { "rmi", NULL, "[-f] IMAGE...", "Alias of 'image rm'", verb_image_rm },
        { "tag", NULL, "SOURCE TARGET", "Give an image another name", verb_tag },
        { "tag", "image", "SOURCE TARGET", "Give an image another name", verb_tag },
        { "inspect", "image", "IMAGE...", "Show images' details as JSON", FULL_VERB(verb_image_inspect) },
        { "history", "image", "IMAGE", "Show how an image was built", FULL_VERB(verb_image_history) },
        { "search", NULL, "[--limit N] [REGISTRY/]TERM", "Search a registry for images", verb_search },
        {}
};

/* The verb itself is berthctl-build.c's, in berthctl-full. */
const Verb build_verbs[] = {
        { "build", NULL,
          "[-t NAME[:TAG]]... [-f FILE] [--build-arg K=V]... [--target STAGE] [--no-cache] PATH|-",
          "Build an image from a Dockerfile", FULL_VERB(verb_build) },
        { "build", "image", "...", "Alias of 'build'", FULL_VERB(verb_build) },
        {}
};
