/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "build/dockerfile.h"
#include "build/shell-words.h"
#include "daemon/build-dbus.h"
#include "daemon/build-internal.h"
#include "daemon/image-dbus.h"
#include "daemon/image.h"
#include "daemon/transfer.h"
#include "oci/sha256.h"
#include "shared/fs-util.h"
#include "shared/json-build.h"
#include "shared/log.h"
#include "shared/signal-util.h"
#include "store/extract-confine.h"
#include "store/image-store.h"
#include "store/tree-archive.h"

#define DOCKERFILE_SIZE_MAX (1024U * 1024U)
#define REPORT_MAX          1024
#define BUILD_CACHE_FILE    "build-cache.json"

/* Docker's predefined ARGs: usable as --build-arg without an ARG line, given to RUN, never in the history.
 */
static const char *const proxy_args[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                          "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                          "ALL_PROXY",  "all_proxy",  NULL };

static const char *const status_table[_BUILD_STATUS_MAX] = {
        [BUILD_PREPARING] = "preparing", [BUILD_BUILDING] = "building",   [BUILD_DONE] = "done",
        [BUILD_FAILED] = "failed",       [BUILD_CANCELLED] = "cancelled",
};

static void build_advance(Build *b);
static void build_finish(Build *b, const BerthError *e);

void build_options_done(BuildOptions *o)
{
        g_strfreev(o->tags);
        free(o->dockerfile);
        g_strfreev(o->build_args);
        free(o->target);
        free(o->network);
        g_strfreev(o->labels);
        *o = (BuildOptions){};
}

Manager *build_get_manager(Build *b)
{
        return b->manager;
}

uint32_t build_get_id(Build *b)
{
        return b->id;
}

const char *build_get_path(Build *b)
{
        return b->path;
}

sd_bus_slot **build_client_slot_ptr(Build *b)
{
        return &b->client_slot;
}

const char *build_get_status(Build *b)
{
        return status_table[b->status];
}

static int on_rm_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        return 0; /* reaped by sd-event; the floating source goes with it */
}

/* Deleting a context is blocking work: a child does it; the loop reaps it. */
static void remove_dir_in_child(Manager *m, const char *dir)
{
        pid_t pid;

        if (!dir)
                return;
        pid = fork();
        if (pid == 0) {
                reset_signals();
                (void) rm_rf_at(AT_FDCWD, dir);
                _exit(EXIT_SUCCESS);
        }
        if (pid < 0 || sd_event_add_child(m->event, NULL, pid, WEXITED, on_rm_child_exit, NULL) < 0)
                log_warning("Cannot remove the build directory %s, it goes at the next start.", dir);
}

static void build_stop_pull(Build *b)
{
        Transfer *t = TAKE_PTR(b->pull);

        if (!t)
                return;
        transfer_set_done_hook(t, NULL, NULL);
        transfer_cancel(t);
}

Build *build_free(Build *b)
{
        if (!b)
                return NULL;
        build_stop_pull(b);
        b->run = build_run_free(b->run);
        b->client_slot = sd_bus_slot_unref(b->client_slot);
        b->child_source = sd_event_source_disable_unref(b->child_source);
        b->defer = sd_event_source_disable_unref(b->defer);
        if (b->child > 0) {
                (void) kill(b->child, SIGKILL);
                (void) waitpid(b->child, NULL, 0);
        }
        safe_close(b->context_fd);
        safe_close(b->child_report_fd);
        if (b->dir) {
                /* The unpacking child may still be gone only just now; it never outlives us. */
                remove_dir_in_child(b->manager, b->dir);
        }
        free(b->dir);
        free(b->context_dir);
        free(b->path);
        build_options_done(&b->opt);
        free(b->needed);
        for (size_t i = 0; b->stage_images && b->dockerfile && i < b->dockerfile->n_stages; i++)
                free(b->stage_images[i]);
        free(b->stage_images);
        dockerfile_free(b->dockerfile);
        oci_image_config_free(b->config);
        free(b->image_id);
        g_strfreev(b->args);
        g_strfreev(b->global_args);
        for (size_t i = 0; i < b->n_triggers; i++)
                dockerfile_instruction_free(b->triggers[i]);
        free(b->triggers);
        return mfree(b);
}

int build_new(Manager *m, BuildOptions *o, int context_fd, Build **ret)
{
        _cleanup_(build_freep) Build *b = NULL;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->manager = m;
        b->id = ++m->build_counter;
        b->path = g_strdup_printf("/org/berth1/build/_%" PRIu32, b->id);
        b->opt = *o;
        *o = (BuildOptions){};
        b->context_fd = context_fd;
        b->child_report_fd = -EBADF;
        b->next = (size_t) -1;
        if (!b->opt.dockerfile)
                b->opt.dockerfile = g_strdup("Dockerfile");
        *ret = TAKE_PTR(b);
        return 0;
}

/* ---- messages ------------------------------------------------------------------------------------- */

void build_output(Build *b, const char *line)
{
        if (!b->opt.quiet)
                build_send_output(b, line);
}

static void build_outputf(Build *b, const char *fmt, ...) _printf_(2, 3);
static void build_outputf(Build *b, const char *fmt, ...)
{
        g_autofree char *line = NULL;
        va_list ap;

        va_start(ap, fmt);
        line = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        build_output(b, line);
}

static void build_fail(Build *b, int error, const char *fmt, ...) _printf_(3, 4);
static void build_fail(Build *b, int error, const char *fmt, ...)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        (void) berth_error_set(&e, error < 0 ? error : -EIO, "%s", msg);
        build_finish(b, &e);
}

void build_step_failed(Build *b, int error, const char *fmt, ...)
{
        g_autofree char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        b->run = build_run_free(b->run);
        if (b->status == BUILD_CANCELLED || error == -ECANCELED)
                build_fail(b, -ECANCELED, "The build was cancelled.");
        else
                build_fail(b, error, "%s", msg);
}

