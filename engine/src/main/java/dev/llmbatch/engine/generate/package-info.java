/**
 * Token generation over a {@link dev.llmbatch.engine.model.CausalLm}: per-request sampling, a
 * continuous-batching scheduler (plan a step, update from its outputs) with token and KV-cache
 * budgets and chunked prefill, and the engine thread that drives one model.
 */
package dev.llmbatch.engine.generate;
