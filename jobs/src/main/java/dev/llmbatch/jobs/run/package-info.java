/**
 * Running a job on the driver: the Spark session (given by spark-submit or embedded), preparing the
 * input columns, serving through the udf module, writing, and the run summary.
 */
package dev.llmbatch.jobs.run;
