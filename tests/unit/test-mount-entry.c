/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib.h>

#include "runtime/mount-entry.h"

typedef int (*Parser)(const char *, MountEntry *);

/* Parses s and gives the canonical --mount string, or NULL when refused. */
static char *canon(Parser p, const char *s)
{
        MountEntry m = {};
        char *out;

        if (p(s, &m) < 0)
                return NULL;
        out = mount_entry_format(&m);
        mount_entry_done(&m);
        return out;
}

static void check(Parser p, const char *in, const char *want)
{
        g_autofree char *got = canon(p, in);
        g_assert_cmpstr(got, ==, want);
}

static void test_volume_flag(void)
{
        check(mount_entry_parse_volume, "pgdata:/var/lib/pg",
              "type=volume,source=pgdata,target=/var/lib/pg");
        check(mount_entry_parse_volume, "pgdata:/db:ro", "type=volume,source=pgdata,target=/db,readonly");
        check(mount_entry_parse_volume, "pgdata:/db:rw", "type=volume,source=pgdata,target=/db");
        check(mount_entry_parse_volume, "/srv/x/:/x//y/",
              "type=bind,source=/srv/x,target=/x/y,bind-create-src");
        check(mount_entry_parse_volume, "/srv:/s:ro",
              "type=bind,source=/srv,target=/s,readonly,bind-create-src");
        check(mount_entry_parse_volume, "pg:/db:nocopy", "type=volume,source=pg,target=/db,volume-nocopy");
        check(mount_entry_parse_volume, "pg:/db:ro,nocopy",
              "type=volume,source=pg,target=/db,readonly,volume-nocopy");
        check(mount_entry_parse_volume, "/srv:/s:nocopy", NULL); /* volumes only */
        check(mount_entry_parse_volume, "pg:/db:ro,rw", NULL);
        check(mount_entry_parse_volume, "pg:/db:nocopy,nocopy", NULL);
        check(mount_entry_parse_volume, "/data", "type=volume,target=/data");
        /* Refused: relative or root targets, "..", bad names, unknown modes, too many parts. */
        check(mount_entry_parse_volume, "data", NULL);
        check(mount_entry_parse_volume, "v:data", NULL);
        check(mount_entry_parse_volume, "v:/", NULL);
        check(mount_entry_parse_volume, "v:/a/../b", NULL);
        check(mount_entry_parse_volume, "/a/../etc:/b", NULL);
        check(mount_entry_parse_volume, "-v:/b", NULL);
        check(mount_entry_parse_volume, "a/b:/b", NULL);
        check(mount_entry_parse_volume, "v:/b:rx", NULL);
        check(mount_entry_parse_volume, "v:/b:ro:z", NULL);
        check(mount_entry_parse_volume, "", NULL);
}

static void test_mount_flag(void)
{
        check(mount_entry_parse_mount, "type=bind,source=/srv,target=/srv,readonly",
              "type=bind,source=/srv,target=/srv,readonly");
        check(mount_entry_parse_mount, "type=bind,src=/srv,dst=/s,ro=true",
              "type=bind,source=/srv,target=/s,readonly");
        check(mount_entry_parse_mount, "src=v,destination=/d,readonly=false",
              "type=volume,source=v,target=/d");
        check(mount_entry_parse_mount, "type=volume,target=/anon", "type=volume,target=/anon");
        check(mount_entry_parse_mount, "type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=700",
              "type=tmpfs,target=/run,tmpfs-size=67108864,tmpfs-mode=700");
        check(mount_entry_parse_mount, "type=tmpfs,target=/t", "type=tmpfs,target=/t,tmpfs-mode=1777");
        check(mount_entry_parse_mount, "type=volume,src=v,dst=/d,volume-nocopy",
              "type=volume,source=v,target=/d,volume-nocopy");
        check(mount_entry_parse_mount, "type=volume,src=v,dst=/d,volume-nocopy=false",
              "type=volume,source=v,target=/d");
        check(mount_entry_parse_mount, "type=bind,src=/a,dst=/b,bind-create-src",
              "type=bind,source=/a,target=/b,bind-create-src");
        check(mount_entry_parse_mount, "type=bind,src=/a,dst=/b,volume-nocopy", NULL);
        check(mount_entry_parse_mount, "type=volume,src=v,dst=/b,bind-create-src", NULL);
        check(mount_entry_parse_mount, "type=tmpfs,dst=/b,volume-nocopy", NULL);
        check(mount_entry_parse_mount, "type=nfs,target=/t", NULL);
        check(mount_entry_parse_mount, "type=bind,target=/t", NULL); /* a bind needs a source */
        check(mount_entry_parse_mount, "type=bind,src=rel,dst=/t", NULL);
        check(mount_entry_parse_mount, "type=tmpfs,src=x,dst=/t", NULL);
        check(mount_entry_parse_mount, "type=volume,src=v,dst=/t,tmpfs-size=1k", NULL);
        check(mount_entry_parse_mount, "type=volume,src=v,dst=/t,bogus", NULL);
        check(mount_entry_parse_mount, "type=volume,src=v,dst=/t,ro=maybe", NULL);
        check(mount_entry_parse_mount, "type=tmpfs,dst=/t,tmpfs-mode=99", NULL);
        check(mount_entry_parse_mount, "type=tmpfs,dst=/t,tmpfs-size=12q", NULL);
        check(mount_entry_parse_mount, "type=volume,src=v", NULL);
}

static void test_tmpfs_flag(void)
{
        check(mount_entry_parse_tmpfs, "/run", "type=tmpfs,target=/run,tmpfs-mode=1777");
        check(mount_entry_parse_tmpfs, "/run:size=1m,mode=1770,noexec",
              "type=tmpfs,target=/run,tmpfs-size=1048576,tmpfs-mode=1770");
        check(mount_entry_parse_tmpfs, "/run:ro", "type=tmpfs,target=/run,readonly,tmpfs-mode=1777");
        check(mount_entry_parse_tmpfs, "/run:exec", NULL);
        check(mount_entry_parse_tmpfs, "run", NULL);
}

static void test_round_trip(void)
{
        const char *in[] = { "type=bind,source=/srv,target=/srv,readonly", "type=volume,source=v,target=/d",
                             "type=volume,source=v,target=/d,readonly,volume-nocopy",
                             "type=bind,source=/a,target=/b,bind-create-src",
                             "type=tmpfs,target=/run,tmpfs-size=1048576,tmpfs-mode=700" };

        for (size_t i = 0; i < G_N_ELEMENTS(in); i++)
                check(mount_entry_parse_mount, in[i], in[i]);
}

static void test_volume_names(void)
{
        g_assert_true(volume_name_is_valid("pgdata"));
        g_assert_true(volume_name_is_valid("a.b_c-1"));
        g_assert_false(volume_name_is_valid(""));
        g_assert_false(volume_name_is_valid(".hidden"));
        g_assert_false(volume_name_is_valid("a/b"));
        g_assert_false(volume_name_is_valid(".."));
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/mount-entry/volume-flag", test_volume_flag);
        g_test_add_func("/mount-entry/mount-flag", test_mount_flag);
        g_test_add_func("/mount-entry/tmpfs-flag", test_tmpfs_flag);
        g_test_add_func("/mount-entry/round-trip", test_round_trip);
        g_test_add_func("/mount-entry/volume-names", test_volume_names);
        return g_test_run();
}
