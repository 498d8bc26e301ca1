# Authorisation over the bus (docs/security.md): every mutating method asks polkit, read-only ones do not; a
# caller without ALLOW_INTERACTIVE_AUTHORIZATION gets InteractiveAuthorizationRequired where polkit would ask
# for a password, with it AccessDenied (no agent here); a rules.d file lets a group manage containers without a
# password but not privileged ones (org.berth1.manage-containers-privileged). The unprivileged caller is nobody
# (bed_nobody): root passes without asking polkit. Writes to /etc land in the bed's overlay (tests/bed/bed-init).
# A container's output is in the system journal, which nobody cannot read; berth relays it only to whoever
# runs the container (its creator's attach without input).

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
M() { bed_exec busctl -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
# as_nobody yes|no METHOD SIG ARGS… : the call as nobody, with the interactive flag as given
as_nobody() {
        local flag=$1; shift
        bed_nobody busctl --allow-interactive-authorization="$flag" -- call org.berth1 /org/berth1 org.berth1.Manager "$@"
}

# Every mutating Manager method with arguments that are valid (so that polkit is what answers).
mutating_calls() {
        cat <<CALLS
PullImage sa{sv} $(R busybox) 0
SearchImages sa{sv} busy 1 registry s $BERTH_TEST_REGISTRY
RemoveImage sb $(R busybox) false
TagImage ss $(R busybox) polkit/tagged:x
CreateContainer ssasa{sv} $(R busybox) pk2 1 true 0
RunContainer ssasa{sv} $(R busybox) pk3 1 true 0
StartContainer s pk1
StopContainer st pk1 0
KillContainer si pk1 15
RemoveContainer sb pk1 true
CreateVolume sa{sv} pkvol2 0
RemoveVolume sb pkvol1 true
PruneVolumes a{sv} 1 all b true
CALLS
}

test_setup() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
        M CreateContainer ssasa{sv} "$(R busybox)" pk1 2 sleep 60 0 >/dev/null
        M CreateVolume sa{sv} pkvol1 0 >/dev/null
}

test_mutating_methods_denied_without_interactive_flag() {
        local line out
        while read -r line; do
                # shellcheck disable=SC2086
                out=$(as_nobody no $line 2>&1) && fail "nobody may call: $line"
                assert_match "$out" 'Interactive authentication required' "$line without the flag"
        done < <(mutating_calls)
}

test_mutating_methods_denied_with_interactive_flag() {
        local line out
        while read -r line; do
                # shellcheck disable=SC2086
                out=$(as_nobody yes $line 2>&1) && fail "nobody may call: $line"
                assert_match "$out" 'Access denied|Interactive authentication required' "$line with the flag"
                assert_no_match "$out" 'No such|Invalid|Unknown' "$line failed on authorisation, not arguments"
        done < <(mutating_calls)
        # Nothing happened.
        assert_match "$(M ListContainers b true)" '"pk1"' "pk1 still there"
        assert_no_match "$(M ListContainers b true)" '"pk2"|"pk3"' "nothing created"
}

test_object_methods_denied_to_nobody() {
        # The object forms ask polkit as the Manager's by-name forms do.
        local image line out
        image=$(bed_exec busctl --json=short call org.berth1 /org/berth1 org.berth1.Manager GetImage s "$(R busybox)" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])')
        while read -r line; do
                # shellcheck disable=SC2086
                out=$(bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 $line 2>&1) &&
                        fail "nobody may call: $line"
                assert_match "$out" 'Interactive authentication required' "$line"
                assert_no_match "$out" 'No such|Invalid|Unknown' "$line failed on authorisation, not arguments"
        done <<CALLS
/org/berth1/container/pk1 org.berth1.Container Start
/org/berth1/container/pk1 org.berth1.Container Stop t 0
/org/berth1/container/pk1 org.berth1.Container Kill i 15
/org/berth1/container/pk1 org.berth1.Container Remove b true
/org/berth1/container/pk1 org.berth1.Container Attach a{sv} 0
/org/berth1/container/pk1 org.berth1.Container Resize uu 24 80
/org/berth1/container/pk1 org.berth1.Container Commit sa{sv} polkit/commit:x 0
$image org.berth1.Image Remove b true
$image org.berth1.Image Tag s polkit/tagged:y
CALLS
        assert_match "$(M ListContainers b true)" '"pk1"' "pk1 still there"
}

