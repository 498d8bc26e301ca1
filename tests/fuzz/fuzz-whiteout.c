/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Layer entry names, straight from a hostile tar: the safety check and the whiteout classification that
 * decide where layer_extract() creates whiteout devices and opaque markers. Invariant: a name the safety
 * check accepts never yields a whiteout whose directory or name leaves the layer (absolute, "..", a '/'
 * inside NAME, an empty NAME). */
#include "fuzz.h"
#include "store/layer-extract.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

static bool has_dotdot_component(const char *p)
{
        for (const char *c = p; *c;) {
                size_t l = strcspn(c, "/");

                if (l == 2 && c[0] == '.' && c[1] == '.')
                        return true;
                c += l;
                c += strspn(c, "/");
        }
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *path = fuzz_strndup(data, size), *dir = NULL, *name = NULL;
        bool safe;
        int kind;

        safe = layer_path_is_safe(path);
        if (safe)
                fuzz_check(path[0] != '/' && !has_dotdot_component(path));

        kind = layer_entry_classify(path, &dir, &name);
        fuzz_check(kind == -EBADMSG || (kind >= LAYER_ENTRY_ORDINARY && kind <= LAYER_ENTRY_AUFS_META));
        switch (kind) {
        case LAYER_ENTRY_WHITEOUT:
                fuzz_check(name && *name && !strchr(name, '/'));
                fuzz_check(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
                __attribute__((fallthrough));
        case LAYER_ENTRY_OPAQUE:
                fuzz_check(dir);
                if (safe)
                        fuzz_check(*dir && layer_path_is_safe(dir));
                break;
        default:
                fuzz_check(!dir && !name);
        }
        return 0;
}
