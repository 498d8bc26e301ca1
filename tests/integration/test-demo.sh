# The README's main job in the test suite: tools/demo.sh's two walks through the tutorial (berthctl, then busctl)
# against the berth under test in this bed, with the Debian demo images (tests/fixtures/debootstrap.sh: debootstrap
# once per cache dir) served by a registry of this file's own. The first cases make the images and run the walk;
# the others check its transcript, one tutorial step each. Cases run in order in one bed.
#
# demo.sh itself, in full, also installs the dependencies, builds and boots its own bed: the runner did all that
# already, so only its walk part runs here (tools/demo.sh walk --bed).

# The transcript and the pushed digests stay in the runner's logs: the checks read them, and a reader can too.
transcript() { echo "$BERTH_BUILD/integration/logs/test-demo.walk.txt"; }
pushed() { echo "$BERTH_BUILD/integration/logs/test-demo.pushed.txt"; }
images_dir_file() { echo "$BERTH_BUILD/integration/logs/test-demo.images"; }
reg() { cat "$BERTH_BUILD/integration/logs/test-demo.registry"; }

# answer CMD_PREFIX [N] : what the transcript shows after the Nth (default first) command line that starts with
# "$ CMD_PREFIX", up to the next command, note or section
answer() {
        awk -v p="\$ $1" -v n="${2:-1}" '
                found && (/^\$ / || /^# / || /^=== /) { exit }
                found { print }
                !found && substr($0, 1, length(p)) == p && ++k == n { found = 1 }' "$(transcript)"
}
# screen N : the Nth terminal screen of the transcript (lines "  | …")
screen() {
        awk -v n="$1" '/^  \| / { if (!in_s) { k++; in_s = 1 } if (k == n) print substr($0, 5); next } { in_s = 0 }' \
                "$(transcript)"
}

test_images_from_the_debian_archive() {
        local dir
        dir=$("$BERTH_SRC/tests/fixtures/debootstrap.sh" build "${BERTH_TEST_CACHE:-$BERTH_BUILD/test-cache}")
        [ -f "$dir/oci/index.json" ] || fail "no layout in $dir"
        echo "$dir" > "$(images_dir_file)"
}

test_walk() {
        # A registry of this case's own, in a dir whose name the runner stops by itself should the case be killed;
        # it listens in the bed's network namespace, where the push reaches it too.
        DEMO_REGISTRY_DIR=$TEST_TMP/auth-registry.demo
        local rc=0 r
        trap '"$BERTH_REGISTRY_SH" stop "$DEMO_REGISTRY_DIR"' EXIT
        r=$(bed_net "$BERTH_REGISTRY_SH" start "$DEMO_REGISTRY_DIR")
        echo "$r" > "$BERTH_BUILD/integration/logs/test-demo.registry"
        bed_net "$BERTH_SRC/tests/fixtures/debootstrap.sh" push "$(cat "$(images_dir_file)")" "$r" > "$(pushed)"
        "$BERTH_SRC/tools/demo.sh" walk --bed "$BED_DIR" "$r" > "$(transcript)" 2>&1 || rc=$?
        cat "$(transcript)"
        assert_eq "$rc" 0 "demo.sh walk's exit status"
        assert_no_match "$(cat "$(transcript)")" '^\[exit status' "a failed step"
}

test_pulls_share_the_base_layer() {
        local out digest
        # The base: one layer, pulled.
        out=$(answer "berthctl pull $(reg)/debian:bookworm-slim")
        digest=$(awk '$1 == "debian" { print $2 }' "$(pushed)")
        assert_match "$out" '^[0-9a-f]{12}: Pull complete$' "pull of the base"
        assert_match "$out" "^Digest: $digest\$" "pull of the base"
        assert_match "$out" "^Status: Downloaded newer image for $(reg)/debian:bookworm-slim\$" "pull of the base"
        # The child: its first layer is the base's, not downloaded again; its own two are.
        out=$(answer "berthctl pull $(reg)/sqlite")
        digest=$(awk '$1 == "sqlite" { print $2 }' "$(pushed)")
        assert_eq "$(grep -cE '^[0-9a-f]{12}: Already exists$' <<<"$out")" 1 "layers already there"
        assert_eq "$(grep -cE '^[0-9a-f]{12}: Pull complete$' <<<"$out")" 2 "layers pulled"
        assert_match "$(grep -E ': (Already exists|Pull complete)$' <<<"$out" | head -n 1)" 'Already exists' \
                "the first layer is the shared one"
        assert_match "$out" "^Digest: $digest\$" "pull of the child"
        assert_match "$out" "^Status: Downloaded newer image for $(reg)/sqlite:latest\$" "pull of the child"
}

test_image_ls_history_and_the_child_runs() {
        local out
        out=$(answer "berthctl image ls")
        assert_match "$out" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE' "the first image ls"
        assert_eq "$(echo "$out" | wc -l)" 1 "the store is empty at first"
        out=$(answer "berthctl image ls" 2)
        assert_match "$out" "^$(reg)/debian +bookworm-slim " "image ls after the pulls"
        assert_match "$out" "^$(reg)/sqlite +latest " "image ls after the pulls"
        out=$(answer "berthctl image history $(reg)/sqlite")
        assert_eq "$(echo "$out" | wc -l)" 4 "history: a header and three layers"
        assert_match "$(echo "$out" | sed -n 2p)" 'COPY tutorial.sql' "history, newest first"
        assert_match "$(echo "$out" | sed -n 3p)" 'dpkg -i sqlite3 .*from the Debian archive: .*sqlite3=' \
                "history: the package layer"
        assert_match "$(echo "$out" | sed -n 4p)" 'debootstrap --variant=minbase bookworm' "history: the base"
        out=$(answer "berthctl run --rm $(reg)/sqlite sqlite3")
        assert_match "$out" '^1\|pull$' "sqlite3 in the child image reads its table"
        assert_match "$out" '^9\|rm$' "sqlite3 in the child image reads its table"
}

test_run_ti_writes_a_file_and_detaches() {
        local s
        s=$(screen 1)
        assert_match "$s" "^\\$ berthctl run -ti --name mydebian $(reg)/debian:bookworm-slim bash\$" "the terminal"
        assert_match "$s" 'root@[^:]+:/# touch test-file; ls$' "the container's shell"
        assert_match "$s" '(^| )test-file( |$)' "ls in the container"
        assert_match "$s" 'read escape sequence' "ctrl-p ctrl-q"
        assert_match "$(answer "berthctl ps")" ' mydebian$' "ps after the detach"
        assert_match "$(answer "berthctl ps")" ' Up ' "ps after the detach"
        s=$(answer "systemctl status --no-pager --lines=0 berth-mydebian.scope")
        assert_match "$s" 'berth-mydebian.scope' "the scope"
        assert_match "$s" 'Active: active \(running\)' "the scope"
}

test_stop_ps_a_start_attach_the_file_is_there() {
        local s
        assert_match "$(answer "berthctl stop mydebian")" '^mydebian$' "stop"
        assert_match "$(answer "berthctl ps -a")" 'Exited \([0-9]+\) .* mydebian$' "ps -a after the stop"
        assert_match "$(answer "berthctl start mydebian")" '^mydebian$' "start"
        s=$(screen 2)
        assert_match "$s" '^\$ berthctl attach mydebian$' "the terminal"
        assert_match "$s" 'root@[^:]+:/# ls$' "Enter gave the prompt back, then ls"
        assert_match "$s" '(^| )test-file( |$)' "the file written before the stop"
        assert_match "$s" 'root@[^:]+:/# exit$' "exit"
        # The last ps -a before the commit: the shell's exit.
        assert_match "$(answer "berthctl ps -a" 2)" 'Exited \(0\) .* mydebian$' "ps -a after the exit"
        s=$(answer "journalctl --no-pager -o cat CONTAINER_NAME=mydebian")
        # (How the terminal's bytes fall into lines depends on when they were read: no line-exact match here.)
        assert_match "$s" 'touch test-file; ls$' "the terminal's bytes in the journal"
        assert_match "$s" '^bin .* test-file ' "the terminal's bytes in the journal"
        assert_match "$s" '^Container mydebian exited with code 137$' "the stop in the journal"
        assert_match "$s" '^Container mydebian exited with code 0$' "the exit in the journal"
}

test_commit_run_rm_df() {
        local out
        assert_match "$(answer "berthctl commit")" '^sha256:[0-9a-f]{64}$' "commit prints the image id"
        out=$(answer "berthctl image history mydebian:test-file")
        assert_eq "$(echo "$out" | wc -l)" 3 "history: the base layer and the commit's"
        assert_match "$(echo "$out" | sed -n 2p)" 'added test-file' "the commit's history entry"
        assert_match "$(answer "berthctl run --rm mydebian:test-file")" ' /test-file$' "the committed image has the file"
        assert_match "$(answer "berthctl rm mydebian")" '^mydebian$' "rm"
        assert_eq "$(answer "berthctl ps -a" 3 | grep -c .)" 1 "ps -a after rm: the header only"
        out=$(answer "berthctl image ls" 3)
        assert_match "$out" '^mydebian +test-file ' "image ls: the commit"
        out=$(answer "berthctl system df")
        assert_match "$out" '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE' "system df"
        assert_match "$out" '^Images +3 ' "system df: debian, sqlite and the commit"
        assert_match "$(answer "journalctl --no-pager -o cat -u berthd")" 'Committed container mydebian' "journal"
}

test_the_same_with_busctl() {
        assert_match "$(answer "busctl call org.berth1 /org/berth1 org.berth1.Manager PullImage")" \
                '^o "/org/berth1/transfer/[_0-9a-z]+"$' "PullImage"
        assert_match "$(answer "busctl get-property org.berth1 /org/berth1/image/")" '^as 1 ' "the image's RepoTags"
        assert_match "$(answer "busctl get-property org.berth1 /org/berth1/image/")" '^as 3 ' "its three Layers"
        assert_match "$(answer "busctl call org.berth1 /org/berth1 org.berth1.Manager CreateContainer")" \
                '^so "[0-9a-f]{64}" "/org/berth1/container/mydebian2"$' "CreateContainer"
        assert_match "$(answer "busctl get-property org.berth1 /org/berth1/container/mydebian2")" \
                '^s "exited"$' "State after StartContainer"
        assert_match "$(answer "journalctl --no-pager -o cat CONTAINER_NAME=mydebian2")" '^test-file$' \
                "the container's output in the journal"
        assert_match "$(answer "busctl call org.berth1 /org/berth1 org.berth1.Manager CommitContainer")" \
                '^s "sha256:[0-9a-f]{64}"$' "CommitContainer"
        assert_match "$(answer "busctl call org.berth1 /org/berth1 org.berth1.Manager ListContainers b false")" \
                '"mydebian3" "mydebian:busctl" "running"' "ListContainers while it runs"
        assert_match "$(answer "busctl call org.berth1 /org/berth1 org.berth1.Manager ListContainers b true")" \
                '"mydebian3" "mydebian:busctl" "exited"' "ListContainers after StopContainer"
        assert_match "$(answer "python3 -c")" ' /test-file$' "AttachContainer from python3-dbus"
        assert_match "$(answer "python3 -c")" '^by-busctl$' "the ENV change of CommitContainer"
        assert_match "$(answer "busctl get-property org.berth1 /org/berth1/container/mydebian4")" '^u 7$' \
                "the exit code typed through the attach socket"
        assert_match "$(answer "busctl call org.berth1 /org/berth1 org.berth1.Manager ListContainers b true" 2)" \
                '^a\(ssssuo\) 0$' "no container left after RemoveContainer"
}

test_nothing_left_running() {
        assert_eq "$(bed_exec berthctl ps -a -q)" "" "containers"
        assert_eq "$(bed_exec systemctl list-units --no-legend --plain 'berth-*.scope')" "" "scopes"
}