test_reads_open_to_everyone() {
        assert_ok as_nobody no ListImages
        assert_ok as_nobody no ListContainers b true
        assert_ok as_nobody no GetImage s "$(R busybox)"
        assert_ok bed_nobody busctl get-property org.berth1 /org/berth1/container/pk1 org.berth1.Container State
}

# bed_daemon CMD… : as uid 1 (daemon), a second unprivileged user who is never given a polkit rule
bed_daemon() { "$BERTH_BED" exec "$BED_DIR" setpriv --reuid=1 --regid=1 --clear-groups "$@"; }
cprop_as() { # cprop_as RUNNER NAME PROPERTY
        local runner=$1; shift
        $runner busctl get-property org.berth1 "/org/berth1/container/$1" org.berth1.Container "$2"
}

test_environment_and_command_hidden_from_others() {
        local out
        M CreateContainer ssasa{sv} "$(R busybox)" secretenv 3 sh -c 'echo --token=cmd-sekrit' \
                1 env as 1 POSTGRES_PASSWORD=env-sekrit >/dev/null
        # The live Container interface (with GetConfig) is the contract's.
        bed_exec busctl introspect --xml-interface org.berth1 /org/berth1/container/secretenv > "$TEST_TMP/container.xml"
        python3 "$BERTH_SRC/tests/integration/introspect-compare.py" \
                "$BERTH_SRC/dbus/org.berth1.Container.xml" "$TEST_TMP/container.xml" org.berth1.Container ||
                fail "Container introspection differs from dbus/org.berth1.Container.xml"
        # Root sees all of it.
        assert_match "$(cprop_as bed_exec secretenv Config)" 'POSTGRES_PASSWORD=env-sekrit' "root's Config"
        assert_match "$(cprop_as bed_exec secretenv Command)" 'cmd-sekrit' "root's Command"
        # Others see the rest of the record, without environment or arguments.
        out=$(cprop_as bed_nobody secretenv Config)
        assert_no_match "$out" 'sekrit|Env|Cmd|Entrypoint' "nobody's Config"
        assert_match "$out" 'Hostname' "nobody still reads the rest of Config"
        assert_eq "$(cprop_as bed_nobody secretenv Command)" 'as 0' "nobody's Command"
        out=$(bed_nobody busctl --json=short get-property org.berth1 /org/berth1/container/secretenv \
                org.berth1.Container Config Command 2>&1)
        assert_no_match "$out" 'sekrit' "nobody's Get of both"
        out=$(bed_nobody busctl call org.berth1 /org/berth1 org.freedesktop.DBus.ObjectManager GetManagedObjects 2>&1)
        assert_no_match "$out" 'sekrit' "nobody's GetManagedObjects"
        # GetConfig asks polkit for manage-containers, which nobody does not have.
        out=$(bed_nobody busctl --allow-interactive-authorization=no call org.berth1 /org/berth1/container/secretenv \
                org.berth1.Container GetConfig a{sv} 0 2>&1) && fail "nobody may GetConfig"
        assert_match "$out" 'Interactive authentication required' "GetConfig as nobody"
        assert_match "$(bed_exec busctl call org.berth1 /org/berth1/container/secretenv org.berth1.Container \
                GetConfig a{sv} 0)" 'env-sekrit.*cmd-sekrit' "GetConfig as root"
        # berthctl: root's inspect is complete; nobody's leaves them out and says why.
        out=$(bed_exec berthctl container inspect secretenv)
        assert_match "$out" 'POSTGRES_PASSWORD=env-sekrit' "root's inspect Env"
        assert_match "$out" 'cmd-sekrit' "root's inspect Args"
        out=$(bed_nobody berthctl container inspect secretenv 2>"$TEST_TMP/inspect.err") || fail "nobody's inspect failed"
        assert_no_match "$out" 'sekrit' "nobody's inspect"
        assert_match "$out" '"Hostname"' "nobody's inspect shows the rest"
        assert_match "$(cat "$TEST_TMP/inspect.err")" 'shown only to root, to the user who created it' "nobody is told why"
        out=$(bed_nobody berthctl ps -a)
        assert_match "$out" 'secretenv' "nobody's ps lists it"
        assert_match "$(grep secretenv <<<"$out")" '\(hidden\)' "nobody's ps hides the command"
        assert_no_match "$out" 'sekrit' "nobody's ps"
}