static int on_free_build(sd_event_source *s, void *userdata)
{
        sd_event_source_disable_unref(s);
        build_free(userdata);
        return 0;
}

static void build_finish(Build *b, const BerthError *e)
{
        Manager *m = b->manager;
        sd_event_source *s = NULL;
        const char *image = e ? "" : strempty(b->image_id);

        if (b->finished)
                return;
        b->finished = true;
        build_stop_pull(b);
        b->run = build_run_free(b->run);
        b->client_slot = sd_bus_slot_unref(b->client_slot);
        if (e)
                b->status = e->error == -ECANCELED ? BUILD_CANCELLED : BUILD_FAILED;
        else
                b->status = BUILD_DONE;
        if (e)
                sd_journal_send("MESSAGE=Build %" PRIu32 " %s: %s", b->id, build_get_status(b),
                                berth_error_message(e), "PRIORITY=%i", LOG_WARNING, "BERTH_BUILD=%" PRIu32,
                                b->id, NULL);
        else
                sd_journal_send("MESSAGE=Build %" PRIu32 " made image %s.", b->id, image, "PRIORITY=%i",
                                LOG_INFO, "BERTH_BUILD=%" PRIu32, b->id, "BERTH_IMAGE_ID=%s", image, NULL);
        build_send_finished(b, e, image);
        g_hash_table_steal(m->builds, GUINT_TO_POINTER(b->id));
        if (sd_event_add_defer(m->event, &s, on_free_build, b) < 0)
                log_warning("Failed to schedule freeing of a finished build, leaking it.");
}

void build_cancel(Build *b)
{
        if (b->finished)
                return;
        b->status = BUILD_CANCELLED;
        build_stop_pull(b);
        if (b->run) {
                build_run_cancel(b); /* its end reports the cancel */
                return;
        }
        build_fail(b, -ECANCELED, "The build was cancelled.");
}

/* ---- the cache -------------------------------------------------------------------------------------- */

static int build_cache_save(Manager *m)
{
        g_autoptr(JsonBuilder) jb = json_builder_new_immutable();
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *text = NULL;
        GHashTableIter it;
        gpointer k, v;
        gsize size = 0;

        json_builder_begin_object(jb);
        g_hash_table_iter_init(&it, m->build_cache);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                json_builder_set_member_name(jb, k);
                json_builder_add_string_value(jb, v);
        }
        json_builder_end_object(jb);
        root = json_builder_get_root(jb);
        json_generator_set_root(gen, root);
        text = json_generator_to_data(gen, &size);
        if (!text)
                return -ENOMEM;
        return write_file_atomic_at(AT_FDCWD, m->build_cache_path, text, size, 0600);
}

int manager_load_build_cache(Manager *m)
{
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autofree char *text = NULL;
        size_t size;
        JsonNode *root;
        int r;

        free(m->build_cache_path);
        m->build_cache_path = g_strdup_printf("%s/" BUILD_CACHE_FILE, m->state_dir);
        if (!m->build_cache)
                m->build_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        r = read_file_at(AT_FDCWD, m->build_cache_path, 64U * 1024U * 1024U, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s, starting with an empty build cache: %m",
                                         m->build_cache_path);
        root = json_parser_load_from_data(parser, text, (gssize) size, NULL) ? json_parser_get_root(parser)
                                                                             : NULL;
        if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
                log_warning("%s is not a JSON object, starting with an empty build cache.",
                            m->build_cache_path);
                return 0;
        }
        JsonObject *o = json_node_get_object(root);
        g_autoptr(GList) members = json_object_get_members(o);
        for (GList *l = members; l; l = l->next) {
                JsonNode *n = json_object_get_member(o, l->data);
                if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
                        g_hash_table_insert(m->build_cache, g_strdup(l->data),
                                            g_strdup(json_node_get_string(n)));
        }
        return 0;
}

void manager_sweep_builds(Manager *m)
{
        g_autofree char *dir = g_strdup_printf("%s/build", m->state_dir);
        (void) rm_rf_at(AT_FDCWD, dir);
}

void manager_build_cache_usage(Manager *m, unsigned *ret_count, uint64_t *ret_bytes)
{
        g_autoptr(GHashTable) own = g_hash_table_new(g_str_hash, g_str_equal); /* chain id → size */
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) images = image_store_list(m->images);
        GHashTableIter it;
        gpointer k, v;
        unsigned count = 0;
        uint64_t bytes = 0;

        if (m->build_cache) {
                g_hash_table_iter_init(&it, m->build_cache);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        const ImageRecord *img = image_store_get(m->images, v);
                        g_auto(GStrv) tags = img ? image_store_tags_of(m->images, img->id) : NULL;
                        size_t n;

                        if (!img || (tags && tags[0]) || g_hash_table_contains(seen, img->id))
                                continue;
                        g_hash_table_add(seen, img->id);
                        count++;
                        n = img->chain_ids ? g_strv_length(img->chain_ids) : 0;
                        if (n > 0)
                                g_hash_table_insert(
                                        own, img->chain_ids[n - 1],
                                        GSIZE_TO_POINTER(img->layer_sizes ? img->layer_sizes[n - 1] : 0));
                }
        }
        /* A layer a tagged image uses is the image's, not the cache's. */
        for (guint i = 0; i < images->len; i++) {
                const ImageRecord *img = images->pdata[i];
                g_auto(GStrv) tags = image_store_tags_of(m->images, img->id);
                if (!tags || !tags[0])
                        continue;
                STRV_FOREACH (c, img->chain_ids)
                        g_hash_table_remove(own, *c);
        }
        g_hash_table_iter_init(&it, own);
        while (g_hash_table_iter_next(&it, &k, &v))
                bytes += GPOINTER_TO_SIZE(v);
        *ret_count = count;
        *ret_bytes = bytes;
}

