/** Reading and writing models logged with MLflow's Transformers flavor. */
package dev.llmbatch.flavor;
