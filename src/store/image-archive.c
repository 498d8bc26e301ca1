/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * docker-archive and OCI-layout tars: writing (save) and reading (load). Layouts and guarantees in
 * image-archive.h. Runs in a child process of berthd: blocking I/O is fine here.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-glib/json-glib.h>

#include "oci/config.h"
#include "oci/digest.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/sha256.h"
#include "shared/json-build.h"
#include "shared/json-read.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/archive-util.h"
#include "store/image-archive.h"
#include "store/layer-extract.h"
#include "store/layer-tar.h"

#define MEDIA_TYPE_OCI_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_TYPE_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define ANNOTATION_REF_NAME      "org.opencontainers.image.ref.name"
#define ANNOTATION_IMAGE_NAME    "io.containerd.image.name"

#define SMALL_ENTRY_MAX     (4U * 1024U)          /* kept in memory whatever it is */
#define JSON_ENTRY_MAX      (16U * 1024U * 1024U) /* a JSON document kept in memory */
#define JSON_TOTAL_MAX      (64U * 1024U * 1024U) /* all of them together */
#define ARCHIVE_ENTRIES_MAX 100000U
#define LINK_DEPTH_MAX      16
#define IO_BUFFER_SIZE      (256U * 1024U)

static const char *const format_names[_IMAGE_ARCHIVE_FORMAT_MAX] = {
        [IMAGE_ARCHIVE_DOCKER] = "docker-archive",
        [IMAGE_ARCHIVE_OCI] = "oci-archive",
};

ImageArchiveFormat image_archive_format_from_string(const char *s)
{
        for (int i = 0; i < _IMAGE_ARCHIVE_FORMAT_MAX; i++)
                if (s && streq(s, format_names[i]))
                        return (ImageArchiveFormat) i;
        return _IMAGE_ARCHIVE_FORMAT_INVALID;
}

void image_archive_image_done(ImageArchiveImage *i)
{
        free(i->id);
        free(i->config);
        g_strfreev(i->names);
        g_strfreev(i->familiar);
        g_strfreev(i->diff_ids);
        g_strfreev(i->chain_ids);
        *i = (ImageArchiveImage){};
}

void image_archive_loaded_done(ImageArchiveLoaded *l)
{
        free(l->id);
        free(l->config);
        g_strfreev(l->names);
        g_strfreev(l->diff_ids);
        g_strfreev(l->chain_ids);
        free(l->layer_sizes);
        *l = (ImageArchiveLoaded){};
}

static char *builder_to_string(JsonBuilder *b, size_t *ret_size)
{
        g_autoptr(JsonGenerator) g = json_generator_new();
        g_autoptr(JsonNode) root = json_builder_get_root(b);
        gsize length = 0;
        char *text;

        json_generator_set_root(g, root);
        text = json_generator_to_data(g, &length);
        if (ret_size)
                *ret_size = length;
        return text;
}

/* ---- save --------------------------------------------------------------------------------------------- */

typedef struct Writer {
        LayerStore *store;
        struct archive *a;
        GHashTable *written; /* entry names already in the archive */
        ImageArchiveProgress progress;
        void *userdata;
        uint64_t done, total;
        Sha256 *hash;
} Writer;

static int writer_fail(Writer *w, BerthError *e, const char *what)
{
        return berth_error_set(e, archive_error_to_errno(w->a), "Cannot write %s to the archive: %s", what,
                               archive_message(w->a));
}

