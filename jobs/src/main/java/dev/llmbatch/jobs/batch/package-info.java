/**
 * OpenAI Batch API files: each input line served by its url (chat, completions, embeddings) and
 * written as one Batch output line, in order, with exactly one of response and error set.
 */
package dev.llmbatch.jobs.batch;
