/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Linked with one whole subsystem library and nothing but what it declares (src/meson.build): it builds only
 * if no object of that library calls into a layer above it. */
int main(void)
{
        return 0;
}
