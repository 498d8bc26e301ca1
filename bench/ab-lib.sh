# bench/ab-lib.sh : what bench/ab-*.sh share, sourced by them: another build's binaries beside the bed's own,
# and berthd switched between the two through a drop-in. OLD_BUILD names the other build's directory; the
# bed's own binaries (from BUILD) are "new".
#
#   ab_binary BUILD_PATH INSTALLED_PATH  copy OLD_BUILD/BUILD_PATH to INSTALLED_PATH-old and the installed
#                                        INSTALLED_PATH to INSTALLED_PATH-new
#   ab_berthd_dropin                     berthd's two binaries, and a drop-in that starts the one $BERTHD_AB
#                                        names
#   ab_use old|new [VAR=VALUE]...        that build's berthd, started with these in the manager's environment,
#                                        ready on the bus
#   ab_restore [VAR]...                  the bed's berthd as it was: its own binary, without these variables

ab_binary() {
        [ -d "${OLD_BUILD:-}" ] || fail "OLD_BUILD must name the other build directory"
        bed_exec cp "$OLD_BUILD/$1" "$2-old"
        bed_exec cp "$2" "$2-new"
}

ab_berthd_dropin() {
        ab_binary src/daemon/berthd /usr/sbin/berthd
        bed_exec mkdir -p /run/systemd/system/berthd.service.d
        printf '[Service]\nExecStart=\nExecStart=/bin/sh -c "exec /usr/sbin/berthd-$$BERTHD_AB"\n' |
                bed_exec tee /run/systemd/system/berthd.service.d/ab.conf >/dev/null
        bed_exec systemctl daemon-reload
}

ab_use() {
        bed_exec systemctl set-environment "BERTHD_AB=$1" "${@:2}"
        # Turns come faster than systemd's start limit (5 starts in 10 s) allows. Before berthd's first start
        # the unit is not loaded, and has nothing to reset.
        bed_exec systemctl reset-failed berthd 2>/dev/null || true
        bed_exec systemctl restart berthd
        bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager ListImages >/dev/null
}

ab_restore() {
        bed_exec systemctl unset-environment BERTHD_AB "$@"
        bed_exec rm /run/systemd/system/berthd.service.d/ab.conf
        bed_exec systemctl daemon-reload
        bed_exec systemctl reset-failed berthd 2>/dev/null || true
        bed_exec systemctl restart berthd
}