char *build_cache_key(Build *b, const char *created_by, const char *extra)
{
        g_autofree char *text =
                g_strdup_printf("%s\n%s\n%s", strempty(b->image_id), created_by, strempty(extra));
        char *key = NULL;

        if (sha256_digest_data(text, strlen(text), &key) < 0)
                return NULL;
        return key;
}

const char *build_cache_lookup(Build *b, const char *key)
{
        Manager *m = b->manager;
        const char *id;

        if (b->opt.no_cache || !key)
                return NULL;
        id = g_hash_table_lookup(m->build_cache, key);
        if (!id)
                return NULL;
        if (!image_store_get(m->images, id)) {
                /* Pruned: forget it. */
                g_hash_table_remove(m->build_cache, key);
                return NULL;
        }
        return id;
}

void build_cache_record(Build *b, const char *key, const char *image_id)
{
        Manager *m = b->manager;
        int r;

        if (!key)
                return;
        g_hash_table_insert(m->build_cache, g_strdup(key), g_strdup(image_id));
        r = build_cache_save(m);
        if (r < 0)
                log_warning_errno(r, "Failed to save the build cache, ignoring: %m");
}

/* ---- configs and images ------------------------------------------------------------------------------ */

OciImageConfig *build_config_copy(const OciImageConfig *c)
{
        g_autofree char *json = NULL;
        OciImageConfig *copy = NULL;
        size_t size;

        if (oci_image_config_to_json(c, &json, &size) < 0)
                return NULL;
        if (oci_image_config_parse(json, size, NULL, &copy) < 0)
                return NULL;
        return copy;
}

static int load_config(Manager *m, const char *id, OciImageConfig **ret)
{
        g_autofree char *json = NULL;
        size_t size;
        int r;

        r = image_store_read_config(m->images, id, &json, &size);
        if (r < 0)
                return r;
        return oci_image_config_parse(json, size, NULL, ret);
}

/* The config (b->config with a history entry added) as a new image on the current image's layers. */
static int build_record_config(Build *b, const char *created_by, char **ret_id)
{
        Manager *m = b->manager;
        OciImageConfig *cfg = b->config;
        const ImageRecord *parent = b->image_id ? image_store_get(m->images, b->image_id) : NULL;
        _cleanup_(image_record_freep) ImageRecord *rec = NULL;
        g_autofree char *json = NULL;
        char *id = NULL;
        uint64_t now = (uint64_t) g_get_real_time();
        size_t size, n;
        int r;

        cfg->history = g_renew(OciHistoryEntry, cfg->history, cfg->n_history + 1);
        cfg->history[cfg->n_history++] = (OciHistoryEntry){
                .created_usec = now,
                .created_by = g_strdup(created_by),
                .empty_layer = true,
        };
        cfg->created_usec = now;
        r = oci_image_config_to_json(cfg, &json, &size);
        if (r < 0)
                return r;
        r = sha256_digest_data(json, size, &id);
        if (r < 0)
                return r;

        rec = calloc(1, sizeof(*rec));
        if (!rec) {
                free(id);
                return -ENOMEM;
        }
        n = parent && parent->chain_ids ? g_strv_length(parent->chain_ids) : 0;
        rec->id = g_strdup(id);
        rec->diff_ids = parent ? g_strdupv(parent->diff_ids) : g_new0(char *, 1);
        rec->chain_ids = parent ? g_strdupv(parent->chain_ids) : g_new0(char *, 1);
        rec->layer_sizes = g_new0(uint64_t, n + 1);
        if (parent && parent->layer_sizes)
                memcpy(rec->layer_sizes, parent->layer_sizes, n * sizeof(uint64_t));
        rec->size = parent ? parent->size : 0;
        rec->created_usec = now;
        rec->added_usec = now;
        bool is_new = !image_store_get(m->images, id);
        r = image_store_add(m->images, rec, json, size, NULL, 0);
        if (r < 0) {
                free(id);
                return r;
        }
        if (is_new)
                image_send_signal(m, id, true);
        *ret_id = id;
        return 0;
}

/* ---- steps ----------------------------------------------------------------------------------------- */

static int on_defer(sd_event_source *s, void *userdata)
{
        Build *b = userdata;

        b->defer = sd_event_source_disable_unref(b->defer);
        build_advance(b);
        return 0;
}

static void build_schedule(Build *b)
{
        int r;

        if (b->defer || b->finished)
                return;
        r = sd_event_add_defer(b->manager->event, &b->defer, on_defer, b);
        if (r < 0)
                build_fail(b, r, "Cannot schedule the next step: %s", strerror(-r));
}

void build_step_done(Build *b, const char *image_id, bool cached)
{
        OciImageConfig *cfg = NULL;
        int r;

        b->run = build_run_free(b->run);
        if (b->status == BUILD_CANCELLED)
                return build_fail(b, -ECANCELED, "The build was cancelled.");
        r = load_config(b->manager, image_id, &cfg);
        if (r < 0)
                return build_fail(b, r, "Cannot read the config of image %s", image_id);
        oci_image_config_free(b->config);
        b->config = cfg;
        free(b->image_id);
        b->image_id = g_strdup(image_id);
        if (cached)
                build_output(b, " ---> Using cache");
        build_send_step_finished(b, b->step, cached, image_id);
        build_schedule(b);
}

/* A step that only changes the config: through the cache, or a new image. */
static void build_config_step(Build *b, const char *created_by)
{
        g_autofree char *key = build_cache_key(b, created_by, NULL), *id = NULL;
        const char *hit = build_cache_lookup(b, key);
        int r;

        if (hit)
                return build_step_done(b, hit, true);
        r = build_record_config(b, created_by, &id);
        if (r < 0)
                return build_fail(b, r, "Cannot record the image of step %u: %s", b->step, strerror(-r));
        build_cache_record(b, key, id);
        build_step_done(b, id, false);
}

