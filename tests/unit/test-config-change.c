/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The `commit --change` lines (oci/config-change.c), against Docker's rules. */
#include <glib.h>

#include "oci/config-change.h"
#include "shared/macro.h"

static OciImageConfig *config_new(void)
{
        static const char json[] = "{\"config\":{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Cmd\":[\"sh\"],"
                                   "\"WorkingDir\":\"/srv\",\"Labels\":{\"k\":\"old\"}},"
                                   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
        OciImageConfig *c = NULL;
        g_assert_cmpint(oci_image_config_parse(json, sizeof(json) - 1, NULL, &c), ==, 0);
        return c;
}

static void apply_ok(OciImageConfig *c, OciConfigChangeState *st, const char *line)
{
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;
        g_assert_cmpint(oci_image_config_apply_change(c, line, st, &reason), ==, 0);
}

static void test_cmd_entrypoint(void)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *c = config_new();
        OciConfigChangeState st = {};
        g_autofree char *joined = NULL;

        apply_ok(c, &st, "CMD [\"cat\", \"/x y\"]");
        joined = g_strjoinv("|", c->cmd);
        g_assert_cmpstr(joined, ==, "cat|/x y");
        /* A CMD given first survives ENTRYPOINT. */
        apply_ok(c, &st, "entrypoint /bin/init --flag");
        g_assert_cmpstr(c->entrypoint[0], ==, "/bin/sh");
        g_assert_cmpstr(c->entrypoint[2], ==, "/bin/init --flag");
        g_assert_cmpstr(c->cmd[0], ==, "cat");

        /* Without a CMD before it, ENTRYPOINT clears the image's Cmd, as in a Dockerfile. */
        _cleanup_(oci_image_config_freep) OciImageConfig *d = config_new();
        OciConfigChangeState st2 = {};
        apply_ok(d, &st2, "ENTRYPOINT [\"/e\"]");
        g_assert_null(d->cmd);
}

static void test_env_label_workdir_user_signal(void)
{
        _cleanup_(oci_image_config_freep) OciImageConfig *c = config_new();
        OciConfigChangeState st = {};
        _cleanup_berth_error_ BerthError reason = BERTH_ERROR_INIT;

        apply_ok(c, &st, "ENV A=2 B=\"two words\"");
        apply_ok(c, &st, "ENV C the rest of the line");
        g_assert_cmpstr(c->env[1], ==, "A=2");
        g_assert_cmpstr(c->env[2], ==, "B=two words");
        g_assert_cmpstr(c->env[3], ==, "C=the rest of the line");
        apply_ok(c, &st, "LABEL k=new other=x");
        g_assert_cmpstr(oci_image_config_get_label(c, "k"), ==, "new");
        g_assert_cmpstr(oci_image_config_get_label(c, "other"), ==, "x");
        apply_ok(c, &st, "WORKDIR sub");
        g_assert_cmpstr(c->working_dir, ==, "/srv/sub");
        apply_ok(c, &st, "WORKDIR /abs");
        g_assert_cmpstr(c->working_dir, ==, "/abs");
        apply_ok(c, &st, "USER nobody:nogroup");
        g_assert_cmpstr(c->user, ==, "nobody:nogroup");
        apply_ok(c, &st, "STOPSIGNAL SIGINT");
        g_assert_cmpstr(c->stop_signal, ==, "SIGINT");
        apply_ok(c, &st, "VOLUME /data /logs");
        apply_ok(c, &st, "VOLUME [\"/data\", \"/cache\"]");
        g_assert_cmpuint(g_strv_length(c->volumes), ==, 3);
        g_assert_cmpstr(c->volumes[2], ==, "/cache");
        g_assert_cmpint(oci_image_config_apply_change(c, "VOLUME data", &st, &reason), ==, -EINVAL);
        berth_error_done(&reason);
        apply_ok(c, &st, "EXPOSE 80 53/UDP");
        apply_ok(c, &st, "EXPOSE 80/tcp");
        g_assert_cmpuint(g_strv_length(c->exposed_ports), ==, 2);
        g_assert_cmpstr(c->exposed_ports[0], ==, "80/tcp");
        g_assert_cmpstr(c->exposed_ports[1], ==, "53/udp");
        g_assert_cmpint(oci_image_config_apply_change(c, "EXPOSE 70000", &st, &reason), ==, -EINVAL);
        berth_error_done(&reason);
        g_assert_cmpint(oci_image_config_apply_change(c, "EXPOSE 80/sctp", &st, &reason), ==, -EINVAL);
        berth_error_done(&reason);

        g_assert_cmpint(oci_image_config_apply_change(c, "STOPSIGNAL SIGNOPE", &st, &reason), ==, -EINVAL);
        berth_error_done(&reason); /* an error keeps its first failure: start afresh for the next check */
        g_assert_cmpint(oci_image_config_apply_change(c, "RUN rm -rf /", &st, &reason), ==, -EINVAL);
        g_assert_nonnull(reason.message);
        g_assert_cmpint(reason.error, ==, -EINVAL);
        g_assert_cmpint(oci_image_config_apply_change(c, "CMD", &st, &reason), ==, -EINVAL);
        g_assert_cmpint(oci_image_config_apply_change(c, "LABEL novalue", &st, &reason), ==, -EINVAL);
        g_assert_cmpint(oci_image_config_apply_change(c, "ENV =x", &st, &reason), ==, -EINVAL);
        g_assert_cmpint(oci_image_config_apply_change(c, "", &st, &reason), ==, -EINVAL);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/config-change/cmd-entrypoint", test_cmd_entrypoint);
        g_test_add_func("/config-change/env-label-workdir-user-signal", test_env_label_workdir_user_signal);
        return g_test_run();
}
