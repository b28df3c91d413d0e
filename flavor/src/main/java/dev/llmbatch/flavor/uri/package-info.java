/**
 * Model URIs ({@code runs:/}, {@code models:/}, {@code dbfs:/}, {@code file:}, Hadoop schemes)
 * resolved once, on the driver, to the concrete artifact location executors read, against an
 * MLflow file store or a tracking server's REST API.
 */
package dev.llmbatch.flavor.uri;
