/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-fork-server: started by berthd, forks its layer extraction and syncfs children (fork-server.h). */
#include "shared/log.h"
#include "store/fork-server.h"

int main(void)
{
        log_parse_environment();
        return fork_server_main();
}