test_group_rule_allows_ordinary_containers_only() {
        local out
        bed_sh 'groupadd -f berth && usermod -a -G berth nobody'
        bed_sh 'mkdir -p /etc/polkit-1/rules.d && cat >/etc/polkit-1/rules.d/50-berth.rules' <<'RULES'
// Members of "berth" manage ordinary containers without a password; privileged ones still need an admin.
polkit.addRule(function(action, subject) {
        if (action.id == "org.berth1.manage-containers" && subject.isInGroup("berth"))
                return polkit.Result.YES;
});
RULES
        # polkitd reloads rules.d on change; give it a moment, then retry the first call until it has.
        wait_until 60 bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1 \
                org.berth1.Manager CreateContainer ssasa{sv} "$(R busybox)" grp1 1 true 0
        assert_ok as_nobody no StartContainer s grp1
        assert_ok as_nobody no RemoveContainer sb grp1 true
        # Privileged, extra capabilities, seccomp=unconfined, host network: the extra action, not granted.
        out=$(as_nobody no CreateContainer ssasa{sv} "$(R busybox)" grp2 1 true 1 privileged b true 2>&1) &&
                fail "privileged container allowed by the group rule"
        assert_match "$out" 'Interactive authentication required' "privileged"
        out=$(as_nobody no CreateContainer ssasa{sv} "$(R busybox)" grp2 1 true 1 cap_add as 1 SYS_ADMIN 2>&1) &&
                fail "cap_add allowed by the group rule"
        assert_match "$out" 'Interactive authentication required' "cap_add SYS_ADMIN"
        out=$(as_nobody no CreateContainer ssasa{sv} "$(R busybox)" grp2 1 true 1 security_opt as 1 seccomp=unconfined 2>&1) &&
                fail "seccomp=unconfined allowed by the group rule"
        assert_match "$out" 'Interactive authentication required' "seccomp=unconfined"
        out=$(as_nobody no CreateContainer ssasa{sv} "$(R busybox)" grp2 1 true 1 network s host 2>&1) &&
                fail "host network allowed by the group rule"
        assert_match "$out" 'Interactive authentication required' "network host"
        # Publishing below 1024 or on one host address: the extra action too; from 1024 up on all, not.
        for p in 80:80 127.0.0.1:8080:80; do
                out=$(as_nobody no CreateContainer ssasa{sv} "$(R busybox)" grp2 1 true 1 ports as 1 "$p" 2>&1) &&
                        fail "port $p allowed by the group rule"
                assert_match "$out" 'Interactive authentication required' "port $p"
        done
        assert_ok as_nobody no CreateContainer ssasa{sv} "$(R busybox)" grp5 1 true 1 ports as 1 8080:80
        # Dropping capabilities or adding one already in the default set, and no-new-privileges, need nothing more.
        assert_ok as_nobody no CreateContainer ssasa{sv} "$(R busybox)" grp3 1 true 2 cap_drop as 1 ALL security_opt as 1 no-new-privileges
        assert_ok as_nobody no CreateContainer ssasa{sv} "$(R busybox)" grp4 1 true 1 cap_add as 1 CHOWN
        # A privileged container an admin created cannot be started by the group either.
        M CreateContainer ssasa{sv} "$(R busybox)" adminpriv 1 true 1 privileged b true >/dev/null
        out=$(as_nobody no StartContainer s adminpriv 2>&1) && fail "group may start a privileged container"
        assert_match "$out" 'Interactive authentication required' "start privileged"
        assert_ok as_nobody no StopContainer st adminpriv 0
        # Images stay with their own actions.
        out=$(as_nobody no PullImage sa{sv} "$(R busybox)" 0 2>&1) && fail "group may pull"
        assert_match "$out" 'Interactive authentication required' "pull still denied"
        # Allowed to manage containers: GetConfig and berthctl inspect give nobody the full config.
        assert_match "$(bed_nobody busctl --allow-interactive-authorization=no call org.berth1 \
                /org/berth1/container/secretenv org.berth1.Container GetConfig a{sv} 0)" 'env-sekrit.*cmd-sekrit' \
                "GetConfig with manage-containers"
        assert_match "$(bed_nobody berthctl --no-ask-password container inspect secretenv)" 'POSTGRES_PASSWORD=env-sekrit' \
                "berthctl inspect with manage-containers"
        # A container's creator reads its properties in full; another user does not.
        assert_ok as_nobody no CreateContainer ssasa{sv} "$(R busybox)" nobodys 1 true 1 env as 1 MINE=nobody-sekrit
        assert_match "$(cprop_as bed_nobody nobodys Config)" 'MINE=nobody-sekrit' "the creator's Config"
        assert_match "$(cprop_as bed_nobody nobodys Command)" 'true' "the creator's Command"
        assert_no_match "$(cprop_as bed_daemon nobodys Config)" 'sekrit' "another user's Config"
        assert_eq "$(cprop_as bed_daemon nobodys Command)" 'as 0' "another user's Command"
        # berthd answered all of this without restarting.
        assert_eq "$(bed_exec systemctl show -P NRestarts berthd.service)" 0 "berthd restarts"
}

