/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

#include "berthctl.h"
#include "shared/berth-errors.h"

static sd_bus *bus = NULL;
static pid_t agent_pid = 0;

int bus_get(sd_bus **ret)
{
        int r;

        if (!bus) {
                const char *address = getenv("BERTH_BUS_ADDRESS");

                if (address) {
                        r = sd_bus_new(&bus);
                        if (r >= 0)
                                r = sd_bus_set_address(bus, address);
                        if (r >= 0)
                                r = sd_bus_set_bus_client(bus, true);
                        if (r >= 0)
                                r = sd_bus_start(bus);
                } else
                        r = sd_bus_open_system(&bus);
                if (r < 0) {
                        fprintf(stderr, "Error: cannot connect to the system bus: %s\n", strerror(-r));
                        bus = sd_bus_unref(bus);
                        return r;
                }
                (void) sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        }
        *ret = bus;
        return 0;
}

static const struct {
        const char *name;
        const char *words;
} error_words[] = {
        { BERTH_ERROR_NO_SUCH_IMAGE, "No such image" },
        { BERTH_ERROR_NO_SUCH_CONTAINER, "No such container" },
        { BERTH_ERROR_NO_SUCH_TRANSFER, "No such transfer" },
        { BERTH_ERROR_NAME_IN_USE, "Name already in use" },
        { BERTH_ERROR_INVALID_REFERENCE, "Invalid image reference" },
        { BERTH_ERROR_INVALID_NAME, "Invalid name" },
        { BERTH_ERROR_IMAGE_IN_USE, "Image is in use" },
        { BERTH_ERROR_CONTAINER_RUNNING, "Container is running" },
        { BERTH_ERROR_CONTAINER_NOT_RUNNING, "Container is not running" },
        { BERTH_ERROR_REGISTRY_ERROR, "Registry error" },
        { BERTH_ERROR_MANIFEST_UNKNOWN, "Manifest unknown" },
        { BERTH_ERROR_UNAUTHORIZED, "Unauthorized" },
        { BERTH_ERROR_DIGEST_MISMATCH, "Digest mismatch" },
        { BERTH_ERROR_NO_MATCHING_PLATFORM, "No matching platform" },
        { BERTH_ERROR_INVALID_IMAGE, "Invalid image" },
        { BERTH_ERROR_TRANSFER_CANCELLED, "Cancelled" },
        { BERTH_ERROR_NO_SUCH_NETWORK, "No such network" },
        { BERTH_ERROR_NETWORK_IN_USE, "Network is in use" },
        { BERTH_ERROR_SUBNET_IN_USE, "Subnet is in use" },
        { SD_BUS_ERROR_ACCESS_DENIED, "Permission denied" },
        { SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, "Authentication required" },
        { SD_BUS_ERROR_SERVICE_UNKNOWN, "berthd is not available" },
        { SD_BUS_ERROR_NO_REPLY, "berthd did not answer" },
        { SD_BUS_ERROR_INVALID_ARGS, "Invalid argument" },
        { SD_BUS_ERROR_UNKNOWN_METHOD, "Not supported by this berthd" },
};

int log_bus_error(const sd_bus_error *error, int r)
{
        const char *words = NULL;

        if (error && sd_bus_error_is_set(error)) {
                for (size_t i = 0; i < ELEMENTSOF(error_words); i++)
                        if (streq(error->name, error_words[i].name))
                                words = error_words[i].words;
                if (words && error->message)
                        fprintf(stderr, "Error: %s: %s\n", words, error->message);
                else
                        fprintf(stderr, "Error: %s\n", error->message ?: words ?: error->name);
                return sd_bus_error_get_errno(error) > 0 ? -sd_bus_error_get_errno(error) : -EIO;
        }
        fprintf(stderr, "Error: %s\n", strerror(r < 0 ? -r : r));
        return r < 0 ? r : -r;
}

int manager_new_call(const char *member, sd_bus_message **ret)
{
        sd_bus *b;
        int r;

        r = bus_get(&b);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(b, ret, "org.berth1", "/org/berth1", "org.berth1.Manager",
                                           member);
        if (r < 0)
                return log_bus_error(NULL, r);
        return 0;
}

int manager_call_message_quiet(sd_bus_message *m, sd_bus_error *error, sd_bus_message **ret_reply)
{
        polkit_agent_open_if_enabled();
        /* No timeout when a human may be typing a password into the agent. */
        return sd_bus_call(sd_bus_message_get_bus(m), m, arg_ask_password ? UINT64_MAX - 1 : 0, error,
                           ret_reply);
}