static int write_header(Writer *w, const char *name, mode_t type, uint64_t size, BerthError *e)
{
        _cleanup_(archive_entry_freep) struct archive_entry *entry = archive_entry_new();

        if (!entry)
                return -ENOMEM;
        archive_entry_set_pathname(entry, name);
        archive_entry_set_filetype(entry, type);
        archive_entry_set_perm(entry, type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_size(entry, (la_int64_t) size);
        archive_entry_set_mtime(entry, 0, 0);
        if (archive_write_header(w->a, entry) != ARCHIVE_OK)
                return writer_fail(w, e, name);
        g_hash_table_add(w->written, g_strdup(name));
        return 0;
}

static int write_file(Writer *w, const char *name, const void *data, size_t size, BerthError *e)
{
        int r;

        if (g_hash_table_contains(w->written, name))
                return 0;
        r = write_header(w, name, AE_IFREG, size, e);
        if (r < 0)
                return r;
        if (size > 0 && archive_write_data(w->a, data, size) != (la_ssize_t) size)
                return writer_fail(w, e, name);
        return 0;
}

static int write_dir(Writer *w, const char *name, BerthError *e)
{
        if (g_hash_table_contains(w->written, name))
                return 0;
        return write_header(w, name, AE_IFDIR, 0, e);
}

static int layer_sink(const void *data, size_t size, void *userdata)
{
        Writer *w = userdata;

        if (archive_write_data(w->a, data, size) != (la_ssize_t) size)
                return archive_error_to_errno(w->a);
        if (sha256_update(w->hash, data, size) < 0)
                return -EIO;
        w->done += size;
        if (w->progress)
                w->progress(w->done, w->total, w->userdata);
        return 0;
}

static int write_layer(Writer *w, const char *name, const char *chain_id, const char *diff_id, BerthError *e)
{
        char digest[SHA256_DIGEST_STRING_SIZE];
        uint64_t size;
        int r;

        if (g_hash_table_contains(w->written, name))
                return 0;
        r = layer_tar_size(w->store, chain_id, &size, e);
        if (r < 0)
                return r;
        r = write_header(w, name, AE_IFREG, size, e);
        if (r < 0)
                return r;
        r = sha256_reset(w->hash);
        if (r < 0)
                return r;
        r = layer_tar_stream(w->store, chain_id, layer_sink, w, e);
        if (r < 0)
                return berth_error_set(e, r, "Cannot write layer %s: %s", diff_id, strerror(-r));
        r = sha256_final_to(w->hash, digest);
        if (r < 0)
                return r;
        /* The record cannot say whether diff/ was changed behind the store's back: the digest can. */
        if (!streq(digest, diff_id))
                return berth_error_set(
                        e, -EBADMSG,
                        "Layer %s cannot be rebuilt exactly from the store (its tar hashes to "
                        "%s); remove the image and pull or load it again",
                        diff_id, digest);
        return 0;
}

static uint64_t layers_total(Writer *w, const ImageArchiveImage *images, size_t n)
{
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        uint64_t total = 0;

        for (size_t i = 0; i < n; i++)
                for (size_t l = 0; images[i].chain_ids && images[i].chain_ids[l]; l++) {
                        uint64_t size = 0;
                        if (!g_hash_table_add(seen, images[i].diff_ids[l]))
                                continue;
                        if (layer_tar_size(w->store, images[i].chain_ids[l], &size, NULL) >= 0)
                                total += size;
                }
        return total;
}

/* "debian:12" → "debian", "12"; "localhost:5000/x" → "localhost:5000/x", "latest". */
static void split_familiar(const char *name, char **ret_repo, char **ret_tag)
{
        const char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');

        if (colon && (!slash || colon > slash)) {
                *ret_repo = g_strndup(name, (size_t) (colon - name));
                *ret_tag = g_strdup(colon + 1);
        } else {
                *ret_repo = g_strdup(name);
                *ret_tag = g_strdup("latest");
        }
}

static int write_docker(Writer *w, const ImageArchiveImage *images, size_t n, BerthError *e)
{
        g_autoptr(JsonBuilder) manifest = json_builder_new();
        g_autoptr(GHashTable) repos =
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
        g_autofree char *manifest_json = NULL, *repos_json = NULL;
        size_t size;
        int r;

        json_builder_begin_array(manifest);
        for (size_t i = 0; i < n; i++) {
                const ImageArchiveImage *img = images + i;
                g_autofree char *config_name = g_strdup_printf("%s.json", digest_hex(img->id));
                g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func(g_free);
                const char *top = NULL;

                for (size_t l = 0; img->diff_ids[l]; l++) {
                        g_autofree char *dir = g_strdup(digest_hex(img->diff_ids[l]));
                        g_autofree char *file = g_strdup_printf("%s/layer.tar", dir);

                        r = write_dir(w, dir, e);
                        if (r >= 0)
                                r = write_layer(w, file, img->chain_ids[l], img->diff_ids[l], e);
                        if (r < 0)
                                return r;
                        g_ptr_array_add(layers, TAKE_PTR(file));
                        top = digest_hex(img->diff_ids[l]);
                }
                g_ptr_array_add(layers, NULL);
                r = write_file(w, config_name, img->config, img->config_size, e);
                if (r < 0)
                        return r;

                json_builder_begin_object(manifest);
                json_build_string(manifest, "Config", config_name);
                json_build_strv(manifest, "RepoTags", img->familiar);
                json_build_strv(manifest, "Layers", (char **) layers->pdata);
                json_builder_end_object(manifest);

                for (size_t t = 0; top && img->familiar && img->familiar[t]; t++) {
                        g_autofree char *repo = NULL, *tag = NULL;
                        GHashTable *tags;

                        split_familiar(img->familiar[t], &repo, &tag);
                        tags = g_hash_table_lookup(repos, repo);
                        if (!tags) {
                                tags = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
                                g_hash_table_insert(repos, g_strdup(repo), tags);
                        }
                        g_hash_table_insert(tags, TAKE_PTR(tag), g_strdup(top));
                }
        }
        json_builder_end_array(manifest);
        manifest_json = builder_to_string(manifest, &size);
        r = write_file(w, "manifest.json", manifest_json, size, e);
        if (r < 0)
                return r;

        /* The legacy "repositories" file: repository → tag → top layer. */
        g_autoptr(JsonBuilder) rb = json_builder_new();
        GHashTableIter it;
        gpointer key, value;

        json_builder_begin_object(rb);
        g_hash_table_iter_init(&it, repos);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                GHashTableIter ti;
                gpointer tk, tv;

                json_builder_set_member_name(rb, key);
                json_builder_begin_object(rb);
                g_hash_table_iter_init(&ti, value);
                while (g_hash_table_iter_next(&ti, &tk, &tv))
                        json_build_string(rb, tk, tv);
                json_builder_end_object(rb);
        }
        json_builder_end_object(rb);
        repos_json = builder_to_string(rb, &size);
        return write_file(w, "repositories", repos_json, size, e);
}

