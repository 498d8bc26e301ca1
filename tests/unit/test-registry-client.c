/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registry client against real servers on 127.0.0.1: Debian's docker-registry (open, and a second one
 * behind htpasswd Basic auth sharing its storage), plus a small python3 server for what docker-registry
 * cannot do: a Bearer token realm, 503/429 answers, a connection cut mid-blob (resumed with Range, or
 * restarted when the server cannot resume) and Docker Hub's search API. Every server is started here,
 * listens on loopback only and is killed by its PID at the end. Without /usr/bin/docker-registry the
 * tests are skipped. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "registry/curl-glue.h"
#include "registry/registry-client.h"
#include "registry/registry-config.h"
#include "shared/log.h"

#define DOCKER_REGISTRY "/usr/bin/docker-registry"
#define LAYER_SIZE      (3U * 1024U * 1024U + 17U)

static struct {
        char *dir;
        pid_t open_pid, auth_pid, fake_pid;
        char *open_host, *auth_host, *fake_host; /* 127.0.0.1:port */
        char *config_digest, *layer_digest, *manifest_digest;
        char *config_json, *manifest_json;
        uint8_t *layer;
        sd_event *event;
} T;

/* ---- helpers: processes, blocking setup HTTP (test code only) --------------------------------------- */

static int free_port(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(getsockname(fd, (struct sockaddr *) &sa, &l), ==, 0);
        close(fd);
        return ntohs(sa.sin_port);
}

static pid_t spawn_logged(char *const argv[], const char *log)
{
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* Should an assertion kill the test, its servers go with it. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        dup2(fd, STDOUT_FILENO);
                        dup2(fd, STDERR_FILENO);
                }
                execv(argv[0], argv);
                _exit(127);
        }
        return pid;
}

static void kill_wait(pid_t *pid)
{
        if (*pid <= 0)
                return;
        (void) kill(*pid, SIGTERM);
        (void) waitpid(*pid, NULL, 0);
        *pid = 0;
}

static size_t collect(char *p, size_t size, size_t n, void *userdata)
{
        g_string_append_len(userdata, p, size * n);
        return size * n;
}

/* Blocking request for setup: returns the status, the body and the Location header. */
static long setup_http(const char *method, const char *url, const char *content_type, const void *body,
                       size_t size, const char *userpwd, char **ret_location)
{
        g_autoptr(GString) out = g_string_new(NULL), hdr = g_string_new(NULL);
        struct curl_slist *h = NULL;
        CURL *e = curl_easy_init();
        long status = 0;

        g_assert_nonnull(e);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, collect);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, hdr);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
        if (userpwd)
                curl_easy_setopt(e, CURLOPT_USERPWD, userpwd);
        if (body || streq(method, "PUT") || streq(method, "POST")) {
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ?: "");
                curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) size);
        }
        if (content_type) {
                g_autofree char *ct = g_strdup_printf("Content-Type: %s", content_type);
                h = curl_slist_append(h, ct);
                curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        }
        if (curl_easy_perform(e) == CURLE_OK)
                curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(e);
        curl_slist_free_all(h);

        if (ret_location) {
                g_auto(GStrv) lines = g_strsplit(hdr->str, "\r\n", -1);
                *ret_location = NULL;
                for (char **l = lines; *l; l++)
                        if (g_ascii_strncasecmp(*l, "Location: ", 10) == 0)
                                *ret_location = g_strdup(*l + 10);
        }
        return status;
}

static bool wait_ready(const char *url)
{
        for (int i = 0; i < 200; i++) {
                long s = setup_http("GET", url, NULL, NULL, 0, NULL, NULL);
                if (s == 200 || s == 401)
                        return true;
                g_usleep(50 * 1000);
        }
        return false;
}

static char *sha256_digest(const void *p, size_t n)
{
        g_autofree char *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, p, n);
        return g_strconcat("sha256:", hex, NULL);
}

static char *push_blob(const char *host, const char *repo, const void *p, size_t n)
{
        g_autofree char *url = g_strdup_printf("http://%s/v2/%s/blobs/uploads/", host, repo);
        g_autofree char *location = NULL, *put = NULL;
        char *digest = sha256_digest(p, n);

        g_assert_cmpint(setup_http("POST", url, NULL, NULL, 0, NULL, &location), ==, 202);
        g_assert_nonnull(location);
        put = g_strdup_printf("%s%s%sdigest=%s", location[0] == '/' ? "" : "", location,
                              strchr(location, '?') ? "&" : "?", digest);
        if (location[0] == '/') {
                char *abs = g_strdup_printf("http://%s%s", host, put);
                g_free(put);
                put = abs;
        }
        g_assert_cmpint(setup_http("PUT", put, "application/octet-stream", p, n, NULL, NULL), ==, 201);
        return digest;
}

static void mount_blob(const char *host, const char *repo, const char *from, const char *digest)
{
        g_autofree char *url =
                g_strdup_printf("http://%s/v2/%s/blobs/uploads/?mount=%s&from=%s", host, repo, digest, from);
        g_assert_cmpint(setup_http("POST", url, NULL, NULL, 0, NULL, NULL), ==, 201);
}

static void push_manifest(const char *host, const char *repo, const char *tag)
{
        g_autofree char *url = g_strdup_printf("http://%s/v2/%s/manifests/%s", host, repo, tag);
        g_assert_cmpint(setup_http("PUT", url, "application/vnd.oci.image.manifest.v1+json", T.manifest_json,
                                   strlen(T.manifest_json), NULL, NULL),
                        ==, 201);
}

