/**
 * Model lifecycle: logging a local checkpoint as a Transformers-flavor model without reading its
 * weights ({@code log}), registering it in a file-store registry, and persisting reference-only
 * models from the Hugging Face cache into their artifact location ({@code persist}).
 */
package dev.llmbatch.flavor.lifecycle;