static int write_oci(Writer *w, const ImageArchiveImage *images, size_t n, BerthError *e)
{
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        g_autoptr(JsonBuilder) index = json_builder_new();
        g_autofree char *index_json = NULL;
        size_t size;
        int r;

        r = write_file(w, "oci-layout", layout, strlen(layout), e);
        if (r >= 0)
                r = write_dir(w, "blobs", e);
        if (r >= 0)
                r = write_dir(w, "blobs/sha256", e);
        if (r < 0)
                return r;

        json_builder_begin_object(index);
        json_build_int(index, "schemaVersion", 2);
        json_build_string(index, "mediaType", MEDIA_TYPE_OCI_INDEX);
        json_builder_set_member_name(index, "manifests");
        json_builder_begin_array(index);
        for (size_t i = 0; i < n; i++) {
                const ImageArchiveImage *img = images + i;
                g_autofree OciDescriptor *layers = NULL;
                g_autofree char *config_name = g_strdup_printf("blobs/sha256/%s", digest_hex(img->id));
                _cleanup_free_ char *manifest = NULL, *manifest_digest = NULL;
                g_autofree char *manifest_name = NULL;
                size_t n_layers = g_strv_length(img->diff_ids), manifest_size;
                OciDescriptor config = {
                        .digest = img->id,
                        .size = img->config_size,
                };

                layers = g_new0(OciDescriptor, MAX(n_layers, 1U));
                for (size_t l = 0; l < n_layers; l++) {
                        g_autofree char *name =
                                g_strdup_printf("blobs/sha256/%s", digest_hex(img->diff_ids[l]));
                        uint64_t layer_size = 0;

                        r = write_layer(w, name, img->chain_ids[l], img->diff_ids[l], e);
                        if (r >= 0)
                                r = layer_tar_size(w->store, img->chain_ids[l], &layer_size, e);
                        if (r < 0)
                                return r;
                        layers[l] = (OciDescriptor){
                                .media_type = (char *) MEDIA_TYPE_OCI_LAYER_TAR,
                                .digest = img->diff_ids[l],
                                .size = layer_size,
                        };
                }
                r = write_file(w, config_name, img->config, img->config_size, e);
                if (r < 0)
                        return r;
                r = oci_manifest_build(&config, layers, n_layers, &manifest, &manifest_size);
                if (r >= 0)
                        r = sha256_digest_data(manifest, manifest_size, &manifest_digest);
                if (r < 0)
                        return berth_error_set(e, r, "Cannot make the manifest of %s", img->id);
                manifest_name = g_strdup_printf("blobs/sha256/%s", digest_hex(manifest_digest));
                r = write_file(w, manifest_name, manifest, manifest_size, e);
                if (r < 0)
                        return r;

                /* One entry per name (Docker and containerd do the same), one without a name if none. */
                for (size_t t = 0; t == 0 || (img->names && img->names[t]); t++) {
                        const char *name = img->names ? img->names[t] : NULL;

                        json_builder_begin_object(index);
                        json_build_string(index, "mediaType", OCI_MEDIA_TYPE_MANIFEST);
                        json_build_string(index, "digest", manifest_digest);
                        json_build_int(index, "size", (gint64) manifest_size);
                        if (name) {
                                g_autofree char *repo = NULL, *tag = NULL;

                                split_familiar(img->familiar && img->familiar[t] ? img->familiar[t] : name,
                                               &repo, &tag);
                                json_builder_set_member_name(index, "annotations");
                                json_builder_begin_object(index);
                                json_build_string(index, ANNOTATION_IMAGE_NAME, name);
                                json_build_string(index, ANNOTATION_REF_NAME, tag);
                                json_builder_end_object(index);
                        }
                        json_builder_end_object(index);
                        if (!name)
                                break;
                }
        }
        json_builder_end_array(index);
        json_builder_end_object(index);
        index_json = builder_to_string(index, &size);
        return write_file(w, "index.json", index_json, size, e);
}

int image_archive_write(LayerStore *s, const ImageArchiveImage *images, size_t n_images,
                        ImageArchiveFormat format, int out_fd, ImageArchiveProgress progress, void *userdata,
                        BerthError *e)
{
        _cleanup_(archive_write_freep) struct archive *a = archive_write_new();
        _cleanup_(sha256_freep) Sha256 *hash = NULL;
        g_autoptr(GHashTable) written = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        Writer w = {
                .store = s,
                .progress = progress,
                .userdata = userdata,
        };
        int r;

        if (!a || sha256_new(&hash) < 0)
                return -ENOMEM;
        w.a = a;
        w.hash = hash;
        w.written = written;
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
                return berth_error_set(e, archive_error_to_errno(a), "Cannot write the archive: %s",
                                       archive_message(a));
        w.total = layers_total(&w, images, n_images);

        r = format == IMAGE_ARCHIVE_OCI ? write_oci(&w, images, n_images, e)
                                        : write_docker(&w, images, n_images, e);
        if (r < 0)
                return r;
        if (archive_write_close(a) != ARCHIVE_OK)
                return berth_error_set(e, archive_error_to_errno(a), "Cannot finish the archive: %s",
                                       archive_message(a));
        return 0;
}

/* ---- load --------------------------------------------------------------------------------------------- */

typedef struct Blob {
        GBytes *data;      /* kept in memory: small entries and JSON documents */
        char *link;        /* a symlink, to this entry (normalised) */
        char *tmp_name;    /* extracted into this temp dir of the layer store, not yet committed */
        char *committed;   /* the chain id it was first committed as */
        char *diff_id;     /* of the extracted layer */
        char *blob_digest; /* of the entry's bytes */
        uint64_t size;     /* uncompressed */
        char *error;       /* why the entry is not a layer */
        bool extracted;    /* an extraction was tried */
} Blob;

typedef struct Reader {
        LayerStore *store;
        struct archive *a;
        GHashTable *blobs; /* normalised name → Blob */
        uint64_t json_total, total;
        ImageArchiveProgress progress;
        void *userdata;
        uint8_t *buffer;
} Reader;

static void blob_free(Blob *b)
{
        if (b->data)
                g_bytes_unref(b->data);
        free(b->link);
        free(b->tmp_name);
        free(b->committed);
        free(b->diff_id);
        free(b->blob_digest);
        free(b->error);
        free(b);
}

/* "./a//b/../c" → "a/c"; NULL for names that climb out of the archive or are empty. */
static char *normalize(const char *name)
{
        g_auto(GStrv) parts = g_strsplit(name, "/", -1);
        g_autoptr(GPtrArray) out = g_ptr_array_new();

        for (char **p = parts; *p; p++) {
                if (isempty(*p) || streq(*p, "."))
                        continue;
                if (streq(*p, "..")) {
                        if (out->len == 0)
                                return NULL;
                        g_ptr_array_remove_index(out, out->len - 1);
                        continue;
                }
                g_ptr_array_add(out, *p);
        }
        if (out->len == 0)
                return NULL;
        g_ptr_array_add(out, NULL);
        return g_strjoinv("/", (char **) out->pdata);
}