static char *start_docker_registry(const char *name, const char *storage, const char *htpasswd,
                                   pid_t *ret_pid)
{
        g_autofree char *conf = NULL, *conf_path = NULL, *log = NULL, *host = NULL, *url = NULL;
        int port = free_port();

        host = g_strdup_printf("127.0.0.1:%d", port);
        conf = g_strdup_printf(
                "version: 0.1\n"
                "log:\n  level: warn\n"
                "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
                "http:\n  addr: %s\n"
                "%s%s%s",
                storage, host, htpasswd ? "auth:\n  htpasswd:\n    realm: berth-test\n    path: " : "",
                strempty(htpasswd), htpasswd ? "\n" : "");
        conf_path = g_strdup_printf("%s/%s.yml", T.dir, name);
        log = g_strdup_printf("%s/%s.log", T.dir, name);
        g_assert_true(g_file_set_contents(conf_path, conf, -1, NULL));

        char *argv[] = { (char *) DOCKER_REGISTRY, (char *) "serve", conf_path, NULL };
        *ret_pid = spawn_logged(argv, log);

        url = g_strdup_printf("http://%s/v2/", host);
        g_assert_true(wait_ready(url));
        return g_steal_pointer(&host);
}

/* The fake registry. Paths tell it what to do; /stats reports what it saw. */
static const char fake_server_py[] =
        "import http.server, json, sys, base64, threading\n"
        "stats = {'token': 0, 'flaky': 0, 'cut': 0, 'norange': 0, 'ranges': [], 'toomany': 0}\n"
        "BLOB = bytes((i * 7 + 3) % 251 for i in range(100000))\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    protocol_version = 'HTTP/1.1'\n"
        "    def log_message(self, *a): pass\n"
        "    def send(self, code, body=b'', headers=()):\n"
        "        self.send_response(code)\n"
        "        for k, v in headers: self.send_header(k, v)\n"
        "        self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers()\n"
        "        self.wfile.write(body)\n"
        "    def do_GET(self):\n"
        "        host = self.headers.get('Host')\n"
        "        p = self.path\n"
        "        auth = self.headers.get('Authorization')\n"
        "        if p == '/stats': return self.send(200, json.dumps(stats).encode())\n"
        "        if p.startswith('/token'):\n"
        "            stats['token'] += 1\n"
        "            stats['last_token_query'] = p\n"
        "            if 'private' in p and auth != 'Basic ' + base64.b64encode(b'u:p').decode():\n"
        "                return self.send(401, b'{\"details\":\"incorrect username or password\"}')\n"
        "            return self.send(200, json.dumps({'token': 'T1', 'expires_in': 300}).encode())\n"
        "        if p.startswith('/v2/elsewhere/'):\n"
        "            if auth != 'Bearer T1':\n"
        "                other = host.replace('127.0.0.1', 'localhost')\n"
        "                return self.send(401, b'{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"auth "
        "required\"}]}',\n"
        "                    [('WWW-Authenticate', 'Bearer realm=\"http://%s/token\",service=\"fake\"' % "
        "other)])\n"
        "            return self.send(200, b'{\"fake\":1}', [('Content-Type', "
        "'application/vnd.oci.image.manifest.v1+json'), ('Docker-Content-Digest', 'sha256:feed')])\n"
        "        if p.startswith('/v2/tok/') or p.startswith('/v2/private/'):\n"
        "            if auth != 'Bearer T1':\n"
        "                repo = p.split('/')[2]\n"
        "                return self.send(401, b'{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"auth "
        "required\"}]}',\n"
        "                    [('WWW-Authenticate', 'Bearer "
        "realm=\"http://%s/token\",service=\"fake\",scope=\"repository:%s:pull\"' % (host, repo))])\n"
        "            return self.send(200, b'{\"fake\":1}', [('Content-Type', "
        "'application/vnd.oci.image.manifest.v1+json'), ('Docker-Content-Digest', 'sha256:feed')])\n"
        "        if p.startswith('/v2/flaky/'):\n"
        "            stats['flaky'] += 1\n"
        "            if stats['flaky'] == 1: return self.send(503, "
        "b'{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"try later\"}]}', [('Retry-After', '0')])\n"
        "            return self.send(200, b'config!')\n"
        "        if p.startswith('/v2/toomany/'):\n"
        "            stats['toomany'] += 1\n"
        "            return self.send(429, b'{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"slow "
        "down\"}]}', [('Retry-After', '0')])\n"
        "        if p.startswith('/v2/cut/') or p.startswith('/v2/norange/'):\n"
        "            kind = p.split('/')[2]\n"
        "            stats[kind] += 1\n"
        "            rng = self.headers.get('Range')\n"
        "            stats['ranges'].append(rng)\n"
        "            if stats[kind] == 1:\n"
        "                self.send_response(200)\n"
        "                if kind == 'cut': self.send_header('Accept-Ranges', 'bytes')\n"
        "                self.send_header('Content-Length', str(len(BLOB)))\n"
        "                self.end_headers()\n"
        "                self.wfile.write(BLOB[:40000]); self.wfile.flush()\n"
        "                self.close_connection = True\n"
        "                return\n"
        "            if kind == 'cut' and rng and rng.startswith('bytes='):\n"
        "                start = int(rng[6:].split('-')[0])\n"
        "                return self.send(206, BLOB[start:], [('Content-Range', 'bytes %d-%d/%d' % (start, "
        "len(BLOB) - 1, len(BLOB)))])\n"
        "            return self.send(200, BLOB)\n"
        "        if p.startswith('/v1/search'):\n"
        "            stats['last_search'] = p\n"
        "            return self.send(200, json.dumps({'results': [{'name': 'debian', 'description': "
        "'Debian', 'star_count': 3, 'is_official': True}, {'name': 'x/debian-tools', 'description': "
        "'tools'}]}).encode())\n"
        "        self.send(404, b'{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not "
        "known to registry\"}]}')\n"
        "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
        "open(sys.argv[1] + '.tmp', 'w').write(str(s.server_address[1]))\n"
        "import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
        "s.serve_forever()\n";

static char *start_fake_server(pid_t *ret_pid)
{
        g_autofree char *script = g_strdup_printf("%s/fake.py", T.dir),
                        *portfile = g_strdup_printf("%s/fake.port", T.dir);
        g_autofree char *log = g_strdup_printf("%s/fake.log", T.dir),
                        *python = g_find_program_in_path("python3");
        g_autofree char *port = NULL;

        if (!python)
                return NULL;
        g_assert_true(g_file_set_contents(script, fake_server_py, -1, NULL));
        char *argv[] = { python, script, portfile, NULL };
        *ret_pid = spawn_logged(argv, log);

        for (int i = 0; i < 200 && !g_file_get_contents(portfile, &port, NULL, NULL); i++)
                g_usleep(50 * 1000);
        g_assert_nonnull(port);
        return g_strdup_printf("127.0.0.1:%s", g_strstrip(port));
}