static const char *build_lookup(const char *name, void *userdata)
{
        Build *b = userdata;
        const char *v = b->config ? shell_lookup_envp(name, b->config->env) : NULL;

        return v ?: shell_lookup_envp(name, b->args);
}

static int expand(Build *b, const char *word, char **ret, BerthError *e)
{
        return shell_word_expand(word, b->dockerfile->escape, build_lookup, b, ret, e);
}

static const char *build_arg_value(Build *b, const char *name)
{
        return shell_lookup_envp(name, b->opt.build_args);
}

char **build_run_env(Build *b)
{
        char **env = g_strdupv(b->args);

        for (const char *const *p = proxy_args; *p; p++) {
                const char *v = build_arg_value(b, *p);
                if (v && !shell_lookup_envp(*p, env))
                        (void) shell_env_set(&env, *p, v);
        }
        return env;
}

/* Go's %q list, as Docker prints CMD and friends in the history: ["a" "b"]. */
static char *quoted_list(char **l)
{
        GString *s = g_string_new("[");

        for (char **p = l; p && *p; p++) {
                g_autofree char *q = g_strescape(*p, NULL);
                g_string_append_printf(s, "%s\"%s\"", p == l ? "" : " ", q);
        }
        g_string_append_c(s, ']');
        return g_string_free(s, false);
}

static char **shell_argv(Build *b, const char *text)
{
        char **shell =
                b->config->shell ? b->config->shell : (char *[]){ (char *) "/bin/sh", (char *) "-c", NULL };
        size_t n = g_strv_length(shell);
        char **argv = g_new0(char *, n + 2);

        for (size_t i = 0; i < n; i++)
                argv[i] = g_strdup(shell[i]);
        argv[n] = g_strdup(text);
        return argv;
}

static void set_strv(char ***field, char **value)
{
        g_strfreev(*field);
        *field = value;
}

static int add_key(char ***list, const char *key, const char *value)
{
        size_t n = *list ? g_strv_length(*list) : 0;

        for (size_t i = 0; i + (value ? 1 : 0) < n; i += value ? 2 : 1)
                if (streq((*list)[i], key)) {
                        if (value) {
                                free((*list)[i + 1]);
                                (*list)[i + 1] = g_strdup(value);
                        }
                        return 0;
                }
        *list = g_renew(char *, *list, n + (value ? 3 : 2));
        (*list)[n++] = g_strdup(key);
        if (value)
                (*list)[n++] = g_strdup(value);
        (*list)[n] = NULL;
        return 0;
}

#define NOP "/bin/sh -c #(nop) "

/* Runs instruction i of the current stage. Returns when the step is started: its end calls
 * build_step_done() or build_step_failed(). */
