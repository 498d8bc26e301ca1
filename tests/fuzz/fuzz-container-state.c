/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* state.json of a container: written by berthd and berth-monitor, read by berthd at every start (a torn or
 * hand-edited file must not keep the daemon from coming up). The input is loaded from a memfd; a state that
 * loads is saved (atomically, into a private dir on /dev/shm) and must load back equal. */
#include <fcntl.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "runtime/container-state.h"
#include "shared/fs-util.h"

static char dir[] = "/dev/shm/berth-fuzz-state-XXXXXX";
static char state_path[sizeof(dir) + 16];

static void cleanup_dir(void)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        /* The state and the page kept beside it for a full disk (".state.json.spare",
         * write_file_reserved_at()): left behind, it kept the directory from going, one a run. */
        if (fd >= 0)
                (void) remove_entries_at(fd, "");
        (void) rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_setup_logging();
        fuzz_check(mkdtemp(dir));
        snprintf(state_path, sizeof(state_path), "%s/state.json", dir);
        atexit(cleanup_dir);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(container_state_done) ContainerState s = CONTAINER_STATE_INIT,
                                                       again = CONTAINER_STATE_INIT;
        _cleanup_close_ int fd = -EBADF;
        char path[64];

        fd = memfd_create("state.json", MFD_CLOEXEC);
        fuzz_check(fd >= 0);
        fuzz_check(size == 0 || write(fd, data, size) == (ssize_t) size);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

        if (container_state_load(path, &s) < 0)
                return 0;
        fuzz_check(container_status_to_string(s.status));

        fuzz_check(container_state_save(state_path, &s) == 0);
        fuzz_check(container_state_load(state_path, &again) == 0);
        fuzz_check(s.status == again.status);
        fuzz_check(s.monitor_pid == again.monitor_pid && s.pid == again.pid);
        fuzz_check(s.started_usec == again.started_usec && s.finished_usec == again.finished_usec);
        fuzz_check(s.exit_code == again.exit_code && s.exit_signal == again.exit_signal);
        fuzz_check(streq_ptr(s.error, again.error));
        return 0;
}
