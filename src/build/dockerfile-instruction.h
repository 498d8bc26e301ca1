/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to src/build: one instruction's parsing (dockerfile-instruction.c), which dockerfile.c calls for
 * each logical line and dockerfile_parse_trigger() for an ONBUILD trigger. */

#include "build/dockerfile.h"

/* Go's unicode.IsSpace, for the ASCII range. */
static inline bool dockerfile_is_space(char c)
{
        return c != 0 && strchr(" \t\n\v\f\r", c);
}

/* One logical line (continuations joined, no line ends) into ins, whose line numbers the caller sets. On
 * failure ins may hold parts: dockerfile_instruction_done() it. Errors carry no "Dockerfile:LINE: ". */
int dockerfile_instruction_parse(const char *line, char escape, DockerfileInstruction *ins, BerthError *e);

/* Frees what ins holds and zeroes it (not ins itself: instructions live in Dockerfile's array). */
void dockerfile_instruction_done(DockerfileInstruction *i);