static void build_instruction(Build *b, const DockerfileInstruction *i)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *created_by = NULL;
        g_auto(GStrv) words = NULL;
        const char *kw = dockerfile_keyword_to_string(i->keyword);
        int r;

        /* Arguments of everything but RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK/ONBUILD go through the lexer. */
        switch (i->keyword) {
        case DOCKERFILE_RUN:
        case DOCKERFILE_CMD:
        case DOCKERFILE_ENTRYPOINT:
        case DOCKERFILE_SHELL:
        case DOCKERFILE_HEALTHCHECK:
        case DOCKERFILE_ONBUILD:
        case DOCKERFILE_EXPOSE:
                words = g_strdupv(i->args);
                break;
        default:
                words = g_new0(char *, i->n_args + 1);
                for (size_t k = 0; k < i->n_args; k++) {
                        /* ARG's default is expanded below, after the split. */
                        if (i->keyword == DOCKERFILE_ARG)
                                words[k] = g_strdup(i->args[k]);
                        else if (expand(b, i->args[k], &words[k], &e) < 0)
                                return build_fail(b, -EINVAL, "Dockerfile:%u: %s", i->line,
                                                  berth_error_message(&e));
                }
        }

        switch (i->keyword) {
        case DOCKERFILE_RUN: {
                g_auto(GStrv) argv = i->json ? g_strdupv(words) : shell_argv(b, words[0]);
                g_auto(GStrv) env = build_run_env(b);
                g_autofree char *joined = g_strjoinv(" ", argv);
                size_t n_args = b->args ? g_strv_length(b->args) : 0;

                if (!argv[0])
                        return build_fail(b, -EINVAL, "Dockerfile:%u: RUN needs a command", i->line);
                if (n_args > 0) {
                        g_autofree char *a = g_strjoinv(" ", b->args);
                        created_by = g_strdup_printf("|%zu %s %s", n_args, a, joined);
                } else
                        created_by = g_strdup(joined);
                r = build_run_start(b, argv, created_by, env);
                if (r < 0)
                        return build_fail(b, r, "Cannot start step %u: %s", b->step, strerror(-r));
                return;
        }
        case DOCKERFILE_COPY:
        case DOCKERFILE_ADD: {
                const DockerfileFlag *from = dockerfile_instruction_flag(i, "from");
                const char *from_image = NULL;
                g_autofree char *dest = NULL;
                size_t n = g_strv_length(words);

                for (size_t k = 0; k + 1 < n; k++)
                        if (strstr(words[k], "://"))
                                return build_fail(
                                        b, -EOPNOTSUPP,
                                        "Dockerfile:%u: %s of a remote URL (%s) is not supported by "
                                        "berth: download it in a RUN step or into the context",
                                        i->line, kw, words[k]);
                if (from && from->value) {
                        const DockerfileStage *st =
                                dockerfile_find_stage(b->dockerfile, from->value, b->stage);
                        if (st)
                                from_image = b->stage_images[st->index];
                        else {
                                const ImageRecord *img;
                                _cleanup_berth_error_ BerthError fe = BERTH_ERROR_INIT;
                                if (manager_find_image(b->manager, from->value, &fe, &img) < 0)
                                        return build_fail(
                                                b, -ENOENT,
                                                "Dockerfile:%u: COPY --from=%s: no such stage or image "
                                                "(pull it first)",
                                                i->line, from->value);
                                from_image = img->id;
                        }
                        if (!from_image)
                                return build_fail(b, -ENOENT, "Dockerfile:%u: stage %s was not built",
                                                  i->line, from->value);
                }
                /* A relative destination is taken from WORKDIR, as Docker does. */
                const char *d = words[n - 1];
                if (d[0] != '/')
                        dest = g_strconcat(b->config->working_dir ?: "/",
                                           g_str_has_suffix(b->config->working_dir ?: "/", "/") ? "" : "/",
                                           streq(d, ".") ? "" : d, NULL);
                else
                        dest = g_strdup(d);
                if ((streq(d, ".") || streq(d, "./")) && !g_str_has_suffix(dest, "/")) {
                        char *t = g_strconcat(dest, "/", NULL);
                        free(dest);
                        dest = t;
                }
                free(words[n - 1]);
                words[n - 1] = NULL;
                r = build_copy_start(b, i, words, dest, from_image);
                if (r < 0)
                        return build_fail(b, r, "Cannot start step %u: %s", b->step, strerror(-r));
                return;
        }
        case DOCKERFILE_CMD:
        case DOCKERFILE_ENTRYPOINT: {
                char **v = i->json ? g_strdupv(words) : shell_argv(b, words[0]);
                g_autofree char *q = quoted_list(v);
                created_by = g_strdup_printf(NOP " %s %s", kw, q);
                if (i->keyword == DOCKERFILE_CMD) {
                        set_strv(&b->config->cmd, v);
                        b->cmd_set = true;
                } else {
                        set_strv(&b->config->entrypoint, v);
                        /* As Docker: an ENTRYPOINT resets a CMD inherited from the base image. */
                        if (!b->cmd_set)
                                set_strv(&b->config->cmd, NULL);
                }
                break;
        }
        case DOCKERFILE_SHELL: {
                g_autofree char *q = quoted_list(words);
                created_by = g_strdup_printf(NOP " SHELL %s", q);
                set_strv(&b->config->shell, g_strdupv(words));
                break;
        }
        case DOCKERFILE_ENV: {
                GString *s = g_string_new(NOP " ENV");
                for (size_t k = 0; words[k] && words[k + 1]; k += 2) {
                        (void) shell_env_set(&b->config->env, words[k], words[k + 1]);
                        g_string_append_printf(s, " %s=%s", words[k], words[k + 1]);
                }
                created_by = g_string_free(s, false);
                break;
        }
        case DOCKERFILE_LABEL: {
                GString *s = g_string_new(NOP " LABEL");
                for (size_t k = 0; words[k] && words[k + 1]; k += 2) {
                        (void) add_key(&b->config->labels, words[k], words[k + 1]);
                        g_string_append_printf(s, " %s=%s", words[k], words[k + 1]);
                }
                created_by = g_string_free(s, false);
                break;
        }
        case DOCKERFILE_MAINTAINER:
                free(b->config->author);
                b->config->author = g_strdup(words[0]);
                created_by = g_strdup_printf(NOP " MAINTAINER %s", words[0]);
                break;
        case DOCKERFILE_ARG: {
                GString *s = g_string_new(NOP " ARG");
                for (size_t k = 0; words[k]; k++) {
                        g_autofree char *name = NULL, *def = NULL, *value = NULL;
                        const char *v;
                        if (dockerfile_arg_split(words[k], &name, &def) < 0)
                                return build_fail(b, -EINVAL, "Dockerfile:%u: bad ARG %s", i->line,
                                                  words[k]);
                        if (def && expand(b, def, &value, &e) < 0)
                                return build_fail(b, -EINVAL, "Dockerfile:%u: %s", i->line,
                                                  berth_error_message(&e));
                        v = build_arg_value(b, name);
                        if (!v)
                                v = value;
                        if (!v && !def)
                                v = shell_lookup_envp(name, b->global_args);
                        if (v)
                                (void) shell_env_set(&b->args, name, v);
                        g_string_append_printf(s, " %s", words[k]);
                }
                created_by = g_string_free(s, false);
                break;
        }
        case DOCKERFILE_WORKDIR: {
                g_autofree char *p =
                        words[0][0] == '/' ? g_strdup(words[0])
                                           : g_build_filename(b->config->working_dir ?: "/", words[0], NULL);
                free(b->config->working_dir);
                b->config->working_dir = g_canonicalize_filename(p, "/");
                created_by = g_strdup_printf(NOP "WORKDIR %s", b->config->working_dir);
                break;
        }
        case DOCKERFILE_USER:
                free(b->config->user);
                b->config->user = g_strdup(words[0]);
                created_by = g_strdup_printf(NOP " USER %s", words[0]);
                break;
        case DOCKERFILE_EXPOSE: {
                GString *s = g_string_new(NOP " EXPOSE");
                for (size_t k = 0; words[k]; k++) {
                        g_auto(GStrv) ports = NULL;
                        if (shell_words_expand(words[k], b->dockerfile->escape, build_lookup, b, &ports,
                                               &e) < 0)
                                return build_fail(b, -EINVAL, "Dockerfile:%u: %s", i->line,
                                                  berth_error_message(&e));
                        for (char **p = ports; *p; p++) {
                                g_autofree char *port = strchr(*p, '/') ? g_ascii_strdown(*p, -1)
                                                                        : g_strconcat(*p, "/tcp", NULL);
                                (void) add_key(&b->config->exposed_ports, port, NULL);
                                g_string_append_printf(s, " %s", port);
                        }
                }
                created_by = g_string_free(s, false);
                break;
        }
        case DOCKERFILE_VOLUME: {
                g_autofree char *q = quoted_list(words);
                for (size_t k = 0; words[k]; k++)
                        (void) add_key(&b->config->volumes, words[k], NULL);
                created_by = g_strdup_printf(NOP " VOLUME %s", q);
                break;
        }
        case DOCKERFILE_STOPSIGNAL:
                free(b->config->stop_signal);
                b->config->stop_signal = g_strdup(words[0]);
                created_by = g_strdup_printf(NOP " STOPSIGNAL %s", words[0]);
                break;
        case DOCKERFILE_HEALTHCHECK: {
                const char *f[] = { "interval", "timeout", "start-period", "retries" };
                int64_t *v[] = { &b->config->healthcheck_interval, &b->config->healthcheck_timeout,
                                 &b->config->healthcheck_start_period, &b->config->healthcheck_retries };
                if (streq(words[0], "NONE"))
                        set_strv(&b->config->healthcheck_test,
                                 g_strdupv((char *[]){ (char *) "NONE", NULL }));
                else if (i->json)
                        set_strv(&b->config->healthcheck_test, g_strdupv(words));
                else
                        set_strv(&b->config->healthcheck_test,
                                 g_strdupv((char *[]){ (char *) "CMD-SHELL", words[1], NULL }));
                for (size_t k = 0; k < G_N_ELEMENTS(f); k++) {
                        const DockerfileFlag *fl = dockerfile_instruction_flag(i, f[k]);
                        *v[k] = 0;
                        if (fl && fl->value && k < 3)
                                (void) dockerfile_parse_duration(fl->value, v[k]);
                        else if (fl && fl->value)
                                *v[k] = g_ascii_strtoll(fl->value, NULL, 10);
                }
                g_autofree char *q = quoted_list(b->config->healthcheck_test);
                created_by = g_strdup_printf(NOP " HEALTHCHECK &{%s}", q);
                break;
        }
        case DOCKERFILE_ONBUILD:
                (void) add_key(&b->config->onbuild, words[0], NULL);
                created_by = g_strdup_printf(NOP " ONBUILD %s", words[0]);
                break;
        default:
                return build_fail(b, -EINVAL, "Dockerfile:%u: %s is not supported here", i->line, kw);
        }
        build_config_step(b, created_by);
}

