/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /etc/berth/berth.conf. Root writes it, but a typo must give an error, not a crash at daemon start. The
 * loader takes a path, so the input goes into a memfd opened as /proc/self/fd/N. Whatever loads must answer
 * every query. */
#include <sys/mman.h>

#include "fuzz.h"
#include "registry/registry-config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const domains[] = { "docker.io", "127.0.0.1:5000", "quay.io", "reg.example",
                                               "localhost" };
        _cleanup_(registry_config_freep) RegistryConfig *c = NULL;
        _cleanup_close_ int fd = -EBADF;
        char path[64];

        fd = memfd_create("berth.conf", MFD_CLOEXEC);
        fuzz_check(fd >= 0);
        fuzz_check(size == 0 || write(fd, data, size) == (ssize_t) size);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

        if (registry_config_load(path, &c) < 0) {
                fuzz_check(!c);
                return 0;
        }
        fuzz_check(registry_config_get_default_domain(c));
        fuzz_check(registry_config_get_max_concurrent_downloads(c) > 0);
        fuzz_check(registry_config_get_max_attempts(c) > 0);
        (void) registry_config_get_retry_delay_usec(c);

        for (size_t i = 0; i < ELEMENTSOF(domains); i++) {
                char **endpoints = NULL;
                const char *u, *p;

                (void) registry_config_is_insecure(c, domains[i]);
                (void) registry_config_get_ca_file(c, domains[i]);
                (void) registry_config_get_search_url(c, domains[i]);
                (void) registry_config_get_credentials(c, domains[i], &u, &p);
                if (registry_config_get_endpoints(c, domains[i], &endpoints) == 0) {
                        fuzz_check(endpoints && endpoints[0]);
                        STRV_FOREACH (e, endpoints)
                                free(*e);
                        free(endpoints);
                }
        }
        /* The default domain must itself be usable as a registry domain. */
        {
                char **endpoints = NULL;

                if (registry_config_get_endpoints(c, registry_config_get_default_domain(c), &endpoints) ==
                    0) {
                        STRV_FOREACH (e, endpoints)
                                free(*e);
                        free(endpoints);
                }
        }
        return 0;
}
