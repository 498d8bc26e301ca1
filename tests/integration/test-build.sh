# berthctl build / BuildImage: the tutorial's four-step Dockerfile (a shell-script "make", since the busybox
# fixture has no make), one history row per instruction, a fully cached rebuild, a one-file change that
# invalidates exactly the steps from its COPY on, a multi-stage build copying a binary into a scratch image,
# --target, build args, .dockerignore, ONBUILD, bad input with nothing half made, and unprivileged callers
# refused. Cases run in order in one bed; contexts live under /run/build-test (the bed's own /run).

B() { echo "$BERTH_TEST_REGISTRY/busybox"; }
D=/run/build-test
# put PATH: stdin becomes the bed's file $D/PATH
put() { bed_exec sh -c "mkdir -p \"\$(dirname '$D/$1')\" && cat > '$D/$1'"; }
build() { bed_exec berthctl build "$@"; }
n_containers() { bed_exec berthctl ps -a -q | wc -l; }
no_containers() { [ "$(n_containers)" = 0 ]; }
two_cancels() { [ "$(bed_journal -o cat --no-pager -g 'Build [0-9]+ cancelled' | wc -l)" -ge 2 ]; }

test_setup() {
        bed_exec berthctl pull "$(B)" >/dev/null
        put app/Dockerfile <<EOF
FROM $(B)
COPY . /app
RUN sh /app/make /app
CMD ["sh", "/app/app.sh"]
EOF
        # The tutorial's "make /app", as a shell script: the busybox image has sh, not make.
        put app/make <<'EOF'
cd "$1" && cat src/*.txt > out.txt && echo "built $(wc -l < out.txt) lines"
EOF
        put app/app.sh <<'EOF'
echo "app says: $(cat /app/out.txt)"
EOF
        echo one | put app/src/a.txt
        echo two | put app/src/b.txt
}

test_tutorial_build() {
        local out
        out=$(build -t app:1 "$D/app")
        assert_match "$out" "Step 1/4 : FROM $(B)" "step 1"
        assert_match "$out" 'Step 2/4 : COPY \. /app' "step 2"
        assert_match "$out" 'Step 3/4 : RUN sh /app/make /app' "step 3"
        assert_match "$out" 'built 2 lines' "RUN's output streamed"
        assert_match "$out" 'Step 4/4 : CMD \["sh", "/app/app.sh"\]' "step 4"
        assert_match "$out" ' ---> Running in [0-9a-f]{12}' "RUN's container"
        assert_match "$out" 'Successfully built [0-9a-f]{12}' "built line"
        assert_match "$out" 'Successfully tagged app:1' "tagged line"
        assert_eq "$(bed_exec berthctl run --rm app:1)" "app says: one
two" "the image runs its CMD"
        # The step containers are gone; RUN's output is in the journal too.
        assert_eq "$(n_containers)" 0 "no container left"
        assert_match "$(bed_journal -o cat --no-pager -g 'built 2 lines')" 'built 2 lines' "RUN's output in the journal"
}

test_history_one_entry_per_instruction() {
        local h hb
        h=$(bed_exec berthctl image history app:1)
        hb=$(bed_exec berthctl image history "$(B)")
        assert_eq "$(echo "$h" | wc -l)" $(($(echo "$hb" | wc -l) + 3)) "three rows more than the base"
        assert_match "$(echo "$h" | sed -n 2p)" 'CMD \[' "newest: CMD"
        assert_match "$(echo "$h" | sed -n 3p)" 'sh /app/make /app' "then RUN"
        assert_match "$(echo "$h" | sed -n 4p)" 'COPY (file|dir):' "then COPY"
        bed_exec berthctl image inspect app:1 | python3 -c '
import json, sys
i = json.load(sys.stdin)[0]
assert i["Config"]["Cmd"] == ["sh", "/app/app.sh"], i["Config"]
' || fail "inspect"
}

test_cached_rebuild() {
        local out id1 id2
        id1=$(bed_exec berthctl image inspect app:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
        out=$(build -t app:1 "$D/app")
        assert_eq "$(echo "$out" | grep -c ' ---> Using cache')" 3 "every step after FROM from the cache"
        assert_no_match "$out" 'Running in' "nothing ran"
        id2=$(build -q "$D/app")
        assert_eq "$id2" "$id1" "the same image"
}

test_one_file_change_invalidates_from_its_copy() {
        local out
        put layers/Dockerfile <<EOF
FROM $(B)
ENV A=1
COPY a.txt /a
COPY b.txt /b
RUN cat /a /b > /ab
EOF
        echo a | put layers/a.txt
        echo b | put layers/b.txt
        build -t layers:1 "$D/layers" >/dev/null
        echo changed | put layers/b.txt
        out=$(build -t layers:1 "$D/layers")
        # ENV and COPY a.txt cached; COPY b.txt and RUN not.
        assert_eq "$(echo "$out" | grep -c ' ---> Using cache')" 2 "two steps cached"
        assert_match "$(echo "$out" | sed -n '/Step 4\/5/,$p')" 'Running in' "the RUN after the change ran"
        assert_no_match "$(echo "$out" | sed -n '/Step 4\/5/,$p')" 'Using cache' "nothing cached from the change on"
        assert_eq "$(bed_exec berthctl run --rm layers:1 cat /ab)" "a
changed" "the new content"
}

test_multi_stage_copies_a_binary_into_scratch() {
        local out layers
        put multi/Dockerfile <<EOF
FROM $(B) AS build
WORKDIR /src
RUN cp /bin/busybox /src/tool && echo compiled
FROM scratch
COPY --from=build /src/tool /bin/busybox
ENTRYPOINT ["/bin/busybox", "echo"]
CMD ["from-scratch"]
EOF
        out=$(build -t multi:1 "$D/multi")
        assert_match "$out" 'Step 4/7 : FROM scratch' "the final stage"
        assert_eq "$(bed_exec berthctl run --rm multi:1)" from-scratch "the binary runs in the small image"
        layers=$(bed_exec berthctl image inspect multi:1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["RootFS"]["Layers"]))')
        assert_eq "$layers" 1 "one layer: the copied binary"
        # Intermediate stages are not tagged.
        assert_no_match "$(bed_exec berthctl image ls)" '^build ' "no tag for the build stage"
}

test_target_builds_only_what_it_needs() {
        local out
        out=$(build --target build -t multi:build "$D/multi")
        assert_no_match "$out" 'FROM scratch' "the later stage is not built"
        assert_eq "$(bed_exec berthctl run --rm multi:build ls /src)" tool "the build stage's image"
        assert_fails build --target nope "$D/multi"
}

test_build_args() {
        put args/Dockerfile <<EOF
ARG BASE=$(B)
FROM \$BASE
ARG GREETING=hello
RUN echo "\$GREETING" > /greeting
ENV G=\${GREETING:-none}
EOF
        build -t args:default "$D/args" >/dev/null
        build --build-arg GREETING=bonjour -t args:fr "$D/args" >/dev/null
        assert_eq "$(bed_exec berthctl run --rm args:default cat /greeting)" hello "the default"
        assert_eq "$(bed_exec berthctl run --rm args:fr cat /greeting)" bonjour "the build arg"
        assert_eq "$(bed_exec berthctl run --rm args:fr sh -c 'echo $G')" bonjour "expanded in ENV"
        # The build arg is not in the image's environment.
        assert_no_match "$(bed_exec berthctl run --rm args:fr env)" GREETING "ARG is not ENV"
}

test_dockerignore() {
        put ign/Dockerfile <<EOF
FROM $(B)
COPY . /ctx
EOF
        printf 'secret*\n!secret-ok\nbig/\n' | put ign/.dockerignore
        echo s | put ign/secret.txt
        echo ok | put ign/secret-ok
        echo big | put ign/big/blob
        echo kept | put ign/kept
        build -t ign:1 "$D/ign" >/dev/null
        assert_eq "$(bed_exec berthctl run --rm ign:1 ls -A /ctx | tr '\n' ' ')" \
                ".dockerignore Dockerfile kept secret-ok " "what .dockerignore lets through"
}

test_dockerfile_named_with_f() {
        # -f inside the context, and outside it (sent along, as Docker's client does).
        printf 'FROM %s\nCOPY src/a.txt /a\n' "$(B)" | put app/build/Dockerfile.inside
        printf 'FROM %s\nCOPY src/b.txt /b\n' "$(B)" | put elsewhere/Dockerfile.outside
        build -t f:in -f "$D/app/build/Dockerfile.inside" "$D/app" >/dev/null
        build -t f:out -f "$D/elsewhere/Dockerfile.outside" "$D/app" >/dev/null
        assert_eq "$(bed_exec berthctl run --rm f:in cat /a)" one "the Dockerfile inside the context"
        assert_eq "$(bed_exec berthctl run --rm f:out cat /b)" two "the Dockerfile outside the context"
}

test_onbuild() {
        put onbase/Dockerfile <<EOF
FROM $(B)
ONBUILD RUN echo triggered > /triggered
EOF
        build -t onbase:1 "$D/onbase" >/dev/null
        assert_fails bed_exec berthctl run --rm onbase:1 cat /triggered
        put onchild/Dockerfile <<EOF
FROM onbase:1
RUN cat /triggered
EOF
        out=$(build -t onchild:1 "$D/onchild")
        assert_match "$out" 'Executing build trigger' "the trigger runs"
        assert_eq "$(bed_exec berthctl run --rm onchild:1 cat /triggered)" triggered "the trigger's effect"
        assert_eq "$(bed_exec berthctl image inspect onchild:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"].get("OnBuild"))')" None "triggers are not inherited"
}

test_add_and_copy_flags() {
        local out
        put add/Dockerfile <<EOF
FROM $(B)
ADD bundle.tar.gz /opt/
COPY --chown=1000:100 --chmod=0600 conf /etc/app/
COPY dir* /globbed/
EOF
        bed_exec sh -c "mkdir -p $D/add/t/pkg $D/add/dir1 $D/add/dir2 && echo payload > $D/add/t/pkg/file &&
                tar -C $D/add/t -czf $D/add/bundle.tar.gz pkg && rm -rf $D/add/t && echo c > $D/add/conf &&
                echo 1 > $D/add/dir1/one && echo 2 > $D/add/dir2/two"
        build -t add:1 "$D/add" >/dev/null
        assert_eq "$(bed_exec berthctl run --rm add:1 cat /opt/pkg/file)" payload "ADD extracted the tarball"
        assert_eq "$(bed_exec berthctl run --rm add:1 stat -c '%u:%g %a' /etc/app/conf)" "1000:100 600" "--chown, --chmod"
        assert_eq "$(bed_exec berthctl run --rm add:1 ls /globbed | tr '\n' ' ')" "one two " "a glob of directories"
        printf 'FROM %s\nADD https://example.com/x /x\n' "$(B)" | put url/Dockerfile
        out=$(build "$D/url" 2>&1) && fail "ADD of a URL accepted"
        assert_match "$out" 'remote URL .* is not supported' "ADD of a URL refused clearly"
}

test_from_pulls_a_missing_base() {
        local out
        printf 'FROM %s\nRUN test -e /etc/child\n' "$BERTH_TEST_REGISTRY/busybox-child" | put pull/Dockerfile
        assert_fails bed_exec berthctl image inspect "$BERTH_TEST_REGISTRY/busybox-child"
        out=$(build -t pulled:1 "$D/pull")
        assert_match "$out" "Pulling $BERTH_TEST_REGISTRY/busybox-child" "the pull is announced"
        assert_match "$out" 'Successfully tagged pulled:1' "built on the pulled base"
        bed_exec berthctl image inspect "$BERTH_TEST_REGISTRY/busybox-child" >/dev/null
        # --pull asks the registry again even when the base is there.
        out=$(build --pull -t pulled:1 "$D/pull")
        assert_match "$out" 'Pulling' "--pull pulls"
        printf 'FROM %s\n' "$BERTH_TEST_REGISTRY/no-such-repo" | put pull2/Dockerfile
        out=$(build "$D/pull2" 2>&1) && fail "a base nobody has"
        assert_match "$out" 'pull failed' "the pull's error"
}

test_bad_input() {
        local out images
        images=$(bed_exec berthctl image ls -q | sort | tr '\n' ' ')
        printf 'FROM %s\nRUNN true\n' "$(B)" | put bad1/Dockerfile
        out=$(build -t bad:1 "$D/bad1" 2>&1) && fail "unknown instruction accepted"
        assert_match "$out" 'Dockerfile:2: unknown instruction: RUNN' "unknown instruction, with its line"

        printf 'FROM %s\n\nCOPY onlyone\n' "$(B)" | put bad1b/Dockerfile
        out=$(build -t bad:1 "$D/bad1b" 2>&1) && fail "COPY with one argument accepted"
        assert_match "$out" 'Dockerfile:3: ' "a syntax error names its line"

        printf 'FROM %s\nCOPY ../x /x\n' "$(B)" | put bad2/Dockerfile
        out=$(build -t bad:2 "$D/bad2" 2>&1) && fail "COPY ../x accepted"
        assert_match "$out" 'outside the build context' "COPY outside the context"

        printf 'FROM %s\nCOPY --from=nowhere /x /x\n' "$(B)" | put bad3/Dockerfile
        out=$(build -t bad:3 "$D/bad3" 2>&1) && fail "missing stage accepted"
        assert_match "$out" 'nowhere' "missing stage named"

        printf 'FROM %s\nRUN echo partial > /p; exit 3\n' "$(B)" | put bad4/Dockerfile
        out=$(build -t bad:4 "$D/bad4" 2>&1) && fail "failing RUN accepted"
        assert_match "$out" "returned a non-zero code: 3" "RUN's exit code"
        assert_match "$out" "Step 2" "the step"
        assert_eq "$(n_containers)" 0 "the failed step's container is gone"

        out=$(echo 'not a tar' | bed_exec berthctl build -t bad:5 - 2>&1) && fail "a context that is no tar accepted"
        assert_match "$out" 'not a readable tar' "not a tar"

        # Nothing tagged bad:*, the store holds no image it did not hold (but cached steps of good ones).
        assert_no_match "$(bed_exec berthctl image ls)" '^bad ' "nothing tagged"
}

test_cancel() {
        local path
        printf 'FROM %s\nRUN echo started; sleep 1000\n' "$(B)" | put slow/Dockerfile
        bed_sh "berthctl build -t slow:1 $D/slow > $D/slow.out 2>&1; echo \$? > $D/slow.rc" &
        wait_until 60 bed_exec grep -q started $D/slow.out
        path=$(bed_exec busctl tree --list org.berth1 | grep -E '^/org/berth1/build/_[0-9]+$' | head -n 1)
        [ -n "$path" ] || fail "no build object while building"
        assert_match "$(bed_exec busctl get-property org.berth1 "$path" org.berth1.Build Status)" '"building"' "Status"
        bed_exec busctl call org.berth1 "$path" org.berth1.Build Cancel
        wait_until 60 bed_exec test -s $D/slow.rc
        assert_ne "$(bed_exec cat $D/slow.rc)" 0 "berthctl's exit status"
        assert_match "$(bed_exec cat $D/slow.out)" 'cancelled' "berthctl says so"
        wait_until 60 no_containers
        assert_no_match "$(bed_exec berthctl image ls)" '^slow ' "nothing tagged"

        # A client that goes away cancels its build too, as Docker's does.
        bed_sh "echo \$\$ > $D/slow.pid; exec berthctl build -t slow:2 $D/slow > $D/slow2.out 2>&1" &
        wait_until 60 bed_exec grep -q started $D/slow2.out
        bed_exec sh -c "kill -KILL \$(cat $D/slow.pid)"
        wait_until 60 two_cancels
        wait_until 60 no_containers
}

test_berthd_restart_during_a_build() {
        # berthd stops while a RUN runs: the client hears it, and the restarted berthd removes the step's
        # container (its monitor had kept it running); nothing is tagged.
        bed_sh "berthctl build -t slow:3 $D/slow > $D/slow3.out 2>&1; echo \$? > $D/slow3.rc" &
        wait_until 60 bed_exec grep -q started $D/slow3.out
        bed_exec systemctl restart berthd
        wait_until 60 bed_exec test -s $D/slow3.rc
        assert_match "$(bed_exec cat $D/slow3.out)" 'berthd went away' "berthctl says why"
        wait_until 60 no_containers
        assert_no_match "$(bed_exec berthctl image ls)" '^slow ' "nothing tagged"
        assert_eq "$(bed_exec sh -c 'ls /var/lib/berth/build 2>/dev/null | wc -l')" 0 "no build directory left"
}

test_system_df_and_prune_see_the_cache() {
        local row out
        row=$(bed_exec berthctl system df | grep '^Build Cache')
        assert_match "$row" '^Build Cache +[1-9][0-9]* +0 ' "cached steps counted"
        bed_exec berthctl image prune -f >/dev/null
        row=$(bed_exec berthctl system df | grep '^Build Cache')
        assert_match "$row" '^Build Cache +0 +0 ' "pruned"
        # The cache forgot what prune removed: the steps run again, and the result is right.
        out=$(build -t app:1 "$D/app")
        assert_match "$out" 'Running in' "not cached after the prune"
        assert_match "$(bed_exec berthctl run --rm app:1)" 'app says: one' "the rebuilt image"
}

test_unprivileged_refused() {
        local out
        out=$(bed_nobody berthctl --no-ask-password build -t nobody:1 "$D/app" 2>&1) && fail "nobody may build"
        assert_match "$out" 'Access denied|not authorized|Interactive authentication required' "refused by polkit"
        assert_no_match "$(bed_exec berthctl image ls)" '^nobody ' "nothing built"
}