static void build_from(Build *b, const DockerfileStage *st);

static void on_pulled(void *userdata, const char *image_id, const BerthError *e)
{
        Build *b = userdata;

        b->pull = NULL; /* it frees itself after this */
        if (e)
                return build_fail(b, e->error == -ECANCELED ? -ECANCELED : -ENOENT, "FROM: pull failed: %s",
                                  berth_error_message(e));
        build_outputf(b, "Status: Downloaded %s", image_id);
        b->pulled = true;
        build_from(b, &b->dockerfile->stages[b->stage]);
}

/* FROM's image is missing (or --pull): a pull as PullImage makes it, its end goes on with the FROM. */
static void build_pull(Build *b, const char *base)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        Manager *m = b->manager;
        Transfer *t = NULL;
        int r;

        r = transfer_new(m, base, &e, &t);
        if (r < 0)
                return build_fail(b, r, "FROM %s: %s", base, berth_error_message(&e));
        g_hash_table_insert(m->transfers, GUINT_TO_POINTER(transfer_get_id(t)), t);
        transfer_set_done_hook(t, on_pulled, b);
        b->pull = t;
        build_outputf(b, "Pulling %s", transfer_get_reference(t));
        r = transfer_start(t);
        if (r < 0 && b->pull) {
                b->pull = NULL;
                transfer_set_done_hook(t, NULL, NULL);
                transfer_cancel(t);
                return build_fail(b, r, "FROM %s: cannot start the pull: %s", base, strerror(-r));
        }
}

/* FROM: the stage's base. */
static void build_from(Build *b, const DockerfileStage *st)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *base = NULL;
        const DockerfileStage *prev;
        int r;

        r = shell_word_expand(st->base, b->dockerfile->escape, shell_lookup_envp, b->global_args, &base, &e);
        if (r < 0)
                return build_fail(b, -EINVAL, "Dockerfile:%u: %s", st->from->line, berth_error_message(&e));
        if (st->platform && !streq(st->platform, "linux/amd64") && !streq(st->platform, "$BUILDPLATFORM") &&
            !streq(st->platform, "$TARGETPLATFORM"))
                return build_fail(b, -EINVAL,
                                  "Dockerfile:%u: FROM --platform=%s: berth builds for linux/amd64 only",
                                  st->from->line, st->platform);

        oci_image_config_free(b->config);
        b->config = NULL;
        b->image_id = mfree(b->image_id);
        g_strfreev(b->args);
        b->args = NULL;

        prev = dockerfile_find_stage(b->dockerfile, base, st->index);
        if (prev && prev->name && strcasecmp(prev->name, base) == 0)
                b->image_id = g_strdup(b->stage_images[prev->index]);
        else if (streq(base, "scratch")) {
                b->config = calloc(1, sizeof(OciImageConfig));
                if (!b->config)
                        return build_fail(b, -ENOMEM, "Out of memory");
                b->config->architecture = g_strdup("amd64");
                b->config->os = g_strdup("linux");
                b->config->diff_ids = g_new0(char *, 1);
                /* An image for scratch, so the next steps have a parent: a config without layers. */
                g_autofree char *id = NULL;
                r = build_record_config(b, NOP " FROM scratch", &id);
                if (r < 0)
                        return build_fail(b, r, "Cannot make the scratch image: %s", strerror(-r));
                b->image_id = TAKE_PTR(id);
                build_send_step_finished(b, b->step, false, "");
                return build_schedule(b);
        } else {
                const ImageRecord *img = NULL;
                r = manager_find_image(b->manager, base, &e, &img);
                if (r == -EINVAL)
                        return build_fail(b, -EINVAL, "Dockerfile:%u: FROM %s: %s", st->from->line, base,
                                          berth_error_message(&e));
                if (!b->pulled && (r < 0 || b->opt.pull))
                        return build_pull(b, base);
                if (r < 0)
                        return build_fail(b, -ENOENT, "Dockerfile:%u: FROM %s: no such image",
                                          st->from->line, base);
                b->image_id = g_strdup(img->id);
        }
        b->pulled = false;

        r = load_config(b->manager, b->image_id, &b->config);
        if (r < 0)
                return build_fail(b, r, "Cannot read the config of %s", base);
        /* The base's ONBUILD triggers run now, and are not inherited. */
        for (char **t = b->config->onbuild; t && *t; t++) {
                _cleanup_(dockerfile_instruction_freep) DockerfileInstruction *trig = NULL;
                r = dockerfile_parse_trigger(*t, &trig, &e);
                if (r < 0)
                        return build_fail(b, r, "%s", berth_error_message(&e));
                b->triggers = g_renew(DockerfileInstruction *, b->triggers, b->n_triggers + 1);
                b->triggers[b->n_triggers++] = TAKE_PTR(trig);
        }
        if (b->n_triggers > 0)
                build_outputf(b, "# Executing %zu build trigger%s", b->n_triggers,
                              b->n_triggers == 1 ? "" : "s");
        set_strv(&b->config->onbuild, NULL);
        build_send_step_finished(b, b->step, false, b->image_id);
        build_schedule(b);
}