static Blob *lookup(Reader *rd, const char *name)
{
        g_autofree char *n = normalize(name);

        for (int depth = 0; n && depth < LINK_DEPTH_MAX; depth++) {
                Blob *b = g_hash_table_lookup(rd->blobs, n);
                if (!b || !b->link)
                        return b;
                g_free(n);
                n = g_strdup(b->link);
        }
        return NULL;
}

static void report_progress(Reader *rd)
{
        if (rd->progress)
                rd->progress((uint64_t) MAX(archive_filter_bytes(rd->a, -1), 0), rd->total, rd->userdata);
}

typedef struct Extraction {
        char *tmp_name;
        int input_fd, result_fd;
        pid_t pid;
        bool input_broken; /* the extractor stopped reading: it failed, its report says why */
} Extraction;

static int extraction_start(Reader *rd, Extraction *x)
{
        _cleanup_close_ int diff_fd = -EBADF, record_fd = -EBADF;
        int r, flags;

        *x = (Extraction){ .input_fd = -EBADF, .result_fd = -EBADF };
        r = layer_store_begin(rd->store, &x->tmp_name, &diff_fd);
        if (r < 0)
                return r;
        r = layer_tar_record_create(rd->store, x->tmp_name, &record_fd);
        if (r >= 0)
                r = layer_extract_spawn_recorded(diff_fd, record_fd, true, &x->input_fd, &x->result_fd,
                                                 &x->pid);
        if (r < 0) {
                (void) layer_store_abort(rd->store, x->tmp_name);
                x->tmp_name = mfree(x->tmp_name);
                return r;
        }
        flags = fcntl(x->input_fd, F_GETFL);
        if (flags >= 0)
                (void) fcntl(x->input_fd, F_SETFL, flags & ~O_NONBLOCK);
        return 0;
}

static int extraction_feed(Extraction *x, const void *p, size_t n)
{
        int r;

        if (x->input_broken)
                return 0;
        r = write_full(x->input_fd, p, n);
        if (r == -EPIPE) {
                x->input_broken = true;
                return 0;
        }
        return r;
}

/* Waits for the extractor and fills in the blob: a layer in a temp dir, or the reason it is none. */
static int extraction_finish(Reader *rd, Extraction *x, Blob *b)
{
        _cleanup_berth_error_ BerthError err = BERTH_ERROR_INIT;
        LayerExtractResult res = {};
        int r;

        x->input_fd = safe_close(x->input_fd);
        r = layer_extract_wait(x->pid, x->result_fd, &err, &res);
        x->result_fd = safe_close(x->result_fd);
        b->extracted = true;
        if (r < 0) {
                (void) layer_store_abort(rd->store, x->tmp_name);
                x->tmp_name = mfree(x->tmp_name);
                b->error = strdup(berth_error_message(&err));
                /* A full disk is not a property of the entry. */
                return r == -ENOSPC || r == -EDQUOT ? r : 0;
        }
        b->tmp_name = TAKE_PTR(x->tmp_name);
        b->diff_id = strdup(res.diff_id);
        b->blob_digest = strdup(res.blob_digest);
        b->size = res.uncompressed_size;
        return b->diff_id && b->blob_digest ? 0 : -ENOMEM;
}

/* An entry kept in memory turns out to be a layer: extract it now. */
static int ensure_layer(Reader *rd, Blob *b)
{
        Extraction x;
        int r;

        if (b->extracted || !b->data)
                return 0;
        r = extraction_start(rd, &x);
        if (r < 0)
                return r;
        r = extraction_feed(&x, g_bytes_get_data(b->data, NULL), g_bytes_get_size(b->data));
        if (r < 0) {
                (void) kill(x.pid, SIGKILL);
                x.input_broken = true;
        }
        return extraction_finish(rd, &x, b) ?: r;
}

static bool looks_like_json(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
                        continue;
                return p[i] == '{' || p[i] == '[';
        }
        return false;
}

static int read_data(Reader *rd, void *buf, size_t n, size_t *ret, BerthError *e)
{
        la_ssize_t k = archive_read_data(rd->a, buf, n);

        if (k < 0)
                return berth_error_set(e, archive_error_to_errno(rd->a), "The archive is corrupt: %s",
                                       archive_message(rd->a));
        *ret = (size_t) k;
        return 0;
}

static int read_regular(Reader *rd, struct archive_entry *entry, Blob *b, BerthError *e)
{
        la_int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1;
        size_t n = 0;
        int r;

        r = read_data(rd, rd->buffer, IO_BUFFER_SIZE, &n, e);
        if (r < 0)
                return r;

        if (size >= 0 && ((uint64_t) size <= SMALL_ENTRY_MAX ||
                          ((uint64_t) size <= JSON_ENTRY_MAX && looks_like_json(rd->buffer, n)))) {
                g_autoptr(GByteArray) data = g_byte_array_sized_new((guint) size);

                if (rd->json_total + (uint64_t) size > JSON_TOTAL_MAX)
                        return berth_error_set(e, -EFBIG, "The archive has too many metadata files");
                rd->json_total += (uint64_t) size;
                while (n > 0) {
                        g_byte_array_append(data, rd->buffer, (guint) n);
                        r = read_data(rd, rd->buffer, IO_BUFFER_SIZE, &n, e);
                        if (r < 0)
                                return r;
                }
                b->data = g_byte_array_free_to_bytes(TAKE_PTR(data));
                return 0;
        }

        /* Anything else is a layer candidate: extract it as it streams by. */
        Extraction x;
        r = extraction_start(rd, &x);
        if (r < 0)
                return berth_error_set(e, r, "Cannot start extracting a layer: %s", strerror(-r));
        while (n > 0) {
                r = extraction_feed(&x, rd->buffer, n);
                if (r >= 0)
                        r = read_data(rd, rd->buffer, IO_BUFFER_SIZE, &n, e);
                if (r < 0) {
                        (void) kill(x.pid, SIGKILL);
                        (void) extraction_finish(rd, &x, b);
                        return berth_error_set(e, r, "Cannot read the archive: %s", strerror(-r));
                }
                report_progress(rd);
        }
        r = extraction_finish(rd, &x, b);
        if (r < 0)
                return berth_error_set(e, r, "Cannot extract a layer: %s", strerror(-r));
        return 0;
}

