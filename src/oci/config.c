/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <time.h>

#include "oci/config.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/sha256.h"
#include "shared/json-build.h"
#include "shared/json-read.h"
#include "shared/log.h"

OciImageConfig *oci_image_config_free(OciImageConfig *c)
{
        if (!c)
                return NULL;

        free(c->architecture);
        free(c->os);
        free(c->variant);
        free(c->os_version);
        free(c->author);
        free(c->user);
        oci_strv_free(c->env);
        oci_strv_free(c->entrypoint);
        oci_strv_free(c->cmd);
        free(c->working_dir);
        oci_strv_free(c->labels);
        free(c->stop_signal);
        oci_strv_free(c->exposed_ports);
        oci_strv_free(c->volumes);
        oci_strv_free(c->onbuild);
        oci_strv_free(c->shell);
        oci_strv_free(c->healthcheck_test);
        oci_strv_free(c->diff_ids);
        for (size_t i = 0; i < c->n_history; i++) {
                free(c->history[i].created_by);
                free(c->history[i].author);
                free(c->history[i].comment);
        }
        free(c->history);
        return mfree(c);
}

int oci_timestamp_parse(const char *s, uint64_t *ret)
{
        g_autoptr(GDateTime) dt = NULL;
        gint64 t;

        if (isempty(s))
                return -EINVAL;

        dt = g_date_time_new_from_iso8601(s, NULL);
        if (!dt)
                return -EINVAL;

        t = g_date_time_to_unix(dt);
        if (t < 0) {
                *ret = 0;
                return 0;
        }
        *ret = (uint64_t) t * USEC_PER_SEC + (uint64_t) g_date_time_get_microsecond(dt);
        return 0;
}

int oci_timestamp_format(uint64_t usec, char **ret)
{
        time_t t = (time_t) (usec / USEC_PER_SEC);
        unsigned fraction = (unsigned) (usec % USEC_PER_SEC);
        char date[64], *s;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return -EINVAL;

        if (fraction > 0) {
                if (asprintf(&s, "%s.%06uZ", date, fraction) < 0)
                        return -ENOMEM;
        } else if (asprintf(&s, "%sZ", date) < 0)
                return -ENOMEM;

        *ret = s;
        return 0;
}

