# Sourced by the launchers (llm-batch, submit-common.sh): whether a jar built from this checkout
# is older than the checkout's sources, as after a `git pull` or an edit. Running it anyway would
# run yesterday's code under today's name, so llm-batch rebuilds and the spark-submit wrappers
# warn.

# llm_batch_stale_source JAR ROOT: prints one build input under ROOT (the parent pom.xml, a
# module's pom.xml, or a file under a module's src/main; a module is any folder of ROOT with a
# pom.xml) modified after JAR, or nothing when JAR is newer than all of them (or ROOT holds no
# sources, as in an unpacked release; an unmatched pattern is a path find does not find).
llm_batch_stale_source() {
  local jar="$1" root="$2"
  find "$root/pom.xml" "$root"/*/pom.xml "$root"/*/src/main -type f -newer "$jar" -print -quit \
    2>/dev/null || true
}