static int read_entries(Reader *rd, BerthError *e)
{
        unsigned count = 0;

        for (;;) {
                struct archive_entry *entry;
                g_autofree char *name = NULL;
                Blob *b;
                int r;

                r = archive_read_next_header(rd->a, &entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return berth_error_set(e, -EBADMSG, "Not a valid image archive: %s",
                                               archive_message(rd->a));
                if (++count > ARCHIVE_ENTRIES_MAX)
                        return berth_error_set(e, -EFBIG, "The archive has more than %u entries",
                                               ARCHIVE_ENTRIES_MAX);
                name = normalize(strempty(archive_entry_pathname(entry)));
                if (!name)
                        continue;
                if (archive_entry_filetype(entry) != AE_IFREG && archive_entry_filetype(entry) != AE_IFLNK &&
                    !archive_entry_hardlink(entry))
                        continue;

                /* A name that comes twice: the later entry wins, as in tar; the earlier one's layer goes. */
                b = g_hash_table_lookup(rd->blobs, name);
                if (b && b->tmp_name)
                        (void) layer_store_abort(rd->store, b->tmp_name);
                b = calloc(1, sizeof(*b));
                if (!b)
                        return -ENOMEM;
                g_hash_table_replace(rd->blobs, g_strdup(name), b);

                if (archive_entry_hardlink(entry)) {
                        b->link = normalize(archive_entry_hardlink(entry));
                        continue;
                }
                if (archive_entry_filetype(entry) == AE_IFLNK) {
                        g_autofree char *dir = g_path_get_dirname(name);
                        g_autofree char *target =
                                g_strdup_printf("%s/%s", dir, strempty(archive_entry_symlink(entry)));
                        b->link = normalize(target);
                        continue;
                }
                r = read_regular(rd, entry, b, e);
                if (r < 0)
                        return r;
                report_progress(rd);
        }
        return 0;
}

static GBytes *document(Reader *rd, const char *name, const char *what, BerthError *e)
{
        Blob *b = lookup(rd, name);

        if (!b || !b->data) {
                berth_error_set(e, -EBADMSG, "The archive lacks %s '%s'%s", what, name,
                                b ? " (or it is too large)" : "");
                return NULL;
        }
        return b->data;
}

/* A blob of an OCI layout, checked against its digest. */
static GBytes *oci_blob(Reader *rd, const char *digest, const char *what, BerthError *e)
{
        g_autofree char *name = NULL;
        _cleanup_free_ char *actual = NULL;
        GBytes *data;
        gsize size;
        const void *p;

        if (!digest_is_valid(digest) || !startswith(digest, "sha256:")) {
                berth_error_set(e, -EBADMSG, "Invalid digest '%s' of %s", digest, what);
                return NULL;
        }
        name = g_strdup_printf("blobs/sha256/%s", digest_hex(digest));
        data = document(rd, name, what, e);
        if (!data)
                return NULL;
        p = g_bytes_get_data(data, &size);
        if (sha256_digest_data(p, size, &actual) < 0 || !streq(actual, digest)) {
                berth_error_set(e, -EBADMSG, "The %s %s does not match its digest (it hashes to %s)", what,
                                digest, strna(actual));
                return NULL;
        }
        return data;
}

typedef struct Found {
        char *id;
        GBytes *config;
        char **names;
        char **diff_ids;
        Blob **layers;
} Found;

static void found_free(Found *f)
{
        free(f->id);
        if (f->config)
                g_bytes_unref(f->config);
        g_strfreev(f->names);
        g_strfreev(f->diff_ids);
        free(f->layers);
        free(f);
}

/* Checks a config and its layers (blobs, in order; layer_digests for OCI, NULL for docker-archive) and adds
 * the image to found (merging names when the same image comes twice). */
static int add_image(Reader *rd, GPtrArray *found, GBytes *config, char **names, Blob **layers,
                     char *const *layer_names, char *const *layer_digests, size_t n_layers, BerthError *e)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *cfg = NULL;
        _cleanup_berth_error_ BerthError perr = BERTH_ERROR_INIT;
        _cleanup_free_ char *id = NULL;
        gsize size;
        const void *p = g_bytes_get_data(config, &size);
        Found *f;
        int r;

        r = sha256_digest_data(p, size, &id);
        if (r < 0)
                return r;
        r = oci_image_config_parse(p, size, &perr, &cfg);
        if (r < 0)
                return berth_error_set(e, -EBADMSG, "Image %s has an invalid config: %s", id,
                                       berth_error_message(&perr));
        if (oci_image_config_n_diff_ids(cfg) != n_layers)
                return berth_error_set(e, -EBADMSG, "Image %s has %zu layers but its config lists %zu", id,
                                       n_layers, oci_image_config_n_diff_ids(cfg));
        for (size_t i = 0; i < n_layers; i++) {
                Blob *b = layers[i];

                r = ensure_layer(rd, b);
                if (r < 0)
                        return berth_error_set(e, r, "Cannot extract layer '%s': %s", layer_names[i],
                                               strerror(-r));
                if (!b->diff_id)
                        return berth_error_set(e, -EBADMSG,
                                               "Layer '%s' of image %s is not a valid layer: %s",
                                               layer_names[i], id, strna(b->error));
                if (layer_digests && !streq(b->blob_digest, layer_digests[i]))
                        return berth_error_set(
                                e, -EBADMSG,
                                "Layer %s of image %s does not match its digest (it hashes to "
                                "%s)",
                                layer_digests[i], id, b->blob_digest);
                if (!streq(b->diff_id, cfg->diff_ids[i]))
                        return berth_error_set(
                                e, -EBADMSG,
                                "Layer '%s' of image %s does not match the config: its diff id is "
                                "%s, the config says %s",
                                layer_names[i], id, b->diff_id, cfg->diff_ids[i]);
        }

        for (guint i = 0; i < found->len; i++) {
                f = found->pdata[i];
                if (!streq(f->id, id))
                        continue;
                for (char **n = names; n && *n; n++)
                        if (!g_strv_contains((const char *const *) f->names, *n)) {
                                guint len = g_strv_length(f->names);
                                f->names = g_renew(char *, f->names, len + 2);
                                f->names[len] = g_strdup(*n);
                                f->names[len + 1] = NULL;
                        }
                return 0;
        }
        f = g_new0(Found, 1);
        f->id = TAKE_PTR(id);
        f->config = g_bytes_ref(config);
        f->names = names ? g_strdupv(names) : g_new0(char *, 1);
        f->diff_ids = g_strdupv(cfg->diff_ids);
        f->layers = g_memdup2(layers, sizeof(Blob *) * MAX(n_layers, 1U));
        g_ptr_array_add(found, f);
        return 0;
}

