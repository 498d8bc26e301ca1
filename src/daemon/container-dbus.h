/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/bus-object.h"
#include "daemon/container.h"
#include "daemon/manager.h"

/* org.berth1.Container objects, and the container methods of org.berth1.Manager (listed in
 * manager_vtable, implemented here). */
extern const BusObjectImplementation container_object;

/* The methods of org.berth1.Container; userdata is the Container. */
int bus_container_method_start(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_stop(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_kill(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_attach(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_resize(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_commit(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_restart(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_pause(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_unpause(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_wait(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_update(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_top(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_rename(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_rename_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_get_stats(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_top_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_update_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_restart_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_pause_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_unpause_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_wait_container(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* The Manager's: the by-name forms (StartContainer, …) redirect to the methods above. */
int bus_method_create_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_run_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_start_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_stop_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_kill_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_remove_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_list_containers(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_get_container(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* CommitContainer: arguments, options, polkit; the work is container_commit() (container-commit.c). */
int bus_method_commit_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
/* AttachContainer and ResizeContainer: the socket work is in container-attach.c. */
int bus_method_attach_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_exec_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_resize_container(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* Hooks for the model (container.c, container-run.c, container-commit.c), which builds no bus message
 * itself. container_send_signal() sends ContainerNew or ContainerRemoved. A start's waiters (Start,
 * StartContainer, RunContainer) get container_send_start_reply(), whose shape depends on the method;
 * a stop's (Stop, StopContainer, a forced Remove) container_send_exit_reply(); a commit's
 * container_send_commit_reply() with the new image's id. e is NULL on success. */
void container_send_signal(Container *c, bool new_container);
/* PropertiesChanged of Containers and Endpoints on the objects of c's networks (network-dbus.c). */
void container_send_networks_changed(Container *c);
void container_send_start_reply(Container *c, sd_bus_message *call, const BerthError *e);
void container_send_exit_reply(sd_bus_message *call, int exit_code, const BerthError *e);
void container_send_commit_reply(sd_bus_message *call, const char *image_id, const BerthError *e);
/* Pause's and Unpause's answer, when systemd has frozen or thawed the scope. Wait's is
 * container_send_exit_reply(), with the exit code. */
void container_send_pause_reply(sd_bus_message *call, const BerthError *e);
/* GetStats' answer, picked from systemd's (an error is passed on), with the network counters (UINT64_MAX:
 * not known). */
void container_send_stats_reply(sd_bus_message *call, sd_bus_message *systemd_reply, uint64_t net_rx,
                                uint64_t net_tx);
/* Top's answer: n processes, pids[i] running commands[i]. */
void container_send_top_reply(sd_bus_message *call, const BerthError *e, const uint32_t *pids,
                              const char *const *commands, size_t n);
