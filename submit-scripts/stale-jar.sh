# Sourced by the launchers (llm-batch, submit-common.sh): whether a jar built from this checkout
# is older than the checkout's sources, as after a `git pull` or an edit. Running it anyway would
# run yesterday's code under today's name, so llm-batch rebuilds and the spark-submit wrappers
# warn.

# llm_batch_stale_source JAR ROOT: prints one build input under ROOT (a pom.xml, or a file under a
# module's src/main) modified after JAR, or nothing when JAR is newer than all of them (or ROOT
# holds no sources, as in an unpacked release).
llm_batch_stale_source() {
  local jar="$1" root="$2" m
  local inputs=("$root/pom.xml")
  for m in flavor engine udf jobs; do
    inputs+=("$root/$m/pom.xml" "$root/$m/src/main")
  done
  find "${inputs[@]}" -type f -newer "$jar" -print -quit 2>/dev/null || true
}