static char *fake_stats(void)
{
        g_autofree char *url = g_strdup_printf("http://%s/stats", T.fake_host);
        g_autoptr(GString) out = g_string_new(NULL);
        CURL *e = curl_easy_init();

        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
        g_assert_cmpint(curl_easy_perform(e), ==, CURLE_OK);
        curl_easy_cleanup(e);
        return g_string_free(g_steal_pointer(&out), FALSE);
}

static bool setup(void)
{
        g_autofree char *storage = NULL, *htpasswd_path = NULL, *htpasswd = NULL;
        g_autoptr(GError) error = NULL;
        int status;

        if (access(DOCKER_REGISTRY, X_OK) < 0)
                return false;

        T.dir = g_dir_make_tmp("berth-test-registry-XXXXXX", NULL);
        g_assert_nonnull(T.dir);
        storage = g_strdup_printf("%s/storage", T.dir);
        g_assert_cmpint(g_mkdir(storage, 0700), ==, 0);

        /* distribution only accepts bcrypt entries. */
        g_assert_true(
                g_spawn_command_line_sync("htpasswd -Bbn user pass", &htpasswd, NULL, &status, &error));
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        htpasswd_path = g_strdup_printf("%s/htpasswd", T.dir);
        g_assert_true(g_file_set_contents(htpasswd_path, htpasswd, -1, NULL));

        T.open_host = start_docker_registry("open", storage, NULL, &T.open_pid);
        T.auth_host = start_docker_registry("auth", storage, htpasswd_path, &T.auth_pid);
        T.fake_host = start_fake_server(&T.fake_pid);

        /* An image: a config, one ~3 MiB layer of varied bytes, an OCI manifest. */
        T.layer = g_malloc(LAYER_SIZE);
        for (size_t i = 0; i < LAYER_SIZE; i++)
                T.layer[i] = (uint8_t) ((i * 2654435761U) >> 13);
        T.config_json =
                g_strdup("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                         "\"diff_ids\":[]},\"config\":{}}");
        T.config_digest = push_blob(T.open_host, "test/busybox", T.config_json, strlen(T.config_json));
        T.layer_digest = push_blob(T.open_host, "test/busybox", T.layer, LAYER_SIZE);
        T.manifest_json = g_strdup_printf(
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                "\"config\":{\"mediaType\":\"application/"
                "vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
                "\"layers\":[{\"mediaType\":\"application/"
                "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%u}]}",
                T.config_digest, strlen(T.config_json), T.layer_digest, LAYER_SIZE);
        T.manifest_digest = sha256_digest(T.manifest_json, strlen(T.manifest_json));
        push_manifest(T.open_host, "test/busybox", "latest");

        /* More repositories for the catalog: enough for two pages. */
        for (int i = 0; i < 105; i++) {
                g_autofree char *repo = g_strdup_printf("many/r%03d", i);
                mount_blob(T.open_host, repo, "test/busybox", T.config_digest);
                mount_blob(T.open_host, repo, "test/busybox", T.layer_digest);
                push_manifest(T.open_host, repo, "v1");
        }

        g_assert_cmpint(sd_event_new(&T.event), >=, 0);
        return true;
}

static void teardown(void)
{
        g_autofree char *cmd = NULL;

        kill_wait(&T.open_pid);
        kill_wait(&T.auth_pid);
        kill_wait(&T.fake_pid);
        if (T.dir) {
                cmd = g_strdup_printf("rm -rf -- '%s'", T.dir);
                (void) system(cmd);
        }
        sd_event_unref(T.event);
}

/* ---- the client under test ------------------------------------------------------------------------ */

typedef struct Env {
        RegistryConfig *config;
        CurlGlue *glue;
        RegistryClient *client;
} Env;

static void env_open(Env *env, const char *conf_text, const char *auth_json)
{
        g_autofree char *conf = g_strdup_printf("%s/berth.conf", T.dir),
                        *auth = g_strdup_printf("%s/auth.json", T.dir);

        g_assert_true(g_file_set_contents(
                conf, conf_text ?: "[Registries]\nMaxAttempts=3\nRetryDelayMSec=10\n", -1, NULL));
        g_assert_cmpint(registry_config_load(conf, &env->config), ==, 0);
        if (auth_json) {
                g_assert_true(g_file_set_contents(auth, auth_json, -1, NULL));
                g_assert_cmpint(chmod(auth, 0600), ==, 0);
                g_assert_cmpint(registry_config_load_auth(env->config, auth), >, 0);
        }
        g_assert_cmpint(curl_glue_new(T.event, &env->glue), ==, 0);
        g_assert_cmpint(registry_client_new(T.event, env->glue, env->config, &env->client), ==, 0);
}

static void env_close(Env *env)
{
        registry_client_free(env->client);
        curl_glue_free(env->glue);
        registry_config_free(env->config);
}

static void run_until(const bool *done)
{
        uint64_t start, now;

        g_assert_cmpint(sd_event_now(T.event, CLOCK_MONOTONIC, &start), >=, 0);
        while (!*done) {
                g_assert_cmpint(sd_event_run(T.event, 1 * USEC_PER_SEC), >=, 0);
                g_assert_cmpint(sd_event_now(T.event, CLOCK_MONOTONIC, &now), >=, 0);
                g_assert_cmpuint(now - start, <, 30 * USEC_PER_SEC);
        }
}

typedef struct Result {
        bool done;
        bool failed;
        RegistryErrorKind kind;
        long status;
        char *code, *message;
        GByteArray *body;
        char *content_type, *digest;
        char **repos;
        RegistrySearchResult *results;
        size_t n_results;
        unsigned attempt;
} Result;

static void result_clear(Result *r)
{
        g_free(r->code);
        g_free(r->message);
        if (r->body)
                g_byte_array_unref(r->body);
        g_free(r->content_type);
        g_free(r->digest);
        g_strfreev(r->repos);
        for (size_t i = 0; i < r->n_results; i++) {
                g_free(r->results[i].name);
                g_free(r->results[i].description);
        }
        g_free(r->results);
        *r = (Result){};
}

