/**
 * Serving a logged model: {@link dev.llmbatch.engine.serve.LoadedModel} turns OpenAI requests into
 * token generation (chat templates, prompt_template, parameter precedence, per-request errors) and
 * generation results back into OpenAI responses. Used by {@code llm-batch predict} and the udf module.
 */
package dev.llmbatch.engine.serve;
