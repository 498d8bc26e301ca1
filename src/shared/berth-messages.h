/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* MESSAGE_ID= values of the daemon's lifecycle events. Each one has an entry in docs/berth.catalog and a line
 * in docs/journal.md; never reuse or change one. */
#define BERTH_MESSAGE_DAEMON_STARTED "74668267a41b46da96214f267c6d8f40"
#define BERTH_MESSAGE_DAEMON_STOPPED "cbcf9a8681d9465aa48ce6cc61280b24"
#define BERTH_MESSAGE_IMAGE_PULLED "54e978dde57d4c5f943d3b01985dc16a"
#define BERTH_MESSAGE_IMAGE_PULL_FAILED "7ece6e06d3b84c7ba68c7e55d36efc44"
#define BERTH_MESSAGE_IMAGE_REMOVED "8a165b99011d4dc39527df40195dd6b7"
#define BERTH_MESSAGE_IMAGE_UNTAGGED "68181f2272354bb597f199244862f251"
#define BERTH_MESSAGE_CONTAINER_STARTED "d007a6c1e00e44acae2a743b2d43f358"
#define BERTH_MESSAGE_CONTAINER_EXITED "e892b303863a4f5f9cfa2c49aad7ec9b"
#define BERTH_MESSAGE_CONTAINER_REMOVED "9d1a624329234dddb6b15fa46cf86329"