int manager_call_message(sd_bus_message *m, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = manager_call_message_quiet(m, &error, ret_reply);
        if (r < 0)
                return log_bus_error(&error, r);
        return 0;
}

int manager_call(const char *member, sd_bus_message **ret_reply, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = manager_new_call(member, &m);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return log_bus_error(NULL, r);
        }
        return manager_call_message(m, ret_reply);
}

int manager_call_quiet(const char *member, uint64_t timeout_usec, sd_bus_error *error,
                       sd_bus_message **ret_reply, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = manager_new_call(member, &m);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        polkit_agent_open_if_enabled();
        /* No timeout when a human may be typing a password into the agent. */
        return sd_bus_call(sd_bus_message_get_bus(m), m, arg_ask_password ? UINT64_MAX - 1 : timeout_usec,
                           error, ret_reply);
}

int manager_call_each(const char *member, char *const *names, const char *done_prefix, const char *types,
                      ...)
{
        int ret = EXIT_OK;

        for (char *const *name = names; *name; name++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                va_list ap;
                int r;

                r = manager_new_call(member, &m);
                if (r < 0)
                        return EXIT_ERROR;
                r = sd_bus_message_append(m, "s", *name);
                if (r >= 0 && types) {
                        va_start(ap, types);
                        r = sd_bus_message_appendv(m, types, ap);
                        va_end(ap);
                }
                if (r < 0) {
                        log_bus_error(NULL, r);
                        return EXIT_ERROR;
                }
                if (manager_call_message(m, NULL) < 0)
                        ret = EXIT_ERROR;
                else
                        printf("%s%s\n", done_prefix, *name);
        }
        return ret;
}

int parse_force_option(int argc, char *argv[], bool *ret_force)
{
        int c;

        static const struct option options[] = { { "force", no_argument, NULL, 'f' }, {} };
        *ret_force = false;
        while ((c = getopt_long(argc, argv, "f", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        *ret_force = true;
                        break;
                default:
                        return -EINVAL;
                }
        return 0;
}

bool confirm(const char *warning)
{
        char line[64];

        printf("WARNING! %s\nAre you sure you want to continue? [y/N] ", warning);
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
                return false;
        line[strcspn(line, "\r\n")] = 0;
        return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

int verb_remove_each(int argc, char *argv[], const char *verb, const char *what, const char *method,
                     const char *done_prefix)
{
        bool force;

        if (parse_force_option(argc, argv, &force) < 0)
                return EXIT_USAGE;
        if (optind >= argc) {
                fprintf(stderr, "berthctl %s: at least one %s is needed.\n", verb, what);
                return EXIT_USAGE;
        }
        return manager_call_each(method, argv + optind, done_prefix, "b", (int) force);
}

int bus_get_manager_property_string(const char *property, char **ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *b;
        int r;

        r = bus_get(&b);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(b, "org.berth1", "/org/berth1", "org.berth1.Manager", property,
                                       &error, ret);
        if (r < 0)
                return log_bus_error(&error, r);
        return 0;
}

void polkit_agent_open_if_enabled(void)
{
        char notify_fd_str[16];
        int pipe_fd[2];
        pid_t pid;

        /* Like systemctl: only when we may ask, are not root, and have a terminal to ask on. */
        if (!arg_ask_password || agent_pid > 0 || geteuid() == 0 || !isatty(STDIN_FILENO) ||
            getenv("BERTH_BUS_ADDRESS"))
                return;
        if (access("/usr/bin/pkttyagent", X_OK) < 0)
                return;
        if (pipe2(pipe_fd, 0) < 0)
                return;

        pid = fork();
        if (pid < 0) {
                close(pipe_fd[0]);
                close(pipe_fd[1]);
                return;
        }
        if (pid == 0) {
                close(pipe_fd[0]);
                snprintf(notify_fd_str, sizeof(notify_fd_str), "%d", pipe_fd[1]);
                char pid_str[16];
                snprintf(pid_str, sizeof(pid_str), "%d", (int) getppid());
                execl("/usr/bin/pkttyagent", "pkttyagent", "--notify-fd", notify_fd_str, "--fallback",
                      "--process", pid_str, NULL);
                _exit(127);
        }
        agent_pid = pid;
        close(pipe_fd[1]);
        /* Wait until the agent is registered (it closes the notify fd), so our call finds it. */
        struct pollfd p = { .fd = pipe_fd[0], .events = POLLIN };
        (void) poll(&p, 1, 5000);
        close(pipe_fd[0]);
}

void polkit_agent_close(void)
{
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) waitpid(agent_pid, NULL, 0);
        agent_pid = 0;
}
