/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "oci/config-change.h"
#include "oci/manifest.h"
#include "shared/macro.h"

#define INVALID(reason) berth_error_set(err, -EINVAL, "%s", (reason))

/* Splits on blanks; double quotes group (and are removed), a backslash escapes the next character. */
static char **split_words(const char *s)
{
        GPtrArray *words = g_ptr_array_new();
        GString *w = NULL;
        bool quoted = false;

        for (const char *p = s;; p++) {
                if (!*p || (!quoted && g_ascii_isspace(*p))) {
                        if (w)
                                g_ptr_array_add(words, g_string_free(g_steal_pointer(&w), false));
                        if (!*p)
                                break;
                        continue;
                }
                if (!w)
                        w = g_string_new(NULL);
                if (*p == '"')
                        quoted = !quoted;
                else if (*p == '\\' && p[1])
                        g_string_append_c(w, *++p);
                else
                        g_string_append_c(w, *p);
        }
        g_ptr_array_add(words, NULL);
        return (char **) g_ptr_array_free(words, false);
}

/* ["a","b"] → strv; NULL when the text is not a JSON array of strings (then it is the shell form). */
static char **parse_json_array(const char *s)
{
        g_autoptr(JsonParser) parser = json_parser_new();
        JsonNode *root;
        JsonArray *a;
        GPtrArray *v;

        if (!json_parser_load_from_data(parser, s, -1, NULL))
                return NULL;
        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_ARRAY(root))
                return NULL;
        a = json_node_get_array(root);
        for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *n = json_array_get_element(a, i);
                if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
                        return NULL;
        }
        v = g_ptr_array_new();
        for (guint i = 0; i < json_array_get_length(a); i++)
                g_ptr_array_add(v, g_strdup(json_array_get_string_element(a, i)));
        g_ptr_array_add(v, NULL);
        return (char **) g_ptr_array_free(v, false);
}

static char **command_form(const char *arg)
{
        char **v = parse_json_array(arg);
        if (v)
                return v;
        v = g_new0(char *, 4);
        v[0] = g_strdup("/bin/sh");
        v[1] = g_strdup("-c");
        v[2] = g_strdup(arg);
        return v;
}

/* Sets key to value in a "K=V" list (env) or a key, value, … list (labels). */
static void strv_set_env(char ***l, const char *key, const char *value)
{
        size_t n = strlen(key), len = *l ? g_strv_length(*l) : 0;
        char *entry = g_strdup_printf("%s=%s", key, value);

        for (size_t i = 0; i < len; i++)
                if (strneq((*l)[i], key, n) && (*l)[i][n] == '=') {
                        free((*l)[i]);
                        (*l)[i] = entry;
                        return;
                }
        *l = g_renew(char *, *l, len + 2);
        (*l)[len] = entry;
        (*l)[len + 1] = NULL;
}

static void strv_set_label(char ***l, const char *key, const char *value)
{
        size_t len = *l ? g_strv_length(*l) : 0;

        for (size_t i = 0; i + 1 < len; i += 2)
                if (streq((*l)[i], key)) {
                        free((*l)[i + 1]);
                        (*l)[i + 1] = g_strdup(value);
                        return;
                }
        *l = g_renew(char *, *l, len + 3);
        (*l)[len] = g_strdup(key);
        (*l)[len + 1] = g_strdup(value);
        (*l)[len + 2] = NULL;
}

static bool signal_is_valid(const char *s)
{
        char *end;
        long n = strtol(s, &end, 10);

        if (*s && *end == '\0')
                return n > 0 && n < _NSIG;
        s = startswith(s, "SIG") ?: s;
        for (int sig = 1; sig < SIGRTMIN; sig++)
                if (sigabbrev_np(sig) && strcasecmp(sigabbrev_np(sig), s) == 0)
                        return true;
        return false;
}

static void set_string(char **p, const char *v)
{
        free(*p);
        *p = g_strdup(v);
}

static void set_strv(char ***p, char **v)
{
        oci_strv_free(*p);
        *p = v;
}