static void build_stage_done(Build *b)
{
        b->stage_images[b->stage] = g_strdup(b->image_id);
        for (size_t i = 0; i < b->n_triggers; i++)
                dockerfile_instruction_free(b->triggers[i]);
        b->triggers = mfree(b->triggers);
        b->n_triggers = b->next_trigger = 0;
        b->stage++;
        b->next = (size_t) -1;
        b->cmd_set = false;
}

static void build_tag(Build *b)
{
        Manager *m = b->manager;
        const ImageRecord *img = image_store_get(m->images, b->image_id);
        int r;

        if (!img)
                return build_fail(b, -ENOENT, "The built image is gone");
        build_outputf(b, "Successfully built %.12s", b->image_id + strlen("sha256:"));
        for (char **t = b->opt.tags; t && *t; t++) {
                r = manager_tag_image(m, img, *t);
                if (r < 0)
                        return build_fail(b, r, "Cannot tag the image %s: %s", *t, strerror(-r));
                image_send_changed(m, b->image_id);
        }
        build_finish(b, NULL);
}

static void build_advance(Build *b)
{
        Dockerfile *d = b->dockerfile;

        if (b->finished)
                return;
        if (b->status == BUILD_CANCELLED)
                return build_fail(b, -ECANCELED, "The build was cancelled.");
        for (;;) {
                if (b->stage > b->target || b->stage >= d->n_stages)
                        return build_tag(b);
                const DockerfileStage *st = &d->stages[b->stage];
                if (!b->needed[b->stage]) {
                        b->stage++;
                        continue;
                }
                if (b->next == (size_t) -1) {
                        b->next = 0;
                        b->step++;
                        build_send_step_started(b, b->step, b->n_steps, st->from->original);
                        return build_from(b, st);
                }
                if (b->next_trigger < b->n_triggers) {
                        const DockerfileInstruction *t = b->triggers[b->next_trigger++];
                        build_outputf(b, "Executing build trigger: %s", t->original);
                        return build_instruction(b, t);
                }
                if (b->next < st->n_instructions) {
                        const DockerfileInstruction *i = &st->instructions[b->next++];
                        b->step++;
                        build_send_step_started(b, b->step, b->n_steps, i->original);
                        return build_instruction(b, i);
                }
                if (b->stage == b->target && b->opt.labels && !b->labels_done) {
                        GString *s = g_string_new(NOP " LABEL");
                        g_autofree char *created_by = NULL;
                        b->labels_done = true;
                        for (char **l = b->opt.labels; l[0] && l[1]; l += 2) {
                                (void) add_key(&b->config->labels, l[0], l[1]);
                                g_string_append_printf(s, " %s=%s", l[0], l[1]);
                        }
                        created_by = g_string_free(s, false);
                        b->step++;
                        build_send_step_started(b, b->step, b->n_steps, created_by + strlen(NOP " "));
                        return build_config_step(b, created_by);
                }
                build_stage_done(b);
        }
}

