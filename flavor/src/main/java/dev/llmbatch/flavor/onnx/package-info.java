/**
 * Import of ONNX-exported BERT encoders (e.g. the all-MiniLM-L6-v2 and bge-small-en-v1.5 graphs that
 * LangChain4j ships on Maven Central) into a complete MLflow Transformers flavor with Hugging Face
 * names: the ONNX protobuf is parsed with protobuf-java classes generated from
 * {@code src/main/proto/onnx_subset.proto}.
 */
package dev.llmbatch.flavor.onnx;
