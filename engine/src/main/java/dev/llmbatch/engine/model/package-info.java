/**
 * Model architectures over DJL NDArrays, and their plain-Java faces ({@link
 * dev.llmbatch.engine.model.CausalLm}, encoders) used by generation and serving.
 */
package dev.llmbatch.engine.model;