# berthctl run watches the output of what it starts through AttachContainer without stdin: for the
# container's creator that is manage-containers, which the group rule grants. Input (run -i), or the output
# of another's container, stays attach-container.
test_group_member_sees_the_output_of_its_own_run() {
        local out
        assert_eq "$(bed_nobody berthctl --no-ask-password run --rm "$(R busybox)" echo mine)" mine \
                "run by a group member"
        out=$(echo x | bed_nobody berthctl --no-ask-password run -i --rm --name grpin "$(R busybox)" cat 2>&1) &&
                fail "run -i allowed by the group rule"
        assert_match "$out" 'Interactive authentication required' "run -i"
        assert_fails bed_exec berthctl inspect grpin
        bed_exec berthctl run -d --name rootsown "$(R busybox)" sleep 1000 >/dev/null
        out=$(as_nobody no AttachContainer sa{sv} rootsown 1 stdin b false 2>&1) &&
                fail "group may watch another's container"
        assert_match "$out" 'Interactive authentication required' "the output of another's container"
        out=$(bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager AttachContainer sa{sv} rootsown 1 \
                lossless b true 2>&1) || fail "root may hold its own container's output: $out"
        # (busctl prints an AccessDenied as "Access denied" alone: python3-dbus shows berthd's message)
        out=$(bed_nobody python3 -c 'import dbus, sys
m = dbus.Interface(dbus.SystemBus().get_object("org.berth1", "/org/berth1"), "org.berth1.Manager")
try:
    m.AttachContainer(sys.argv[1], {"lossless": dbus.Boolean(True)}, signature="sa{sv}")
except dbus.DBusException as e:
    print(e.get_dbus_name(), e.get_dbus_message())' rootsown 2>&1)
        assert_match "$out" "AccessDenied Option 'lossless' is for the creator" "lossless for another's container"
        bed_exec berthctl rm -f rootsown >/dev/null
}

test_container_output_is_not_readable_by_others() {
        local out
        bed_exec berthctl run --name secretive "$(R busybox)" echo the-secret-line >/dev/null
        assert_match "$(bed_exec berthctl logs secretive)" 'the-secret-line' "root reads the output"
        # berth serves no logs over the bus; berthctl reads the journal with the caller's own rights.
        out=$(bed_nobody berthctl logs secretive 2>&1) || true
        assert_no_match "$out" 'the-secret-line' "nobody's berthctl logs"
        assert_match "$out" 'only shown to root and the systemd-journal group' "nobody is told why"
        out=$(bed_nobody journalctl --no-pager -o cat CONTAINER_NAME=secretive 2>&1) || true
        assert_no_match "$out" 'the-secret-line' "nobody's journalctl"
        # The container's record stays readable to all (read-only calls are open), its output does not.
        assert_match "$(bed_nobody busctl get-property org.berth1 /org/berth1/container/secretive \
                org.berth1.Container ExitCode)" '^u 0$' "nobody reads the exit code"
}

# start -a of a container someone else created: berthd keeps a lossless stream for the creator, so berthctl
# asks again for an ordinary one, which attach-container (granted to the group here) allows.
test_start_a_of_another_users_container() {
        bed_sh 'cat >/etc/polkit-1/rules.d/51-berth-attach.rules' <<'RULES'
polkit.addRule(function(action, subject) {
        if (action.id == "org.berth1.attach-container" && subject.isInGroup("berth"))
                return polkit.Result.YES;
});
RULES
        bed_exec berthctl run -d --name rootruns "$(R busybox)" sleep 1000 >/dev/null
        # polkitd reloads rules.d on change: an attach to root's running container passes once it has.
        wait_until 60 bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1 \
                org.berth1.Manager AttachContainer sa{sv} rootruns 1 stdin b false
        bed_exec berthctl create --name rootmade "$(R busybox)" echo made-by-root >/dev/null
        assert_eq "$(bed_nobody berthctl --no-ask-password start -a rootmade)" made-by-root "start -a by nobody"
        bed_exec berthctl rm -f rootruns rootmade >/dev/null
}