static void result_set_error(Result *r, RegistryRequest *req, const RegistryError *e)
{
        r->done = true;
        r->attempt = registry_request_get_attempt(req);
        if (!e)
                return;
        r->failed = true;
        r->kind = e->kind;
        r->status = e->http_status;
        r->code = g_strdup(e->code);
        r->message = g_strdup(e->base.message);
        g_assert_nonnull(e->base.message);
        g_assert_cmpint(e->base.error, <, 0);
}

static void on_manifest(RegistryRequest *req, const RegistryError *e, const void *body, size_t size,
                        const char *content_type, const char *digest, void *userdata)
{
        Result *r = userdata;

        result_set_error(r, req, e);
        if (e)
                return;
        r->body = g_byte_array_new();
        g_byte_array_append(r->body, body, size);
        r->content_type = g_strdup(content_type);
        r->digest = g_strdup(digest);
}

static void on_blob(RegistryRequest *req, const RegistryError *e, const void *body, size_t size,
                    void *userdata)
{
        on_manifest(req, e, body, size, NULL, NULL, userdata);
}

static void get_manifest(Env *env, const char *domain, const char *path, const char *ref, Result *r)
{
        *r = (Result){};
        g_assert_cmpint(registry_get_manifest(env->client, domain, path, ref, on_manifest, r, NULL), ==, 0);
        run_until(&r->done);
}

static void test_manifest(void)
{
        Env env = {};
        Result r;

        env_open(&env, NULL, NULL);

        get_manifest(&env, T.open_host, "test/busybox", "latest", &r);
        g_assert_false(r.failed);
        g_assert_cmpmem(r.body->data, r.body->len, T.manifest_json, strlen(T.manifest_json));
        g_assert_cmpstr(r.content_type, ==, "application/vnd.oci.image.manifest.v1+json");
        g_assert_cmpstr(r.digest, ==, T.manifest_digest);
        /* https to a plain-http registry failed first, then http answered. */
        g_assert_cmpuint(r.attempt, ==, 2);
        result_clear(&r);

        /* By digest; the failed https endpoint is now skipped. */
        get_manifest(&env, T.open_host, "test/busybox", T.manifest_digest, &r);
        g_assert_false(r.failed);
        g_assert_cmpstr(r.digest, ==, T.manifest_digest);
        g_assert_cmpuint(r.attempt, ==, 1);
        result_clear(&r);

        get_manifest(&env, T.open_host, "test/busybox", "nope", &r);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_MANIFEST_UNKNOWN);
        g_assert_cmpint(r.status, ==, 404);
        g_assert_cmpstr(r.code, ==, "MANIFEST_UNKNOWN");
        result_clear(&r);

        get_manifest(&env, T.open_host, "no/such-repo", "latest", &r);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_MANIFEST_UNKNOWN);
        g_assert_true(streq_ptr(r.code, "NAME_UNKNOWN") || streq_ptr(r.code, "MANIFEST_UNKNOWN"));
        result_clear(&r);

        /* Blobs: the config into memory; a missing one; one over the size limit. */
        r = (Result){};
        g_assert_cmpint(registry_get_blob(env.client, T.open_host, "test/busybox", T.config_digest, 0,
                                          on_blob, &r, NULL),
                        ==, 0);
        run_until(&r.done);
        g_assert_false(r.failed);
        g_assert_cmpmem(r.body->data, r.body->len, T.config_json, strlen(T.config_json));
        result_clear(&r);

        g_assert_cmpint(
                registry_get_blob(env.client, T.open_host, "test/busybox",
                                  "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                                  0, on_blob, &r, NULL),
                ==, 0);
        run_until(&r.done);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_BLOB_UNKNOWN);
        result_clear(&r);

        g_assert_cmpint(registry_get_blob(env.client, T.open_host, "test/busybox", T.layer_digest, 1024,
                                          on_blob, &r, NULL),
                        ==, 0);
        run_until(&r.done);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_REGISTRY);
        result_clear(&r);

        /* Nonsense that must not reach a URL. */
        g_assert_cmpint(
                registry_get_manifest(env.client, T.open_host, "a/../b", "latest", on_manifest, &r, NULL),
                ==, -EINVAL);
        g_assert_cmpint(registry_get_manifest(env.client, T.open_host, "a", "x?y", on_manifest, &r, NULL),
                        ==, -EINVAL);

        env_close(&env);
}

/* ---- streaming ------------------------------------------------------------------------------------ */

typedef struct Stream {
        Result r;
        GChecksum *sum;
        uint64_t got;
        unsigned calls, pauses, restarts, progress_calls;
        uint64_t last_done, last_total;
        bool pause_every_other;
        bool cancel_in_data;
        sd_event_source *resume;
        RegistryRequest *req;
} Stream;

static int on_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
        Stream *st = userdata;

        st->resume = sd_event_source_disable_unref(st->resume);
        g_assert_cmpint(registry_blob_resume(st->req), ==, 0);
        return 0;
}

static ssize_t on_data(RegistryRequest *req, const void *p, size_t n, void *userdata)
{
        Stream *st = userdata;
        size_t take = n;

        st->calls++;
        if (st->cancel_in_data) {
                registry_request_cancel(req);
                return (ssize_t) n;
        }
        /* Take a little and pause, as a consumer with a full pipe would; resume from a timer. */
        if (st->pause_every_other && st->calls % 2 == 1 && n > 1) {
                take = MIN(n / 2, (size_t) 1000);
                st->pauses++;
                g_assert_null(st->resume);
                g_assert_cmpint(sd_event_add_time_relative(T.event, &st->resume, CLOCK_MONOTONIC, 100, 1,
                                                           on_resume, st),
                                >=, 0);
        }
        g_checksum_update(st->sum, p, take);
        st->got += take;
        return (ssize_t) take;
}

static void on_restart(RegistryRequest *req, void *userdata)
{
        Stream *st = userdata;

        st->restarts++;
        g_checksum_reset(st->sum);
        st->got = 0;
}