static int dup_string(JsonObject *o, const char *key, const char *what, char **ret, BerthError *err)
{
        const char *s;

        if (json_read_string(o, key, &s) < 0)
                return berth_error_set(err, -EINVAL, "The image config's %s%s is not a string.", what, key);
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int get_strv(JsonObject *o, const char *key, const char *what, char ***ret, BerthError *err)
{
        int r = json_read_strv(o, key, ret);

        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return berth_error_set(err, -EINVAL, "The image config's %s%s is not a list of strings.",
                                       what, key);
        return 0;
}

static int get_timestamp(JsonObject *o, const char *what, uint64_t *ret, BerthError *err)
{
        const char *s;

        if (json_read_string(o, "created", &s) < 0)
                return berth_error_set(err, -EINVAL, "The image config's %screated is not a string.", what);
        if (s && oci_timestamp_parse(s, ret) < 0) {
                /* Only shown to users; a strange date is no reason to refuse an image. */
                log_debug("Ignoring unparsable timestamp '%s' in %screated.", s, what);
                *ret = 0;
        }
        return 0;
}

/* {"80/tcp": {}, …} → keys; {"k": "v", …} → key, value, …  when with_values. */
static int get_keys(JsonObject *o, const char *key, bool with_values, char ***ret, BerthError *err)
{
        JsonObject *m;
        GList *members;
        char **l;
        size_t n = 0;

        if (json_read_object(o, key, &m) < 0)
                return berth_error_set(err, -EINVAL, "The image config's config.%s is not an object.", key);
        if (!m) {
                *ret = NULL;
                return 0;
        }

        members = json_object_get_members(m);
        l = calloc(g_list_length(members) * (with_values ? 2 : 1) + 1, sizeof(char *));
        if (!l) {
                g_list_free(members);
                return -ENOMEM;
        }

        for (GList *i = members; i; i = i->next) {
                const char *name = i->data, *value = NULL;

                if (with_values && (json_read_string(m, name, &value) < 0 || !value)) {
                        g_list_free(members);
                        oci_strv_free(l);
                        return berth_error_set(
                                err, -EINVAL, "The image config's config.%s.%s is not a string.", key, name);
                }
                l[n++] = strdup(name);
                if (with_values)
                        l[n++] = strdup(value);
                if (!l[n - 1] || (with_values && !l[n - 2])) {
                        g_list_free(members);
                        oci_strv_free(l);
                        return -ENOMEM;
                }
        }

        g_list_free(members);
        *ret = l;
        return 0;
}

static int parse_container_config(JsonObject *o, OciImageConfig *c, BerthError *err)
{
        int r;

        if ((r = dup_string(o, "User", "config.", &c->user, err)) < 0 ||
            (r = dup_string(o, "WorkingDir", "config.", &c->working_dir, err)) < 0 ||
            (r = dup_string(o, "StopSignal", "config.", &c->stop_signal, err)) < 0 ||
            (r = get_strv(o, "Env", "config.", &c->env, err)) < 0 ||
            (r = get_strv(o, "Entrypoint", "config.", &c->entrypoint, err)) < 0 ||
            (r = get_strv(o, "Cmd", "config.", &c->cmd, err)) < 0 ||
            (r = get_keys(o, "Labels", true, &c->labels, err)) < 0 ||
            (r = get_keys(o, "ExposedPorts", false, &c->exposed_ports, err)) < 0 ||
            (r = get_keys(o, "Volumes", false, &c->volumes, err)) < 0 ||
            (r = get_strv(o, "OnBuild", "config.", &c->onbuild, err)) < 0 ||
            (r = get_strv(o, "Shell", "config.", &c->shell, err)) < 0)
                return r;
        JsonNode *hc = json_object_get_member(o, "Healthcheck");
        if (hc && JSON_NODE_HOLDS_OBJECT(hc)) {
                JsonObject *h = json_node_get_object(hc);
                r = get_strv(h, "Test", "config.Healthcheck.", &c->healthcheck_test, err);
                if (r < 0)
                        return r;
                c->healthcheck_interval = json_object_get_int_member_with_default(h, "Interval", 0);
                c->healthcheck_timeout = json_object_get_int_member_with_default(h, "Timeout", 0);
                c->healthcheck_start_period = json_object_get_int_member_with_default(h, "StartPeriod", 0);
                c->healthcheck_retries = json_object_get_int_member_with_default(h, "Retries", 0);
        }
        return 0;
}

static int parse_history(JsonObject *o, OciImageConfig *c, BerthError *err)
{
        JsonNode *n = json_object_get_member(o, "history");
        JsonArray *a;
        guint len;
        int r;

        if (!n || JSON_NODE_HOLDS_NULL(n))
                return 0;
        if (!JSON_NODE_HOLDS_ARRAY(n))
                return berth_error_set(err, -EINVAL, "The image config's history is not a list.");

        a = json_node_get_array(n);
        len = json_array_get_length(a);
        c->history = calloc(MAX(len, 1U), sizeof(OciHistoryEntry));
        if (!c->history)
                return -ENOMEM;

        for (guint i = 0; i < len; i++) {
                JsonNode *e = json_array_get_element(a, i);
                OciHistoryEntry *h = c->history + i;
                JsonObject *eo;

                if (!JSON_NODE_HOLDS_OBJECT(e))
                        return berth_error_set(err, -EINVAL,
                                               "The image config's history entry %u is not an object.",
                                               i + 1);
                eo = json_node_get_object(e);
                c->n_history++;

                if ((r = get_timestamp(eo, "history.", &h->created_usec, err)) < 0 ||
                    (r = dup_string(eo, "created_by", "history.", &h->created_by, err)) < 0 ||
                    (r = dup_string(eo, "author", "history.", &h->author, err)) < 0 ||
                    (r = dup_string(eo, "comment", "history.", &h->comment, err)) < 0)
                        return r;
                if (json_read_bool(eo, "empty_layer", &h->empty_layer) < 0)
                        return berth_error_set(err, -EINVAL,
                                               "The image config's history.empty_layer is not a boolean.");
        }
        return 0;
}

int oci_image_config_parse(const void *data, size_t size, BerthError *err, OciImageConfig **ret)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL;
        g_autoptr(JsonNode) root = NULL;
        JsonObject *o, *config, *rootfs;
        const char *type;
        int r;

        r = oci_json_parse_object(data, size, OCI_CONFIG_SIZE_MAX, err, &root);
        if (r < 0)
                return r;
        o = json_node_get_object(root);

        c = calloc(1, sizeof(OciImageConfig));
        if (!c)
                return -ENOMEM;

        if ((r = dup_string(o, "architecture", "", &c->architecture, err)) < 0 ||
            (r = dup_string(o, "os", "", &c->os, err)) < 0 ||
            (r = dup_string(o, "variant", "", &c->variant, err)) < 0 ||
            (r = dup_string(o, "os.version", "", &c->os_version, err)) < 0 ||
            (r = dup_string(o, "author", "", &c->author, err)) < 0 ||
            (r = get_timestamp(o, "", &c->created_usec, err)) < 0)
                return r;

        if (json_read_object(o, "config", &config) < 0)
                return berth_error_set(err, -EINVAL, "The image config's config is not an object.");
        if (config) {
                r = parse_container_config(config, c, err);
                if (r < 0)
                        return r;
        }

        if (json_read_object(o, "rootfs", &rootfs) < 0 || !rootfs)
                return berth_error_set(err, -EINVAL, "The image config has no rootfs object.");
        if (json_read_string(rootfs, "type", &type) < 0 || !type || !streq(type, "layers"))
                return berth_error_set(err, -EINVAL, "The image config's rootfs.type is not \"layers\".");
        r = get_strv(rootfs, "diff_ids", "rootfs.", &c->diff_ids, err);
        if (r < 0)
                return r;
        if (!c->diff_ids)
                return berth_error_set(err, -EINVAL, "The image config has no rootfs.diff_ids.");
        STRV_FOREACH (d, c->diff_ids)
                if (!digest_is_valid(*d))
                        return berth_error_set(
                                err, digest_parse(*d, NULL, NULL) >= 0 ? -EOPNOTSUPP : -EINVAL,
                                "The image config's diff_id '%s' is not a sha256 digest.", *d);
        if (oci_image_config_n_diff_ids(c) > OCI_MANIFEST_LAYERS_MAX)
                return berth_error_set(err, -EINVAL, "The image config lists more than %u layers.",
                                       OCI_MANIFEST_LAYERS_MAX);

        r = parse_history(o, c, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

size_t oci_image_config_n_diff_ids(const OciImageConfig *c)
{
        size_t n = 0;

        if (c)
                STRV_FOREACH (d, c->diff_ids)
                        n++;
        return n;
}

const char *oci_image_config_get_label(const OciImageConfig *c, const char *key)
{
        if (!c || !c->labels || !key)
                return NULL;
        for (char **l = c->labels; l[0] && l[1]; l += 2)
                if (streq(l[0], key))
                        return l[1];
        return NULL;
}

static void add_string(JsonBuilder *b, const char *key, const char *value)
{
        if (!value)
                return;
        json_builder_set_member_name(b, key);
        json_builder_add_string_value(b, value);
}

static void add_strv(JsonBuilder *b, const char *key, char **l)
{
        if (!l)
                return;
        json_builder_set_member_name(b, key);
        json_builder_begin_array(b);
        STRV_FOREACH (s, l)
                json_builder_add_string_value(b, *s);
        json_builder_end_array(b);
}

static void add_keys(JsonBuilder *b, const char *key, char **l, bool with_values)
{
        if (!l)
                return;
        json_builder_set_member_name(b, key);
        json_builder_begin_object(b);
        for (char **i = l; i[0] && (!with_values || i[1]); i += with_values ? 2 : 1) {
                json_builder_set_member_name(b, i[0]);
                if (with_values)
                        json_builder_add_string_value(b, i[1]);
                else {
                        json_builder_begin_object(b);
                        json_builder_end_object(b);
                }
        }
        json_builder_end_object(b);
}

static int add_timestamp(JsonBuilder *b, uint64_t usec)
{
        _cleanup_free_ char *s = NULL;
        int r;

        if (usec == 0)
                return 0;
        r = oci_timestamp_format(usec, &s);
        if (r < 0)
                return r;
        add_string(b, "created", s);
        return 0;
}

int oci_image_config_to_json(const OciImageConfig *c, char **ret_json, size_t *ret_size)
{
        g_autoptr(JsonBuilder) b = json_builder_new_immutable();
        g_autoptr(JsonGenerator) g = json_generator_new();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *text = NULL;
        gsize length = 0;
        char *copy;
        int r;

        if (!c)
                return -EINVAL;

        json_builder_begin_object(b);
        r = add_timestamp(b, c->created_usec);
        if (r < 0)
                return r;
        add_string(b, "author", c->author);
        add_string(b, "architecture", c->architecture);
        add_string(b, "variant", c->variant);
        add_string(b, "os", c->os);
        add_string(b, "os.version", c->os_version);

        json_builder_set_member_name(b, "config");
        json_builder_begin_object(b);
        add_string(b, "User", c->user);
        add_keys(b, "ExposedPorts", c->exposed_ports, false);
        add_strv(b, "Env", c->env);
        add_strv(b, "Entrypoint", c->entrypoint);
        add_strv(b, "Cmd", c->cmd);
        add_keys(b, "Volumes", c->volumes, false);
        add_string(b, "WorkingDir", c->working_dir);
        add_keys(b, "Labels", c->labels, true);
        add_string(b, "StopSignal", c->stop_signal);
        add_strv(b, "OnBuild", c->onbuild);
        add_strv(b, "Shell", c->shell);
        if (c->healthcheck_test) {
                json_builder_set_member_name(b, "Healthcheck");
                json_builder_begin_object(b);
                add_strv(b, "Test", c->healthcheck_test);
                const struct {
                        const char *key;
                        int64_t v;
                } hv[] = { { "Interval", c->healthcheck_interval },
                           { "Timeout", c->healthcheck_timeout },
                           { "StartPeriod", c->healthcheck_start_period },
                           { "Retries", c->healthcheck_retries } };
                for (size_t i = 0; i < G_N_ELEMENTS(hv); i++)
                        if (hv[i].v != 0) {
                                json_builder_set_member_name(b, hv[i].key);
                                json_builder_add_int_value(b, hv[i].v);
                        }
                json_builder_end_object(b);
        }
        json_builder_end_object(b);

        json_builder_set_member_name(b, "rootfs");
        json_builder_begin_object(b);
        add_string(b, "type", "layers");
        json_builder_set_member_name(b, "diff_ids");
        json_builder_begin_array(b);
        STRV_FOREACH (d, c->diff_ids)
                json_builder_add_string_value(b, *d);
        json_builder_end_array(b);
        json_builder_end_object(b);

        if (c->n_history > 0) {
                json_builder_set_member_name(b, "history");
                json_builder_begin_array(b);
                for (size_t i = 0; i < c->n_history; i++) {
                        const OciHistoryEntry *h = c->history + i;

                        json_builder_begin_object(b);
                        r = add_timestamp(b, h->created_usec);
                        if (r < 0)
                                return r;
                        add_string(b, "created_by", h->created_by);
                        add_string(b, "author", h->author);
                        add_string(b, "comment", h->comment);
                        if (h->empty_layer) {
                                json_build_bool(b, "empty_layer", true);
                        }
                        json_builder_end_object(b);
                }
                json_builder_end_array(b);
        }
        json_builder_end_object(b);

        root = json_builder_get_root(b);
        json_generator_set_root(g, root);
        text = json_generator_to_data(g, &length);
        if (!text)
                return -ENOMEM;

        copy = strndup(text, length);
        if (!copy)
                return -ENOMEM;

        *ret_json = copy;
        if (ret_size)
                *ret_size = length;
        return 0;
}

int oci_chain_ids(char *const *diff_ids, char ***ret)
{
        size_t n = 0;
        char **l;

        for (char *const *d = diff_ids; d && *d; d++) {
                if (!digest_is_valid(*d))
                        return -EINVAL;
                n++;
        }

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *joined = NULL;
                int r;

                if (i == 0) {
                        l[0] = strdup(diff_ids[0]);
                        if (!l[0]) {
                                oci_strv_free(l);
                                return -ENOMEM;
                        }
                        continue;
                }

                if (asprintf(&joined, "%s %s", l[i - 1], diff_ids[i]) < 0) {
                        joined = NULL;
                        oci_strv_free(l);
                        return -ENOMEM;
                }
                r = sha256_digest_data(joined, strlen(joined), &l[i]);
                if (r < 0) {
                        oci_strv_free(l);
                        return r;
                }
        }

        *ret = l;
        return 0;
}
