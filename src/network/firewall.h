/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "network/subnet.h"

/* berth's firewall rules, through libnftables, all in the one table berth owns: `table ip berth`. Nothing
 * else's table, chain or rule is ever touched, so a host firewall (firewalld, a plain nftables ruleset,
 * Docker's iptables-nft rules) keeps working beside it.
 *
 * The table is replaced whole in one transaction ("add table; delete table; table { … }"), so applying it
 * again (berthd restarted, the bridge's settings changed) never duplicates a rule, and a reader never sees
 * it half made. */
#define FIREWALL_TABLE "berth"

/* Outbound NAT: traffic from subnet leaving through any interface but bridge is masqueraded. */
int firewall_apply(const char *bridge, const Subnet *subnet);
/* The table gone; 0 if it was not there. */
int firewall_remove(void);