static void on_progress(RegistryRequest *req, uint64_t done, uint64_t total, void *userdata)
{
        Stream *st = userdata;

        st->progress_calls++;
        st->last_done = done;
        st->last_total = total;
        g_assert_cmpuint(done, ==, st->got);
}

static void on_finished(RegistryRequest *req, const RegistryError *e, void *userdata)
{
        Stream *st = userdata;

        g_assert_false(st->cancel_in_data);
        result_set_error(&st->r, req, e);
}

static const RegistryStreamOps stream_ops = {
        .data = on_data,
        .restart = on_restart,
        .progress = on_progress,
        .finished = on_finished,
};

static void stream(Env *env, const char *domain, const char *path, const char *digest, uint64_t size,
                   Stream *st)
{
        st->sum = g_checksum_new(G_CHECKSUM_SHA256);
        g_assert_cmpint(
                registry_stream_blob(env->client, domain, path, digest, size, &stream_ops, st, &st->req), ==,
                0);
        run_until(&st->r.done);
}

static void stream_clear(Stream *st)
{
        g_checksum_free(st->sum);
        sd_event_source_disable_unref(st->resume);
        result_clear(&st->r);
        *st = (Stream){};
}

static void test_stream(void)
{
        Env env = {};
        Stream st = {};
        g_autofree char *sum = NULL;

        env_open(&env, NULL, NULL);

        st.pause_every_other = true;
        stream(&env, T.open_host, "test/busybox", T.layer_digest, LAYER_SIZE, &st);
        g_assert_false(st.r.failed);
        g_assert_cmpuint(st.got, ==, LAYER_SIZE);
        sum = g_strconcat("sha256:", g_checksum_get_string(st.sum), NULL);
        g_assert_cmpstr(sum, ==, T.layer_digest);
        g_assert_cmpuint(st.pauses, >, 3);
        g_assert_cmpuint(st.restarts, ==, 0);
        g_assert_cmpuint(st.progress_calls, >=, 1);
        g_assert_cmpuint(st.last_done, ==, LAYER_SIZE);
        g_assert_cmpuint(st.last_total, ==, LAYER_SIZE);
        stream_clear(&st);

        /* Size differs from the descriptor's. */
        stream(&env, T.open_host, "test/busybox", T.layer_digest, LAYER_SIZE - 1, &st);
        g_assert_true(st.r.failed);
        g_assert_cmpint(st.r.kind, ==, REGISTRY_ERROR_REGISTRY);
        stream_clear(&st);

        /* Cancelled from inside the data callback: no finished call, nothing left behind. */
        st.cancel_in_data = true;
        st.sum = g_checksum_new(G_CHECKSUM_SHA256);
        g_assert_cmpint(registry_stream_blob(env.client, T.open_host, "test/busybox", T.layer_digest, 0,
                                             &stream_ops, &st, &st.req),
                        ==, 0);
        for (int i = 0; i < 50 && st.calls == 0; i++)
                g_assert_cmpint(sd_event_run(T.event, 100 * USEC_PER_MSEC), >=, 0);
        g_assert_cmpuint(st.calls, ==, 1);
        for (int i = 0; i < 5; i++)
                g_assert_cmpint(sd_event_run(T.event, 20 * USEC_PER_MSEC), >=, 0);
        g_assert_false(st.r.done);
        stream_clear(&st);

        /* Cancelled from outside before anything happened. */
        st.sum = g_checksum_new(G_CHECKSUM_SHA256);
        g_assert_cmpint(registry_stream_blob(env.client, T.open_host, "test/busybox", T.layer_digest, 0,
                                             &stream_ops, &st, &st.req),
                        ==, 0);
        registry_request_cancel(st.req);
        for (int i = 0; i < 5; i++)
                g_assert_cmpint(sd_event_run(T.event, 20 * USEC_PER_MSEC), >=, 0);
        g_assert_false(st.r.done);
        g_assert_cmpuint(st.calls, ==, 0);
        stream_clear(&st);

        /* A request still running when the client goes away is dropped silently. */
        st.sum = g_checksum_new(G_CHECKSUM_SHA256);
        g_assert_cmpint(registry_stream_blob(env.client, T.open_host, "test/busybox", T.layer_digest, 0,
                                             &stream_ops, &st, &st.req),
                        ==, 0);
        env_close(&env);
        g_assert_false(st.r.done);
        stream_clear(&st);
}

/* ---- auth ----------------------------------------------------------------------------------------- */

static char *auth_json_for(const char *host, const char *userpass)
{
        g_autofree char *b64 = g_base64_encode((const guchar *) userpass, strlen(userpass));
        return g_strdup_printf("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", host, b64);
}

static void test_basic_auth(void)
{
        g_autofree char *good = auth_json_for(T.auth_host, "user:pass"),
                        *bad = auth_json_for(T.auth_host, "user:wrong");
        Env env = {};
        Stream st = {};
        Result r;

        /* No credentials. */
        env_open(&env, NULL, NULL);
        get_manifest(&env, T.auth_host, "test/busybox", "latest", &r);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_UNAUTHORIZED);
        g_assert_cmpint(r.status, ==, 401);
        result_clear(&r);
        env_close(&env);

        /* Right ones: manifest, then a layer (Basic is sent right away now). */
        env_open(&env, NULL, good);
        get_manifest(&env, T.auth_host, "test/busybox", "latest", &r);
        g_assert_false(r.failed);
        g_assert_cmpstr(r.digest, ==, T.manifest_digest);
        result_clear(&r);
        stream(&env, T.auth_host, "test/busybox", T.layer_digest, LAYER_SIZE, &st);
        g_assert_false(st.r.failed);
        g_assert_cmpuint(st.got, ==, LAYER_SIZE);
        g_assert_cmpuint(st.r.attempt, ==, 1);
        stream_clear(&st);
        env_close(&env);

        /* Wrong ones. */
        env_open(&env, NULL, bad);
        get_manifest(&env, T.auth_host, "test/busybox", "latest", &r);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_UNAUTHORIZED);
        result_clear(&r);
        env_close(&env);
}

