/**
 * Job configuration: option keys, the YAML conf file, and {@link dev.llmbatch.jobs.config.JobConf},
 * the one driver-side class that resolves command line &gt; conf file &gt; defaults.
 */
package dev.llmbatch.jobs.config;