static JsonNode *parse_json(GBytes *data, const char *what, BerthError *e)
{
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) error = NULL;
        gsize size;
        const char *p = g_bytes_get_data(data, &size);

        if (oci_json_check_text(p, size) < 0 ||
            !json_parser_load_from_data(parser, p, (gssize) size, &error)) {
                berth_error_set(e, -EBADMSG, "Invalid %s: %s", what, error ? error->message : "bad JSON");
                return NULL;
        }
        return json_node_copy(json_parser_get_root(parser));
}

static int read_docker_manifest(Reader *rd, GBytes *data, GPtrArray *found, BerthError *e)
{
        g_autoptr(JsonNode) root = parse_json(data, "manifest.json", e);
        JsonArray *images;
        int r;

        if (!root)
                return -EBADMSG;
        if (!JSON_NODE_HOLDS_ARRAY(root))
                return berth_error_set(e, -EBADMSG, "Invalid manifest.json: not an array");
        images = json_node_get_array(root);
        for (guint i = 0; i < json_array_get_length(images); i++) {
                JsonNode *n = json_array_get_element(images, i);
                g_auto(GStrv) tags = NULL, layer_names = NULL;
                g_autofree Blob **layers = NULL;
                const char *config_name = NULL;
                JsonObject *o;
                GBytes *config;
                size_t n_layers;

                if (!JSON_NODE_HOLDS_OBJECT(n))
                        return berth_error_set(e, -EBADMSG, "Invalid manifest.json: entry %u is no object",
                                               i);
                o = json_node_get_object(n);
                if (json_read_string(o, "Config", &config_name) < 0 || !config_name ||
                    json_read_strv_or_empty(o, "RepoTags", &tags) < 0 ||
                    json_read_strv_or_empty(o, "Layers", &layer_names) < 0)
                        return berth_error_set(e, -EBADMSG, "Invalid manifest.json: entry %u is incomplete",
                                               i);
                config = document(rd, config_name, "the config", e);
                if (!config)
                        return -EBADMSG;
                n_layers = g_strv_length(layer_names);
                layers = g_new0(Blob *, MAX(n_layers, 1U));
                for (size_t l = 0; l < n_layers; l++) {
                        layers[l] = lookup(rd, layer_names[l]);
                        if (!layers[l])
                                return berth_error_set(e, -EBADMSG, "The archive lacks layer '%s'",
                                                       layer_names[l]);
                }
                r = add_image(rd, found, config, tags, layers, layer_names, NULL, n_layers, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_oci_manifest(Reader *rd, const char *digest, const char *media_type, char **names,
                             GPtrArray *found, unsigned depth, BerthError *e)
{
        _cleanup_berth_error_ BerthError perr = BERTH_ERROR_INIT;
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        g_autofree Blob **layers = NULL;
        g_auto(GStrv) digests = NULL;
        GBytes *data, *config;
        gsize size;
        const void *p;
        int r;

        data = oci_blob(rd, digest, "manifest", e);
        if (!data)
                return -EBADMSG;
        p = g_bytes_get_data(data, &size);

        if (oci_document_kind_is_index(oci_document_kind_from_string(strempty(media_type)))) {
                _cleanup_(oci_index_freep) OciIndex *idx = NULL;
                const OciDescriptor *d;

                if (depth > 2)
                        return berth_error_set(e, -EBADMSG, "Indexes nested too deep in the archive");
                r = oci_index_parse(p, size, &perr, &idx);
                if (r < 0)
                        return berth_error_set(e, -EBADMSG, "Invalid index %s: %s", digest,
                                               berth_error_message(&perr));
                r = oci_index_pick_platform(idx, NULL, &d);
                if (r < 0)
                        return berth_error_set(e, -ENOEXEC, "The archive has no image for this platform");
                return read_oci_manifest(rd, d->digest, d->media_type, names, found, depth + 1, e);
        }

        r = oci_manifest_parse(p, size, &perr, &m);
        if (r < 0)
                return berth_error_set(e, -EBADMSG, "Invalid manifest %s: %s", digest,
                                       berth_error_message(&perr));
        config = oci_blob(rd, m->config.digest, "config", e);
        if (!config)
                return -EBADMSG;
        layers = g_new0(Blob *, MAX(m->n_layers, 1U));
        digests = g_new0(char *, m->n_layers + 1);
        for (size_t l = 0; l < m->n_layers; l++) {
                g_autofree char *name = g_strdup_printf("blobs/sha256/%s", digest_hex(m->layers[l].digest));

                digests[l] = g_strdup(m->layers[l].digest);
                layers[l] = lookup(rd, name);
                if (!layers[l])
                        return berth_error_set(e, -EBADMSG, "The archive lacks layer %s",
                                               m->layers[l].digest);
        }
        return add_image(rd, found, config, names, layers, digests, digests, m->n_layers, e);
}

static int read_oci_index(Reader *rd, GBytes *data, GPtrArray *found, BerthError *e)
{
        g_autoptr(JsonNode) root = parse_json(data, "index.json", e);
        JsonArray *manifests = NULL;
        int r;

        if (!root)
                return -EBADMSG;
        if (!JSON_NODE_HOLDS_OBJECT(root) ||
            json_read_array(json_node_get_object(root), "manifests", &manifests) < 0 || !manifests)
                return berth_error_set(e, -EBADMSG, "Invalid index.json: no manifests");
        for (guint i = 0; i < json_array_get_length(manifests); i++) {
                JsonNode *n = json_array_get_element(manifests, i);
                const char *digest = NULL, *media_type = NULL, *name = NULL;
                JsonObject *o, *annotations = NULL;
                char *names[2] = {};

                if (!JSON_NODE_HOLDS_OBJECT(n))
                        return berth_error_set(e, -EBADMSG, "Invalid index.json: entry %u is no object", i);
                o = json_node_get_object(n);
                if (json_read_string(o, "digest", &digest) < 0 || !digest ||
                    json_read_string(o, "mediaType", &media_type) < 0 ||
                    json_read_object(o, "annotations", &annotations) < 0)
                        return berth_error_set(e, -EBADMSG, "Invalid index.json: entry %u is incomplete", i);
                /* containerd's full name first; ref.name only when it is a name, not just a tag. */
                if (annotations && json_read_string(annotations, ANNOTATION_IMAGE_NAME, &name) >= 0 &&
                    isempty(name))
                        name = NULL;
                if (annotations && !name && json_read_string(annotations, ANNOTATION_REF_NAME, &name) >= 0 &&
                    name && !strpbrk(name, "/:"))
                        name = NULL;
                names[0] = (char *) name;
                r = read_oci_manifest(rd, digest, media_type, name ? names : NULL, found, 0, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void abort_all(Reader *rd)
{
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, rd->blobs);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                Blob *b = value;
                if (b->tmp_name)
                        (void) layer_store_abort(rd->store, b->tmp_name);
                b->tmp_name = mfree(b->tmp_name);
        }
}

static int feed_sink(const void *data, size_t size, void *userdata)
{
        return extraction_feed(userdata, data, size);
}

/* The same layer on top of another parent (the empty layer in several places of an image, say) is
 * another layer in the store: extract it once more, from memory or from the copy just committed. */
static int extract_again(Reader *rd, Blob *b, BerthError *e)
{
        _cleanup_berth_error_ BerthError se = BERTH_ERROR_INIT;
        Blob scratch = {};
        Extraction x;
        int r, k;

        r = extraction_start(rd, &x);
        if (r < 0)
                return berth_error_set(e, r, "Cannot start extracting a layer: %s", strerror(-r));
        if (b->data)
                r = extraction_feed(&x, g_bytes_get_data(b->data, NULL), g_bytes_get_size(b->data));
        else
                r = layer_tar_stream(rd->store, b->committed, feed_sink, &x, &se);
        if (r < 0) {
                (void) kill(x.pid, SIGKILL);
                x.input_broken = true;
        }
        k = extraction_finish(rd, &x, &scratch);
        if (r >= 0 && k >= 0 && (!scratch.diff_id || !streq(scratch.diff_id, b->diff_id)))
                r = -EBADMSG;
        if (r >= 0 && k < 0)
                r = k;
        if (r < 0) {
                if (scratch.tmp_name)
                        (void) layer_store_abort(rd->store, scratch.tmp_name);
                berth_error_set(e, r, "Cannot extract layer %s once more: %s", b->diff_id,
                                se.message ?: scratch.error ?: strerror(-r));
        } else
                b->tmp_name = TAKE_PTR(scratch.tmp_name);
        free(scratch.tmp_name);
        free(scratch.diff_id);
        free(scratch.blob_digest);
        free(scratch.error);
        return r;
}

/* Commits the layers of every image found, bottom up; on failure removes the ones this load added. */
static int commit_layers(Reader *rd, GPtrArray *found, ImageArchiveLoaded *out, BerthError *e)
{
        g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func(g_free);
        int r = 0;

        for (guint i = 0; i < found->len && r >= 0; i++) {
                Found *f = found->pdata[i];
                ImageArchiveLoaded *l = out + i;
                size_t n = g_strv_length(f->diff_ids);

                r = oci_chain_ids(f->diff_ids, &l->chain_ids);
                if (r < 0)
                        break;
                l->id = g_strdup(f->id);
                l->config = g_memdup2(g_bytes_get_data(f->config, &l->config_size),
                                      g_bytes_get_size(f->config) + 1);
                l->config[l->config_size] = 0;
                l->names = g_strdupv(f->names);
                l->diff_ids = g_strdupv(f->diff_ids);
                l->layer_sizes = g_new0(uint64_t, MAX(n, 1U));
                for (size_t k = 0; k < n && r >= 0; k++) {
                        Blob *b = f->layers[k];

                        l->layer_sizes[k] = b->size;
                        r = layer_store_has(rd->store, l->chain_ids[k]);
                        if (r != 0)
                                continue;
                        if (!b->tmp_name) {
                                r = extract_again(rd, b, e);
                                if (r < 0)
                                        break;
                        }
                        r = layer_store_commit(rd->store, b->tmp_name, l->chain_ids[k], b->diff_id,
                                               k > 0 ? l->chain_ids[k - 1] : NULL);
                        if (r < 0) {
                                berth_error_set(e, r, "Cannot store layer %s: %s", b->diff_id, strerror(-r));
                                break;
                        }
                        if (r == 0)
                                g_ptr_array_add(added, g_strdup(l->chain_ids[k]));
                        b->tmp_name = mfree(b->tmp_name);
                        if (!b->committed)
                                b->committed = g_strdup(l->chain_ids[k]);
                        r = 0;
                }
        }
        if (r < 0)
                for (guint i = added->len; i > 0; i--)
                        (void) layer_store_remove(rd->store, added->pdata[i - 1]);
        return r < 0 ? r : 0;
}

int image_archive_read(LayerStore *s, int in_fd, ImageArchiveProgress progress, void *userdata,
                       ImageArchiveLoaded **ret, size_t *ret_n, BerthError *e)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        g_autoptr(GHashTable) blobs =
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) blob_free);
        g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func((GDestroyNotify) found_free);
        _cleanup_free_ uint8_t *buffer = malloc(IO_BUFFER_SIZE);
        ImageArchiveLoaded *out = NULL;
        Reader rd = {
                .store = s,
                .a = a,
                .blobs = blobs,
                .progress = progress,
                .userdata = userdata,
                .buffer = buffer,
        };
        struct stat st;
        GBytes *doc;
        int r;

        if (!a || !buffer)
                return -ENOMEM;
        if (fstat(in_fd, &st) >= 0 && S_ISREG(st.st_mode))
                rd.total = (uint64_t) st.st_size;

        /* Built-in decoders only (ARCHIVE_WARN: an external program). */
        if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(a) != ARCHIVE_OK)
                return berth_error_set(e, -EOPNOTSUPP, "libarchive lacks tar, gzip or zstd support");
        (void) archive_read_support_filter_xz(a);
        if (archive_read_open_fd(a, in_fd, IO_BUFFER_SIZE) != ARCHIVE_OK)
                return berth_error_set(e, -EBADMSG, "Not a valid image archive: %s", archive_message(a));

        r = read_entries(&rd, e);
        if (r >= 0) {
                if ((doc = lookup(&rd, "manifest.json") ? lookup(&rd, "manifest.json")->data : NULL))
                        r = read_docker_manifest(&rd, doc, found, e);
                else if ((doc = lookup(&rd, "index.json") ? lookup(&rd, "index.json")->data : NULL))
                        r = read_oci_index(&rd, doc, found, e);
                else
                        r = berth_error_set(e, -EBADMSG,
                                            "Not a docker-archive or OCI image archive: it has neither "
                                            "manifest.json nor index.json");
        }
        if (r >= 0 && found->len == 0)
                r = berth_error_set(e, -EBADMSG, "The archive holds no image");
        if (r >= 0) {
                out = g_new0(ImageArchiveLoaded, found->len);
                r = commit_layers(&rd, found, out, e);
        }
        abort_all(&rd);
        if (r < 0) {
                for (guint i = 0; out && i < found->len; i++)
                        image_archive_loaded_done(out + i);
                g_free(out);
                return r;
        }
        *ret = out;
        *ret_n = found->len;
        return 0;
}

