#!/usr/bin/env bash
# Shared body of the spark-submit wrappers (submit-chat, submit-completions, submit-embeddings,
# submit-batch): runs `llm-batch <command>` on a cluster through $SPARK_HOME/bin/spark-submit with
# the shaded jar. Sourced with LLM_BATCH_COMMAND set.
#
#   submit-scripts/submit-chat [spark-submit options] [llm-batch chat options]
#
# spark-submit options recognised and passed to spark-submit (everything else goes to the command):
#   --master URL, --deploy-mode client|cluster, --conf k=v, --properties-file F, --jars A,B,
#   --packages G:A:V, --files A,B, --driver-memory M, --executor-memory M, --executor-cores N,
#   --num-executors N, --name NAME, --queue Q, --total-executor-cores N
# --conf-file F (the llm-batch job YAML) goes to the command; in cluster deploy mode the file is
# shipped with --files and named by its base name.
#
# Environment:
#   SPARK_HOME            the Spark 4.1 installation (required unless spark-submit is on PATH)
#   LLM_BATCH_JAR         the shaded jar (default jobs/target/llm-batch-jobs-*-spark.jar)
#   LLM_BATCH_LIBTORCH_JAR  the CPU libtorch jar for executors (default: from the build's
#                         classpath-runtime.txt; set to "none" on GPU clusters that set
#                         PYTORCH_LIBRARY_PATH)
#   LLM_BATCH_SUBMIT_ARGS extra spark-submit arguments, split on spaces
set -euo pipefail

: "${LLM_BATCH_COMMAND:?set by the wrapper}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

if [[ -n "${SPARK_HOME:-}" ]]; then
  submit="$SPARK_HOME/bin/spark-submit"
  [[ -x "$submit" ]] || { echo "llm-batch: $submit is missing or not executable (check SPARK_HOME)" >&2; exit 1; }
elif command -v spark-submit >/dev/null 2>&1; then
  submit="$(command -v spark-submit)"
else
  echo "llm-batch: set SPARK_HOME to a Spark 4.1 installation (or put spark-submit on PATH);" \
       "to run without Spark use submit-scripts/llm-batch $LLM_BATCH_COMMAND" >&2
  exit 1
fi

jar="${LLM_BATCH_JAR:-}"
if [[ -z "$jar" ]]; then
  for f in "$root"/jobs/target/llm-batch-jobs-*-spark.jar; do [[ -f "$f" ]] && jar="$f"; done
fi
[[ -n "$jar" && -f "$jar" ]] || { echo "llm-batch: no shaded jar; build it with" \
  "'mvn -B -DskipTests package -pl jobs -am' or set LLM_BATCH_JAR" >&2; exit 1; }
if [[ -z "${LLM_BATCH_JAR:-}" ]]; then # the build's own jar: say so when the sources moved on
  # shellcheck source=stale-jar.sh
  source "$here/stale-jar.sh"
  stale="$(llm_batch_stale_source "$jar" "$root")"
  [[ -z "$stale" ]] || echo "llm-batch: warning: ${stale#"$root"/} changed since $(basename "$jar")" \
    "was built, so the cluster runs the older code; rebuild with 'mvn -B -DskipTests package -pl" \
    "jobs -am'" >&2
fi

libtorch="${LLM_BATCH_LIBTORCH_JAR:-}"
if [[ -z "$libtorch" && -f "$root/jobs/target/classpath-runtime.txt" ]]; then
  libtorch="$(tr ':' '\n' < "$root/jobs/target/classpath-runtime.txt" | grep -m1 'pytorch-native-cpu' || true)"
fi

spark_args=()
job_args=()
deploy_mode="client"
jars=""
files=""
conf_file=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --master|--deploy-mode|--conf|--properties-file|--packages|--driver-memory|--executor-memory|\
    --executor-cores|--num-executors|--name|--queue|--total-executor-cores|--driver-cores)
      [[ $# -ge 2 ]] || { echo "llm-batch: $1 needs a value" >&2; exit 2; }
      [[ "$1" == "--deploy-mode" ]] && deploy_mode="$2"
      spark_args+=("$1" "$2"); shift 2 ;;
    --jars) jars="$2"; shift 2 ;;
    --files) files="$2"; shift 2 ;;
    --conf-file) conf_file="$2"; shift 2 ;;
    --conf-file=*) conf_file="${1#--conf-file=}"; shift ;;
    *) job_args+=("$1"); shift ;;
  esac
done

if [[ -n "$libtorch" && "$libtorch" != "none" ]]; then
  jars="${jars:+$jars,}$libtorch"
fi
if [[ -n "$conf_file" ]]; then
  [[ -f "$conf_file" ]] || { echo "llm-batch: --conf-file $conf_file: no such file" >&2; exit 2; }
  if [[ "$deploy_mode" == "cluster" ]]; then
    files="${files:+$files,}$conf_file"
    job_args=(--conf-file "$(basename "$conf_file")" "${job_args[@]}")
  else
    job_args=(--conf-file "$conf_file" "${job_args[@]}")
  fi
fi
[[ -n "$jars" ]] && spark_args+=(--jars "$jars")
[[ -n "$files" ]] && spark_args+=(--files "$files")

# On AMD CPUs the driver JVM (and so local[*] executors) gets oneMKL's AVX-512 kernels; executors
# on other hosts need spark.executorEnv.LD_PRELOAD pointing at the library there (README, "CPU speed").
# oneMKL's AVX-512 kernels on AMD, glibc malloc that keeps libtorch's temporaries mapped, AVX2
# elementwise kernels on AMD, the Java heap on huge pages (native-env.sh says why, and how to turn
# each off)
# shellcheck source=native-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/native-env.sh"
native_env
# ... and so do the executors, wherever they run, unless the caller set those variables itself;
# so do the engine's switches the caller set here (README, "Launcher environment")
for var in GLIBC_TUNABLES ATEN_CPU_CAPABILITY LLM_BATCH_AMX LLM_BATCH_PACKED_16BIT \
    LLM_BATCH_PACKED_GEMM LLM_BATCH_NATIVE_STACK LLM_BATCH_DIRECT_STEP LLM_BATCH_CPU_KERNELS \
    LLM_BATCH_CPU_ISA; do
  if [[ -n "${!var:-}" && " ${spark_args[*]} ${LLM_BATCH_SUBMIT_ARGS:-} " != *"spark.executorEnv.$var="* ]]; then
    spark_args+=(--conf "spark.executorEnv.$var=${!var}")
  fi
done

# DJL never downloads: libtorch comes from the jar above or PYTORCH_LIBRARY_PATH.
# The Java heap on transparent huge pages where this host offers them (native-env.sh, item 3).
jvm_opts="-Dai.djl.offline=true${LLM_BATCH_JVM_THP:+ $LLM_BATCH_JVM_THP}"
spark_args+=(--conf "spark.driver.extraJavaOptions=$jvm_opts"
             --conf "spark.executor.extraJavaOptions=$jvm_opts")

# shellcheck disable=SC2086 # LLM_BATCH_SUBMIT_ARGS is split on purpose
exec "$submit" --class dev.llmbatch.jobs.LlmBatchCli "${spark_args[@]}" ${LLM_BATCH_SUBMIT_ARGS:-} \
  "$jar" "$LLM_BATCH_COMMAND" "${job_args[@]}"
