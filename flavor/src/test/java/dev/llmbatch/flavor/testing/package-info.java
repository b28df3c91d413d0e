/** Test fixtures other modules reuse: sample logged models in every layout and a fake HF cache. */
package dev.llmbatch.flavor.testing;