/* ---- the child's answer ------------------------------------------------------------------------------- */

int image_archive_loaded_to_json(const ImageArchiveLoaded *l, size_t n, char **ret, size_t *ret_size)
{
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_array(b);
        for (size_t i = 0; i < n; i++) {
                json_builder_begin_object(b);
                json_build_string(b, "id", l[i].id);
                json_build_string(b, "config", l[i].config);
                json_build_strv(b, "names", l[i].names);
                json_build_strv(b, "diff_ids", l[i].diff_ids);
                json_build_strv(b, "chain_ids", l[i].chain_ids);
                json_builder_set_member_name(b, "sizes");
                json_builder_begin_array(b);
                for (size_t k = 0; l[i].diff_ids && l[i].diff_ids[k]; k++)
                        json_builder_add_int_value(b, (gint64) l[i].layer_sizes[k]);
                json_builder_end_array(b);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        *ret = builder_to_string(b, ret_size);
        return *ret ? 0 : -ENOMEM;
}

static int loaded_from_json(JsonNode *node, ImageArchiveLoaded *l)
{
        JsonArray *sizes = NULL;
        JsonObject *o;
        size_t k;

        if (!JSON_NODE_HOLDS_OBJECT(node))
                return -EBADMSG;
        o = json_node_get_object(node);
        if (json_read_string_dup(o, "id", &l->id) < 0 || json_read_string_dup(o, "config", &l->config) < 0 ||
            json_read_strv_or_empty(o, "names", &l->names) < 0 ||
            json_read_strv_or_empty(o, "diff_ids", &l->diff_ids) < 0 ||
            json_read_strv_or_empty(o, "chain_ids", &l->chain_ids) < 0 ||
            json_read_array(o, "sizes", &sizes) < 0 || !l->id || !l->config || !sizes)
                return -EBADMSG;
        l->config_size = strlen(l->config);
        k = g_strv_length(l->diff_ids);
        if (g_strv_length(l->chain_ids) != k || json_array_get_length(sizes) != k)
                return -EBADMSG;
        l->layer_sizes = g_new0(uint64_t, MAX(k, 1U));
        for (size_t j = 0; j < k; j++)
                l->layer_sizes[j] = (uint64_t) json_array_get_int_element(sizes, (guint) j);
        return 0;
}

int image_archive_loaded_from_json(const char *data, size_t size, ImageArchiveLoaded **ret, size_t *ret_n)
{
        g_autoptr(JsonParser) parser = json_parser_new();
        ImageArchiveLoaded *out;
        JsonArray *a;
        guint n;

        if (!json_parser_load_from_data(parser, data, (gssize) size, NULL) ||
            !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(parser)))
                return -EBADMSG;
        a = json_node_get_array(json_parser_get_root(parser));
        n = json_array_get_length(a);
        out = g_new0(ImageArchiveLoaded, MAX(n, 1U));
        for (guint i = 0; i < n; i++)
                if (loaded_from_json(json_array_get_element(a, i), out + i) < 0) {
                        for (guint k = 0; k <= i; k++)
                                image_archive_loaded_done(out + k);
                        g_free(out);
                        return -EBADMSG;
                }
        *ret = out;
        *ret_n = n;
        return 0;
}
