/**
 * Tiny sample models written from code (random weights, a word-level tokenizer): for the
 * {@code demo} command and for tests in every module.
 */
package dev.llmbatch.flavor.sample;
