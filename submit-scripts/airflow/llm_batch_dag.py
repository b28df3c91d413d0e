"""Airflow DAG: run an llm-batch job with SparkSubmitOperator, then push its run summary to XCom.

Copy into your dags/ folder. Needs apache-airflow-providers-apache-spark, a `spark_default`
connection pointing at your cluster, the shaded jar (llm-batch-jobs-<version>-spark.jar) where the
Airflow worker can read it, and the job's output on a filesystem the worker can read the summary
from (local/NFS here; for s3a outputs read it with the S3 hook instead, see read_summary).
"""
from __future__ import annotations

import json
import os
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

LLM_BATCH_JAR = os.environ.get("LLM_BATCH_JAR", "/opt/llm-batch/llm-batch-jobs-0.1.0-SNAPSHOT-spark.jar")
LIBTORCH_JAR = os.environ.get("LLM_BATCH_LIBTORCH_JAR", "/opt/llm-batch/pytorch-native-cpu-2.7.1-linux-x86_64.jar")
MODEL_URI = "models:/support-assistant/3"
OUTPUT = "/data/llm-batch/chat/{{ ds }}"

with DAG(
    dag_id="llm_batch_chat",
    start_date=datetime(2026, 11, 1),
    schedule="@daily",
    catchup=False,
    tags=["llm-batch"],
) as dag:
    chat = SparkSubmitOperator(
        task_id="chat",
        conn_id="spark_default",
        application=LLM_BATCH_JAR,
        java_class="dev.llmbatch.jobs.LlmBatchCli",
        jars=LIBTORCH_JAR,
        conf={
            "spark.driver.extraJavaOptions": "-Dai.djl.offline=true",
            "spark.executor.extraJavaOptions": "-Dai.djl.offline=true",
        },
        application_args=[
            "chat",
            "--model", MODEL_URI,
            "--input", "/data/chats/{{ ds }}",
            "--id-col", "conversation_id",
            "--output", OUTPUT,
            # A retried Airflow task resumes: ids already written are not served again.
            "--resume",
            "--max-tokens", "256",
            "--progress", "false",
        ],
        retries=2,
    )

    def read_summary(output: str, **_):
        """Returns _llm_batch_summary.json; the return value is pushed to XCom."""
        with open(os.path.join(output, "_llm_batch_summary.json"), encoding="utf-8") as f:
            summary = json.load(f)
        if summary.get("status") != "succeeded":
            raise RuntimeError(f"llm-batch job did not succeed: {summary}")
        return summary

    push_summary = PythonOperator(
        task_id="push_summary",
        python_callable=read_summary,
        op_kwargs={"output": OUTPUT},
    )

    chat >> push_summary
