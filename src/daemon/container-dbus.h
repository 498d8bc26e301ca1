/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/manager.h"

/* org.berth1.Container objects, and the container methods of org.berth1.Manager (listed in
 * manager_vtable, implemented here). */
int bus_container_register(Manager *m);

/* The methods of org.berth1.Container; userdata is the Container. */
int bus_container_method_start(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_stop(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_kill(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_attach(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_resize(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_container_method_commit(sd_bus_message *message, void *userdata, sd_bus_error *error);

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
int bus_method_resize_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
