/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>

#include "oci/registry-json.h"
#include "shared/json-read.h"
#include "shared/log.h"

static int parse_root(const void *data, size_t size, JsonParser **ret_parser, JsonNode **ret_root)
{
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(GError) error = NULL;
        JsonNode *root;

        if (!data && size > 0)
                return -EINVAL;
        if (size > REGISTRY_JSON_MAX)
                return -EFBIG;

        parser = json_parser_new_immutable();
        if (!json_parser_load_from_data(parser, data ?: "", (gssize) size, &error)) {
                log_debug("Failed to parse registry JSON: %s", error->message);
                return -EBADMSG;
        }

        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root))
                return -EBADMSG;

        *ret_root = root;
        *ret_parser = TAKE_PTR(parser);
        return 0;
}

static int strdup_or_null(const char *s, char **ret)
{
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

void registry_token_response_done(RegistryTokenResponse *t)
{
        if (!t)
                return;
        if (t->token) {
                explicit_bzero(t->token, strlen(t->token));
                free(t->token);
        }
        free(t->issued_at);
        *t = (RegistryTokenResponse){};
}

int registry_json_parse_token(const void *data, size_t size, RegistryTokenResponse *ret)
{
        g_autoptr(JsonParser) parser = NULL;
        RegistryTokenResponse t = {};
        const char *token, *access_token, *issued_at;
        int64_t expires_in = 0;
        JsonNode *root;
        JsonObject *o;
        int r;

        if (!ret)
                return -EINVAL;

        r = parse_root(data, size, &parser, &root);
        if (r < 0)
                return r;
        o = json_node_get_object(root);

        if (json_read_string(o, "token", &token) < 0 ||
            json_read_string(o, "access_token", &access_token) < 0 ||
            json_read_string(o, "issued_at", &issued_at) < 0)
                return -EBADMSG;
        if (isempty(token))
                token = access_token;
        if (isempty(token))
                return -EBADMSG;

        if (json_read_int64(o, "expires_in", NULL, &expires_in) < 0)
                return -EBADMSG;
        t.expires_in = expires_in > 0 ? (uint64_t) expires_in : 0;

        t.token = strdup(token);
        if (!t.token)
                return -ENOMEM;
        r = strdup_or_null(issued_at, &t.issued_at);
        if (r < 0) {
                registry_token_response_done(&t);
                return r;
        }

        *ret = t;
        return 0;
}

int registry_json_parse_error(const void *data, size_t size, char **ret_code, char **ret_message)
{
        g_autoptr(JsonParser) parser = NULL;
        _cleanup_free_ char *code = NULL, *message = NULL;
        const char *c, *m;
        JsonNode *root, *n;
        JsonArray *a;
        JsonObject *e;
        int r;

        r = parse_root(data, size, &parser, &root);
        if (r < 0)
                return r;

        n = json_object_get_member(json_node_get_object(root), "errors");
        if (!n || !JSON_NODE_HOLDS_ARRAY(n))
                return -ENOMSG;
        a = json_node_get_array(n);
        if (json_array_get_length(a) == 0)
                return -ENOMSG;
        n = json_array_get_element(a, 0);
        if (!JSON_NODE_HOLDS_OBJECT(n))
                return -EBADMSG;
        e = json_node_get_object(n);

        if (json_read_string(e, "code", &c) < 0 || json_read_string(e, "message", &m) < 0)
                return -EBADMSG;
        r = strdup_or_null(c, &code);
        if (r < 0)
                return r;
        r = strdup_or_null(m, &message);
        if (r < 0)
                return r;

        if (ret_code)
                *ret_code = TAKE_PTR(code);
        if (ret_message)
                *ret_message = TAKE_PTR(message);
        return 0;
}

int registry_json_parse_catalog(const void *data, size_t size, char ***ret_repositories)
{
        g_autoptr(JsonParser) parser = NULL;
        JsonNode *root;
        int r;

        if (!ret_repositories)
                return -EINVAL;

        r = parse_root(data, size, &parser, &root);
        if (r < 0)
                return r;

        /* The caller's g_strfreev() frees these: GLib's allocator is malloc() since 2.46. */
        return json_read_strv_or_empty(json_node_get_object(root), "repositories", ret_repositories);
}

void registry_search_results_free(RegistrySearchResult *r, size_t n)
{
        if (!r)
                return;
        for (size_t i = 0; i < n; i++) {
                free(r[i].name);
                free(r[i].description);
        }
        free(r);
}

int registry_json_parse_search(const void *data, size_t size, RegistrySearchResult **ret, size_t *ret_n)
{
        g_autoptr(JsonParser) parser = NULL;
        RegistrySearchResult *results = NULL;
        size_t n_results = 0;
        JsonNode *root, *n;
        JsonArray *a;
        guint len;
        int r;

        if (!ret || !ret_n)
                return -EINVAL;

        r = parse_root(data, size, &parser, &root);
        if (r < 0)
                return r;

        n = json_object_get_member(json_node_get_object(root), "results");
        if (!n || !JSON_NODE_HOLDS_ARRAY(n))
                return -EBADMSG;
        a = json_node_get_array(n);
        len = json_array_get_length(a);

        results = calloc(len + 1, sizeof(*results));
        if (!results)
                return -ENOMEM;

        for (guint i = 0; i < len; i++) {
                JsonNode *e = json_array_get_element(a, i), *m;
                RegistrySearchResult *res = results + n_results;
                const char *name, *description;
                JsonObject *o;

                if (!JSON_NODE_HOLDS_OBJECT(e))
                        continue;
                o = json_node_get_object(e);
                if (json_read_string(o, "name", &name) < 0 || isempty(name) ||
                    json_read_string(o, "description", &description) < 0)
                        continue;

                res->name = strdup(name);
                res->description = strdup(strempty(description));
                if (!res->name || !res->description) {
                        registry_search_results_free(results, n_results + 1);
                        return -ENOMEM;
                }
                m = json_object_get_member(o, "star_count");
                if (m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_INT64 &&
                    json_node_get_int(m) > 0)
                        res->stars = (uint64_t) json_node_get_int(m);
                m = json_object_get_member(o, "is_official");
                if (m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_BOOLEAN)
                        res->official = json_node_get_boolean(m);
                n_results++;
        }

        *ret = results;
        *ret_n = n_results;
        return 0;
}

void registry_json_auths_free(RegistryJsonAuth *a, size_t n)
{
        if (!a)
                return;
        for (size_t i = 0; i < n; i++) {
                free(a[i].server);
                free(a[i].username);
                if (a[i].password) {
                        explicit_bzero(a[i].password, strlen(a[i].password));
                        free(a[i].password);
                }
        }
        free(a);
}

static int decode_auth(const char *b64, char **ret_user, char **ret_password)
{
        g_autofree guchar *raw = NULL;
        _cleanup_free_ char *s = NULL;
        gsize n = 0;
        char *colon;

        raw = g_base64_decode(b64, &n);
        if (!raw || n == 0)
                return -EBADMSG;
        if (memchr(raw, 0, n))
                return -EBADMSG;

        s = strndup((const char *) raw, n);
        explicit_bzero(raw, n);
        if (!s)
                return -ENOMEM;

        colon = strchr(s, ':');
        if (!colon || colon == s) {
                explicit_bzero(s, n);
                return -EBADMSG;
        }
        *colon = 0;

        *ret_user = strdup(s);
        *ret_password = strdup(colon + 1);
        explicit_bzero(s, n);
        if (!*ret_user || !*ret_password) {
                free(*ret_user);
                free(*ret_password);
                return -ENOMEM;
        }
        return 0;
}

int registry_json_parse_auths(const void *data, size_t size, RegistryJsonAuth **ret, size_t *ret_n)
{
        g_autoptr(JsonParser) parser = NULL;
        RegistryJsonAuth *auths = NULL;
        size_t n_auths = 0;
        JsonNode *root, *n;
        JsonObject *o;
        GList *members;
        int r;

        if (!ret || !ret_n)
                return -EINVAL;

        r = parse_root(data, size, &parser, &root);
        if (r < 0)
                return r;

        n = json_object_get_member(json_node_get_object(root), "auths");
        if (!n || JSON_NODE_HOLDS_NULL(n)) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (!JSON_NODE_HOLDS_OBJECT(n))
                return -EBADMSG;
        o = json_node_get_object(n);

        members = json_object_get_members(o);
        auths = calloc(g_list_length(members) + 1, sizeof(*auths));
        if (!auths) {
                g_list_free(members);
                return -ENOMEM;
        }

        r = 0;
        for (GList *i = members; i; i = i->next) {
                const char *server = i->data, *auth, *user, *password;
                RegistryJsonAuth *a = auths + n_auths;
                JsonNode *e = json_object_get_member(o, server);
                JsonObject *eo;

                if (!e || !JSON_NODE_HOLDS_OBJECT(e))
                        continue;
                eo = json_node_get_object(e);
                if (json_read_string(eo, "auth", &auth) < 0 || json_read_string(eo, "username", &user) < 0 ||
                    json_read_string(eo, "password", &password) < 0)
                        continue;

                if (!isempty(auth)) {
                        r = decode_auth(auth, &a->username, &a->password);
                        if (r == -ENOMEM)
                                break;
                        if (r < 0) {
                                log_debug("Ignoring undecodable credentials for '%s'.", server);
                                r = 0;
                                continue;
                        }
                } else if (!isempty(user) && password) {
                        a->username = strdup(user);
                        a->password = strdup(password);
                        if (!a->username || !a->password) {
                                r = -ENOMEM;
                                n_auths++;
                                break;
                        }
                } else
                        continue;

                n_auths++;
                a->server = strdup(server);
                if (!a->server) {
                        r = -ENOMEM;
                        break;
                }
        }
        g_list_free(members);

        if (r < 0) {
                registry_json_auths_free(auths, n_auths);
                return r;
        }

        *ret = auths;
        *ret_n = n_auths;
        return 0;
}

int registry_json_auths_set(const void *data, size_t size, const char *server, const char *username,
                            const char *password, char **ret, size_t *ret_size)
{
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(JsonGenerator) gen = NULL;
        g_autoptr(JsonNode) fresh = NULL;
        JsonObject *root_o, *auths;
        JsonNode *root, *n;
        bool had;
        gsize len;
        int r;

        if (isempty(server) || !ret || !ret_size || (username && (strchr(username, ':') || !password)))
                return -EINVAL;

        if (size > 0) {
                r = parse_root(data, size, &parser, &root);
                if (r < 0)
                        return r;
                /* parse_root's parser is immutable: edit a copy. */
                fresh = json_node_copy(root);
        } else {
                fresh = json_node_new(JSON_NODE_OBJECT);
                json_node_take_object(fresh, json_object_new());
        }
        root_o = json_node_get_object(fresh);

        n = json_object_get_member(root_o, "auths");
        if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
                json_object_set_object_member(root_o, "auths", json_object_new());
                n = json_object_get_member(root_o, "auths");
        }
        auths = json_node_get_object(n);
        had = json_object_has_member(auths, server);

        if (username) {
                g_autofree char *plain = g_strconcat(username, ":", password, NULL);
                g_autofree char *encoded = g_base64_encode((const guchar *) plain, strlen(plain));
                JsonObject *entry = json_object_new();

                json_object_set_string_member(entry, "auth", encoded);
                json_object_set_object_member(auths, server, entry);
                explicit_bzero(plain, strlen(plain));
                explicit_bzero(encoded, strlen(encoded));
        } else if (had)
                json_object_remove_member(auths, server);

        gen = json_generator_new();
        json_generator_set_pretty(gen, true);
        json_generator_set_root(gen, fresh);
        *ret = json_generator_to_data(gen, &len);
        *ret_size = len;
        return had ? 1 : 0;
}