/* Which stages the target needs: itself, its FROM's stage and its COPY --from stages, recursively. */
static int build_plan(Build *b, BerthError *e)
{
        Dockerfile *d = b->dockerfile;
        const DockerfileStage *target = &d->stages[d->n_stages - 1];

        if (b->opt.target) {
                target = dockerfile_find_stage(d, b->opt.target, d->n_stages);
                if (!target || !target->name || strcasecmp(target->name, b->opt.target) != 0)
                        return berth_error_set(e, -ENOENT, "failed to reach build target %s in Dockerfile",
                                               b->opt.target);
        }
        b->target = target->index;
        b->needed = g_new0(bool, d->n_stages);
        b->stage_images = g_new0(char *, d->n_stages + 1);
        b->needed[b->target] = true;
        for (size_t s = b->target + 1; s-- > 0;) {
                const DockerfileStage *st = &d->stages[s];
                const DockerfileStage *dep;

                if (!b->needed[s])
                        continue;
                b->n_steps += 1 + st->n_instructions;
                dep = dockerfile_find_stage(d, st->base, s);
                if (dep && dep->name && strcasecmp(dep->name, st->base) == 0)
                        b->needed[dep->index] = true;
                for (size_t k = 0; k < st->n_instructions; k++) {
                        const DockerfileFlag *from =
                                dockerfile_instruction_flag(&st->instructions[k], "from");
                        if (!from || !from->value)
                                continue;
                        dep = dockerfile_find_stage(d, from->value, s);
                        if (dep)
                                b->needed[dep->index] = true;
                        else if (dockerfile_find_stage(d, from->value, d->n_stages))
                                return berth_error_set(e, -EINVAL,
                                                       "Dockerfile:%u: COPY --from=%s names a later stage",
                                                       st->instructions[k].line, from->value);
                }
        }
        if (b->opt.labels)
                b->n_steps++;

        /* Global ARGs: their defaults, or the build args. */
        for (size_t k = 0; k < d->n_global_args; k++) {
                const DockerfileInstruction *a = &d->instructions[k];
                for (size_t w = 0; w < a->n_args; w++) {
                        g_autofree char *name = NULL, *def = NULL, *value = NULL;
                        if (dockerfile_arg_split(a->args[w], &name, &def) < 0)
                                return berth_error_set(e, -EINVAL, "Dockerfile:%u: bad ARG", a->line);
                        if (def && shell_word_expand(def, d->escape, shell_lookup_envp, b->global_args,
                                                     &value, e) < 0)
                                return -EINVAL;
                        const char *v = build_arg_value(b, name) ?: value;
                        if (v)
                                (void) shell_env_set(&b->global_args, name, v);
                }
        }
        return 0;
}

/* openat2 RESOLVE_IN_ROOT: a Dockerfile path with symlinks or ".." stays in the context. */
static int read_dockerfile(Build *b, char **ret, size_t *ret_size)
{
        _cleanup_close_ int root = -EBADF, fd = -EBADF;
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };

        root = open(b->context_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        fd = openat2_retry(root, b->opt.dockerfile, &how);
        if (fd < 0)
                return fd;
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        return read_file_at(AT_FDCWD, proc, DOCKERFILE_SIZE_MAX, ret, ret_size);
}

static void build_prepare(Build *b)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        g_autofree char *text = NULL;
        size_t size;
        int r;

        r = read_dockerfile(b, &text, &size);
        if (r < 0)
                return build_fail(b, r, "Cannot read the Dockerfile '%s' in the context: %s",
                                  b->opt.dockerfile, strerror(-r));
        r = dockerfile_parse(text, size, &b->dockerfile, &e);
        if (r < 0)
                return build_fail(b, r, "%s", berth_error_message(&e));
        for (char **w = b->dockerfile->warnings; w && *w; w++)
                build_output(b, *w);
        r = build_plan(b, &e);
        if (r < 0)
                return build_fail(b, r, "%s", berth_error_message(&e));
        b->status = BUILD_BUILDING;
        build_send_changed(b);
        build_advance(b);
}

/* ---- the context ------------------------------------------------------------------------------------ */

_Noreturn static void unpack_child(const char *dir, int tar_fd, int report_fd)
{
        _cleanup_berth_error_ BerthError e = BERTH_ERROR_INIT;
        char line[REPORT_MAX];
        int r;

        reset_signals();
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        r = extract_confine_memory();
        if (r >= 0 && (chroot(dir) < 0 || chdir("/") < 0))
                r = berth_error_set(&e, negative_errno(), "Cannot enter the context directory");
        if (r >= 0) {
                r = extract_confine();
                if (r < 0)
                        (void) berth_error_set(&e, r, "Cannot confine the unpacking");
        }
        if (r >= 0)
                r = tree_archive_extract("/", tar_fd, NULL, true, &e);
        if (r < 0)
                snprintf(line, sizeof(line), "E%d The build context is not a readable tar: %s", -r,
                         berth_error_message(&e));
        else
                snprintf(line, sizeof(line), "OK");
        (void) write(report_fd, line, strlen(line));
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

static int on_unpack_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        Build *b = userdata;
        char line[REPORT_MAX];
        ssize_t n;
        int err;

        b->child = 0;
        b->child_source = sd_event_source_disable_unref(b->child_source);
        n = read(b->child_report_fd, line, sizeof(line) - 1);
        b->child_report_fd = safe_close(b->child_report_fd);
        line[MAX(n, 0)] = 0;
        if (b->status == BUILD_CANCELLED)
                return build_fail(b, -ECANCELED, "The build was cancelled."), 0;
        if (n <= 0 || !startswith(line, "OK")) {
                const char *msg = strchr(line, ' ');
                if (n <= 0 || sscanf(line, "E%d", &err) != 1 || err <= 0)
                        err = EIO;
                build_fail(b, -err, "%s", msg ? msg + 1 : "The build context could not be unpacked");
                return 0;
        }
        build_prepare(b);
        return 0;
}

int build_start(Build *b)
{
        Manager *m = b->manager;
        _cleanup_close_pair_ int report[2] = { -EBADF, -EBADF };
        g_autofree char *parent = g_strdup_printf("%s/build", m->state_dir);
        pid_t pid;
        int r;

        b->dir = g_strdup_printf("%s/.tmp-%" PRIu32 "-%d", parent, b->id, (int) getpid());
        b->context_dir = g_strdup_printf("%s/context", b->dir);
        r = mkdir_p_at(AT_FDCWD, b->context_dir, 0700);
        if (r < 0)
                return r;
        if (chmod(parent, 0700) < 0)
                return -errno;
        if (pipe2(report, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                unpack_child(b->context_dir, b->context_fd, report[1]);
        b->child = pid;
        b->context_fd = safe_close(b->context_fd);
        b->child_report_fd = TAKE_FD(report[0]);
        return sd_event_add_child(m->event, &b->child_source, pid, WEXITED, on_unpack_exit, b);
}