int oci_image_config_apply_change(OciImageConfig *c, const char *change, OciConfigChangeState *state,
                                  BerthError *err)
{
        g_auto(GStrv) words = NULL;
        g_autofree char *keyword = NULL;
        const char *arg;
        size_t klen;

        if (!c || !change || !state)
                return -EINVAL;
        change += strspn(change, " \t");
        klen = strcspn(change, " \t");
        if (klen == 0)
                return INVALID("empty change");
        keyword = g_ascii_strup(change, klen);
        arg = change + klen;
        arg += strspn(arg, " \t");
        if (isempty(arg))
                return INVALID("the instruction needs an argument");

        if (streq(keyword, "CMD")) {
                set_strv(&c->cmd, command_form(arg));
                state->cmd_set = true;
        } else if (streq(keyword, "ENTRYPOINT")) {
                set_strv(&c->entrypoint, command_form(arg));
                if (!state->cmd_set)
                        set_strv(&c->cmd, NULL);
        } else if (streq(keyword, "ENV") || streq(keyword, "LABEL")) {
                bool env = streq(keyword, "ENV");

                words = split_words(arg);
                if (!words[0])
                        return INVALID("the instruction needs an argument");
                if (!strchr(words[0], '=')) {
                        /* Legacy "ENV K V…": the rest of the line is the value. */
                        const char *value = arg + strcspn(arg, " \t");
                        value += strspn(value, " \t");
                        if (!env || isempty(value))
                                return INVALID("expected KEY=VALUE");
                        strv_set_env(&c->env, words[0], value);
                        return 0;
                }
                STRV_FOREACH (w, words) {
                        char *eq = strchr(*w, '=');
                        if (!eq || eq == *w)
                                return INVALID("expected KEY=VALUE");
                        *eq = 0;
                        if (env)
                                strv_set_env(&c->env, *w, eq + 1);
                        else
                                strv_set_label(&c->labels, *w, eq + 1);
                }
        } else if (streq(keyword, "WORKDIR")) {
                words = split_words(arg);
                if (!words[0] || words[1])
                        return INVALID("WORKDIR takes one path");
                if (words[0][0] == '/')
                        set_string(&c->working_dir, words[0]);
                else {
                        g_autofree char *p = g_build_filename(isempty(c->working_dir) ? "/" : c->working_dir,
                                                              words[0], NULL);
                        set_string(&c->working_dir, p);
                }
        } else if (streq(keyword, "USER")) {
                words = split_words(arg);
                if (!words[0] || words[1])
                        return INVALID("USER takes one user[:group]");
                set_string(&c->user, words[0]);
        } else if (streq(keyword, "STOPSIGNAL")) {
                words = split_words(arg);
                if (!words[0] || words[1] || !signal_is_valid(words[0]))
                        return INVALID("STOPSIGNAL takes a signal name or number");
                set_string(&c->stop_signal, words[0]);
        } else if (streq(keyword, "VOLUME")) {
                /* JSON form or words; each an absolute path, added once (Docker's VOLUME). */
                words = parse_json_array(arg) ?: split_words(arg);
                if (!words[0])
                        return INVALID("VOLUME takes absolute paths");
                STRV_FOREACH (w, words) {
                        size_t len = c->volumes ? g_strv_length(c->volumes) : 0;

                        if ((*w)[0] != '/')
                                return INVALID("VOLUME takes absolute paths");
                        if (c->volumes && g_strv_contains((const char *const *) c->volumes, *w))
                                continue;
                        c->volumes = g_renew(char *, c->volumes, len + 2);
                        c->volumes[len] = g_strdup(*w);
                        c->volumes[len + 1] = NULL;
                }
        } else if (streq(keyword, "EXPOSE")) {
                /* "PORT[/tcp|/udp]" words, kept as Docker's "80/tcp" keys, each once (-P publishes them). */
                words = split_words(arg);
                STRV_FOREACH (w, words) {
                        g_autofree char *port =
                                strchr(*w, '/') ? g_ascii_strdown(*w, -1) : g_strdup_printf("%s/tcp", *w);
                        const char *slash = strchr(port, '/');
                        g_autofree char *number = g_strndup(port, slash - port);
                        size_t len = c->exposed_ports ? g_strv_length(c->exposed_ports) : 0;
                        guint64 n;

                        if (!g_ascii_string_to_unsigned(number, 10, 1, 65535, &n, NULL) ||
                            (!streq(slash, "/tcp") && !streq(slash, "/udp")))
                                return INVALID("EXPOSE takes PORT[/tcp|/udp]");
                        if (c->exposed_ports &&
                            g_strv_contains((const char *const *) c->exposed_ports, port))
                                continue;
                        c->exposed_ports = g_renew(char *, c->exposed_ports, len + 2);
                        c->exposed_ports[len] = g_steal_pointer(&port);
                        c->exposed_ports[len + 1] = NULL;
                }
        } else
                return INVALID(
                        "only CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR can "
                        "be changed");
        return 0;
}