static void test_bearer_auth(void)
{
        g_autofree char *good = auth_json_for(T.fake_host, "u:p"), *bad = auth_json_for(T.fake_host, "u:x");
        g_autofree char *stats = NULL;
        Env env = {};
        Result r;

        if (!T.fake_host) {
                g_test_skip("python3 not available");
                return;
        }

        env_open(&env, NULL, NULL);
        get_manifest(&env, T.fake_host, "tok", "latest", &r);
        g_assert_false(r.failed);
        g_assert_cmpstr(r.digest, ==, "sha256:feed");
        result_clear(&r);
        /* The token is cached: no second token request. */
        get_manifest(&env, T.fake_host, "tok", "other", &r);
        g_assert_false(r.failed);
        result_clear(&r);
        stats = fake_stats();
        g_assert_nonnull(strstr(stats, "\"token\": 1,"));
        g_assert_nonnull(strstr(stats, "service=fake&scope=repository%3atok%3apull"));
        g_clear_pointer(&stats, g_free);

        /* The private repo needs credentials at the token server. */
        get_manifest(&env, T.fake_host, "private", "latest", &r);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_UNAUTHORIZED);
        result_clear(&r);
        env_close(&env);

        env_open(&env, NULL, bad);
        get_manifest(&env, T.fake_host, "private", "latest", &r);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_UNAUTHORIZED);
        result_clear(&r);
        env_close(&env);

        env_open(&env, NULL, good);
        get_manifest(&env, T.fake_host, "private", "latest", &r);
        g_assert_false(r.failed);
        result_clear(&r);
        env_close(&env);
}

/* A realm on another host gets that host's settings, not the registry's: here the registry (127.0.0.1:port,
 * loopback, so plain HTTP) names a realm on localhost:port, which berth.conf says is not insecure. */
static void test_realm_elsewhere(void)
{
        g_autofree char *port = NULL, *conf = NULL, *before = NULL, *after = NULL;
        Env env = {};
        Result r;

        if (!T.fake_host) {
                g_test_skip("python3 not available");
                return;
        }
        port = g_strdup(strchr(T.fake_host, ':') + 1);

        /* By default localhost is loopback too: the realm answers over plain HTTP. */
        env_open(&env, NULL, NULL);
        get_manifest(&env, T.fake_host, "elsewhere", "latest", &r);
        g_assert_false(r.failed);
        result_clear(&r);
        env_close(&env);

        /* Declared secure: no plain-HTTP token request, even though the registry itself is insecure. */
        conf = g_strdup_printf("[Registries]\nMaxAttempts=1\n[Registry localhost:%s]\nInsecure=false\n",
                               port);
        before = fake_stats();
        env_open(&env, conf, NULL);
        get_manifest(&env, T.fake_host, "elsewhere", "latest", &r);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_UNAUTHORIZED);
        result_clear(&r);
        env_close(&env);
        after = fake_stats();
        /* No token request was made. */
        g_assert_cmpint(atoi(strstr(before, "\"token\": ") + 9), ==, atoi(strstr(after, "\"token\": ") + 9));
}

/* ---- faults --------------------------------------------------------------------------------------- */

static void test_faults(void)
{
        g_autofree char *refused = g_strdup_printf("127.0.0.1:%d", free_port()), *stats = NULL;
        Env env = {};
        Stream st = {};
        Result r;
        uint64_t t0, t1;

        env_open(&env, NULL, NULL);

        /* Nobody listens: a network error, after both endpoints and the retries. */
        get_manifest(&env, refused, "x", "latest", &r);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_NETWORK);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpuint(r.attempt, ==, 3);
        g_test_message("connection refused: %s", r.message);
        result_clear(&r);

        if (!T.fake_host) {
                env_close(&env);
                return;
        }

        /* 503 then success. */
        r = (Result){};
        g_assert_cmpint(
                registry_get_blob(env.client, T.fake_host, "flaky", "sha256:aa", 0, on_blob, &r, NULL), ==,
                0);
        run_until(&r.done);
        g_assert_false(r.failed);
        g_assert_cmpmem(r.body->data, r.body->len, "config!", 7);
        g_assert_cmpuint(r.attempt, >=, 2);
        result_clear(&r);

        /* 429 every time: the registry's error after MaxAttempts. */
        g_assert_cmpint(sd_event_now(T.event, CLOCK_MONOTONIC, &t0), >=, 0);
        g_assert_cmpint(
                registry_get_blob(env.client, T.fake_host, "toomany", "sha256:aa", 0, on_blob, &r, NULL), ==,
                0);
        run_until(&r.done);
        g_assert_cmpint(sd_event_now(T.event, CLOCK_MONOTONIC, &t1), >=, 0);
        g_assert_true(r.failed);
        g_assert_cmpint(r.kind, ==, REGISTRY_ERROR_REGISTRY);
        g_assert_cmpint(r.status, ==, 429);
        g_assert_cmpstr(r.message, ==, "slow down");
        g_assert_cmpstr(r.code, ==, "TOOMANYREQUESTS");
        g_assert_cmpuint(r.attempt, ==, 3);
        result_clear(&r);

        /* Cut after 40000 bytes, server can resume: Range, no restart. */
        stream(&env, T.fake_host, "cut", "sha256:aa", 100000, &st);
        g_assert_false(st.r.failed);
        g_assert_cmpuint(st.got, ==, 100000);
        g_assert_cmpuint(st.restarts, ==, 0);
        g_assert_cmpuint(st.r.attempt, ==, 2);
        stream_clear(&st);

        /* Cut, and the server cannot resume: the consumer is told to start over. */
        stream(&env, T.fake_host, "norange", "sha256:aa", 100000, &st);
        g_assert_false(st.r.failed);
        g_assert_cmpuint(st.got, ==, 100000);
        g_assert_cmpuint(st.restarts, ==, 1);
        g_assert_cmpuint(st.r.attempt, ==, 2);
        stream_clear(&st);

        stats = fake_stats();
        g_test_message("fake server: %s", stats);
        g_assert_nonnull(strstr(stats, "\"ranges\": [null, \"bytes=40000-\", null, null]"));

        env_close(&env);
}

/* ---- catalog and search --------------------------------------------------------------------------- */

