/**
 * Hugging Face chat templates (Jinja2 source from tokenizer_config.json) rendered on Jinjava,
 * sandboxed and made to match Python Jinja2's output byte for byte.
 */
package dev.llmbatch.engine.template;