/* ---- push: HEAD, mount, POST/PATCH/PUT, manifest PUT, credentials check --------------------------- */

typedef struct Send {
        Result r;
        long status;
        char *location, *digest;
        uint64_t length;
        /* A PATCH body: from buf, in pieces, saying "not yet" every other call (resumed from a timer). */
        const uint8_t *buf;
        size_t size, off;
        unsigned calls, waits;
        sd_event_source *resume;
        RegistryRequest *req;
} Send;

static void on_response(RegistryRequest *req, const RegistryError *e, const RegistryResponse *response,
                        void *userdata)
{
        Send *s = userdata;

        result_set_error(&s->r, req, e);
        if (e)
                return;
        s->status = response->status;
        s->location = g_strdup(response->location);
        s->digest = g_strdup(response->digest);
        s->length = response->content_length;
}

static int on_send_resume(sd_event_source *es, uint64_t usec, void *userdata)
{
        Send *s = userdata;

        s->resume = sd_event_source_disable_unref(s->resume);
        g_assert_cmpint(registry_request_resume_send(s->req), ==, 0);
        return 0;
}

static ssize_t on_read_body(RegistryRequest *req, void *p, size_t n, void *userdata)
{
        Send *s = userdata;
        size_t k;

        if (++s->calls % 2 == 1 && s->off < s->size) {
                s->waits++;
                g_assert_null(s->resume);
                g_assert_cmpint(sd_event_add_time_relative(T.event, &s->resume, CLOCK_MONOTONIC, 100, 1,
                                                           on_send_resume, s),
                                >=, 0);
                return -EAGAIN;
        }
        k = MIN(MIN(n, s->size - s->off), (size_t) 100000);
        memcpy(p, s->buf + s->off, k);
        s->off += k;
        return (ssize_t) k;
}

static void send_clear(Send *s)
{
        result_clear(&s->r);
        g_free(s->location);
        g_free(s->digest);
        sd_event_source_disable_unref(s->resume);
        *s = (Send){};
}

static void upload(Env *env, const char *host, const char *repo, const uint8_t *buf, size_t size,
                   const char *digest)
{
        Send s = {};
        g_autofree char *location = NULL;

        g_assert_cmpint(registry_start_upload(env->client, host, repo, NULL, NULL, on_response, &s, NULL),
                        ==, 0);
        run_until(&s.r.done);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 202);
        g_assert_true(g_str_has_prefix(s.location, "http://"));
        location = g_strdup(s.location);
        send_clear(&s);

        s.buf = buf;
        s.size = size;
        g_assert_cmpint(registry_upload_patch(env->client, host, repo, location, on_read_body, on_response,
                                              &s, &s.req),
                        ==, 0);
        run_until(&s.r.done);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 202);
        g_assert_cmpuint(s.off, ==, size);
        g_assert_cmpuint(s.waits, >, 3);
        g_free(location);
        location = g_strdup(s.location);
        send_clear(&s);

        g_assert_cmpint(registry_upload_finish(env->client, host, repo, location, digest, NULL, 0,
                                               on_response, &s, NULL),
                        ==, 0);
        run_until(&s.r.done);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 201);
        g_assert_cmpstr(s.digest, ==, digest);
        send_clear(&s);
}

static void head(Env *env, const char *host, const char *repo, const char *digest, Send *s)
{
        *s = (Send){};
        g_assert_cmpint(registry_head_blob(env->client, host, repo, digest, on_response, s, NULL), ==, 0);
        run_until(&s->r.done);
}

static void test_push(void)
{
        g_autofree uint8_t *blob = g_malloc(LAYER_SIZE);
        g_autofree char *digest = NULL, *manifest = NULL, *good = auth_json_for(T.auth_host, "user:pass");
        Env env = {};
        Send s = {};
        Result r;

        for (size_t i = 0; i < LAYER_SIZE; i++)
                blob[i] = (uint8_t) ((i * 40503U) >> 7);
        digest = sha256_digest(blob, LAYER_SIZE);
        env_open(&env, NULL, NULL);

        /* HEAD: there (with its size), and absent (an answer, not an error). */
        head(&env, T.open_host, "test/busybox", T.layer_digest, &s);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 200);
        g_assert_cmpuint(s.length, ==, LAYER_SIZE);
        send_clear(&s);
        head(&env, T.open_host, "up/new", digest, &s);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 404);
        send_clear(&s);

        /* Mount from another repository. */
        g_assert_cmpint(registry_start_upload(env.client, T.open_host, "up/mounted", T.layer_digest,
                                              "test/busybox", on_response, &s, NULL),
                        ==, 0);
        run_until(&s.r.done);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 201);
        send_clear(&s);

        /* A streamed upload, paused and resumed, then read back. */
        upload(&env, T.open_host, "up/new", blob, LAYER_SIZE, digest);
        r = (Result){};
        g_assert_cmpint(
                registry_get_blob(env.client, T.open_host, "up/new", digest, LAYER_SIZE, on_blob, &r, NULL),
                ==, 0);
        run_until(&r.done);
        g_assert_false(r.failed);
        g_assert_cmpuint(r.body->len, ==, LAYER_SIZE);
        g_assert_cmpint(memcmp(r.body->data, blob, LAYER_SIZE), ==, 0);
        result_clear(&r);

        /* A monolithic one (the config), then the manifest by tag. */
        g_assert_cmpint(registry_start_upload(env.client, T.open_host, "up/mounted", NULL, NULL, on_response,
                                              &s, NULL),
                        ==, 0);
        run_until(&s.r.done);
        g_autofree char *loc = g_strdup(s.location);
        send_clear(&s);
        g_assert_cmpint(registry_upload_finish(env.client, T.open_host, "up/mounted", loc, T.config_digest,
                                               T.config_json, strlen(T.config_json), on_response, &s, NULL),
                        ==, 0);
        run_until(&s.r.done);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 201);
        send_clear(&s);
        g_assert_cmpint(registry_put_manifest(env.client, T.open_host, "up/mounted", "v1",
                                              "application/vnd.oci.image.manifest.v1+json", T.manifest_json,
                                              strlen(T.manifest_json), on_response, &s, NULL),
                        ==, 0);
        run_until(&s.r.done);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 201);
        g_assert_cmpstr(s.digest, ==, T.manifest_digest);
        send_clear(&s);
        get_manifest(&env, T.open_host, "up/mounted", "v1", &r);
        g_assert_false(r.failed);
        g_assert_cmpstr(r.digest, ==, T.manifest_digest);
        result_clear(&r);

        /* Without credentials the protected registry refuses; a credentials check says whether it takes
         * them. */
        head(&env, T.auth_host, "test/busybox", T.layer_digest, &s);
        g_assert_true(s.r.failed);
        g_assert_cmpint(s.r.kind, ==, REGISTRY_ERROR_UNAUTHORIZED);
        send_clear(&s);
        g_assert_cmpint(
                registry_check_credentials(env.client, T.auth_host, "user", "wrong", on_response, &s, NULL),
                ==, 0);
        run_until(&s.r.done);
        g_assert_true(s.r.failed);
        g_assert_cmpint(s.r.kind, ==, REGISTRY_ERROR_UNAUTHORIZED);
        send_clear(&s);
        g_assert_cmpint(
                registry_check_credentials(env.client, T.auth_host, "user", "pass", on_response, &s, NULL),
                ==, 0);
        run_until(&s.r.done);
        g_assert_false(s.r.failed);
        g_assert_cmpint(s.status, ==, 200);
        send_clear(&s);
        /* The check lent nothing to other requests. */
        head(&env, T.auth_host, "test/busybox", T.layer_digest, &s);
        g_assert_true(s.r.failed);
        send_clear(&s);
        env_close(&env);

        /* With stored credentials, an authenticated streamed upload. */
        env_open(&env, NULL, good);
        upload(&env, T.auth_host, "up/auth", blob, LAYER_SIZE, digest);
        env_close(&env);
}

static void on_catalog(RegistryRequest *req, const RegistryError *e, char **repos, void *userdata)
{
        Result *r = userdata;

        result_set_error(r, req, e);
        if (!e)
                r->repos = g_strdupv(repos);
}

static void on_search(RegistryRequest *req, const RegistryError *e, const RegistrySearchResult *results,
                      size_t n, void *userdata)
{
        Result *r = userdata;

        result_set_error(r, req, e);
        if (e)
                return;
        r->results = g_new0(RegistrySearchResult, n + 1);
        r->n_results = n;
        for (size_t i = 0; i < n; i++) {
                r->results[i].name = g_strdup(results[i].name);
                r->results[i].description = g_strdup(results[i].description);
                r->results[i].stars = results[i].stars;
                r->results[i].official = results[i].official;
        }
}

static void test_catalog_search(void)
{
        g_autofree char *conf = NULL, *stats = NULL;
        Env env = {};
        Result r = {};

        env_open(&env, NULL, NULL);

        /* 106 repositories: two pages of 100. */
        g_assert_cmpint(registry_get_catalog(env.client, T.open_host, 0, on_catalog, &r, NULL), ==, 0);
        run_until(&r.done);
        g_assert_false(r.failed);
        g_assert_cmpuint(g_strv_length(r.repos), ==, 106);
        g_assert_true(g_strv_contains((const char *const *) r.repos, "test/busybox"));
        g_assert_true(g_strv_contains((const char *const *) r.repos, "many/r104"));
        result_clear(&r);

        /* Bounded to one page. */
        g_assert_cmpint(registry_get_catalog(env.client, T.open_host, 1, on_catalog, &r, NULL), ==, 0);
        run_until(&r.done);
        g_assert_false(r.failed);
        g_assert_cmpuint(g_strv_length(r.repos), ==, 100);
        result_clear(&r);

        /* Search without a search API: the catalog, filtered. */
        g_assert_cmpint(registry_search(env.client, T.open_host, "busy", 0, on_search, &r, NULL), ==, 0);
        run_until(&r.done);
        g_assert_false(r.failed);
        g_assert_cmpuint(r.n_results, ==, 1);
        g_assert_true(g_str_has_suffix(r.results[0].name, "/test/busybox"));
        g_assert_true(g_str_has_prefix(r.results[0].name, T.open_host));
        result_clear(&r);
        env_close(&env);

        if (!T.fake_host)
                return;

        /* Docker Hub's API, pointed at the fake server. */
        conf = g_strdup_printf("[Registries]\nMaxAttempts=2\nRetryDelayMSec=10\n"
                               "[Registry docker.io]\nSearchURL=http://%s/v1/search\n",
                               T.fake_host);
        env_open(&env, conf, NULL);
        g_assert_cmpint(registry_search(env.client, "docker.io", "deb ian", 0, on_search, &r, NULL), ==, 0);
        run_until(&r.done);
        g_assert_false(r.failed);
        g_assert_cmpuint(r.n_results, ==, 2);
        g_assert_cmpstr(r.results[0].name, ==, "debian");
        g_assert_cmpstr(r.results[0].description, ==, "Debian");
        g_assert_true(r.results[0].official);
        g_assert_cmpstr(r.results[1].name, ==, "x/debian-tools");
        result_clear(&r);
        stats = fake_stats();
        g_assert_nonnull(strstr(stats, "/v1/search?q=deb%20ian&n=25"));
        env_close(&env);
}

int main(int argc, char *argv[])
{
        int r;

        g_test_init(&argc, &argv, NULL);
        log_parse_environment();

        if (!setup()) {
                printf("1..0 # SKIP %s not installed\n", DOCKER_REGISTRY);
                return 0;
        }

        g_test_add_func("/registry-client/manifest-and-blob", test_manifest);
        g_test_add_func("/registry-client/stream", test_stream);
        g_test_add_func("/registry-client/basic-auth", test_basic_auth);
        g_test_add_func("/registry-client/bearer-auth", test_bearer_auth);
        g_test_add_func("/registry-client/realm-elsewhere", test_realm_elsewhere);
        g_test_add_func("/registry-client/faults", test_faults);
        g_test_add_func("/registry-client/catalog-search", test_catalog_search);
        g_test_add_func("/registry-client/push", test_push);

        r = g_test_run();
        teardown();
        return r;
}
