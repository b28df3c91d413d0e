# Generates the MLmodel fixtures exactly as MLflow writes them:
# mlflow.models.Model.save -> yaml.safe_dump(model.to_dict(), default_flow_style=False).
# Run: python3 generate.py (PyYAML 6). Dict contents follow spec/mlflow-transformers-flavor.md.
import yaml

CHAT_INPUTS = ('[{"type": "array", "items": {"type": "object", "properties": {"content": {"type": '
               '"string", "required": true}, "name": {"type": "string", "required": false}, "role": '
               '{"type": "string", "required": true}}}, "name": "messages", "required": true}, '
               '{"type": "double", "name": "temperature", "required": false}, {"type": "long", '
               '"name": "max_tokens", "required": false}, {"type": "array", "items": {"type": '
               '"string"}, "name": "stop", "required": false}, {"type": "long", "name": "n", '
               '"required": false}, {"type": "boolean", "name": "stream", "required": false}]')
CHAT_OUTPUTS = ('[{"type": "string", "name": "id", "required": true}, {"type": "string", "name": '
                '"object", "required": true}, {"type": "long", "name": "created", "required": true}, '
                '{"type": "string", "name": "model", "required": true}]')
EMB_INPUTS = '[{"type": "string", "name": "input", "required": true}]'
EMB_OUTPUTS = '[{"type": "string", "name": "object", "required": true}]'
PARAMS = ('[{"name": "max_new_tokens", "type": "long", "default": 64, "shape": null}, '
          '{"name": "temperature", "type": "double", "default": 0.7, "shape": null}]')
ENV = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}


def pyfunc(model_config=None):
    d = {"env": ENV, "loader_module": "mlflow.transformers", "python_version": "3.11.9"}
    if model_config:
        d["model_config"] = model_config
    return d


def dump(name, d):
    with open(name, "w") as f:
        yaml.safe_dump(d, stream=f, default_flow_style=False)


# MLflow 2.x, pipeline, save_pretrained=True, task="llm/v1/chat", model_config and prompt_template
dump("mlflow2-pipeline-chat.MLmodel", {
    "artifact_path": "model",
    "flavors": {
        "python_function": pyfunc({"max_new_tokens": 64, "temperature": 0.2, "do_sample": True}),
        "transformers": {
            "transformers_version": "4.46.3", "code": None, "task": "text-generation",
            "inference_task": "llm/v1/chat", "instance_type": "TextGenerationPipeline",
            "framework": "pt", "torch_dtype": "torch.float32",
            "pipeline_model_type": "LlamaForCausalLM", "source_model_name": "acme/tiny-llama-chat",
            "model_binary": "model", "components": ["tokenizer"],
            "tokenizer_type": "PreTrainedTokenizerFast",
        },
    },
    "mlflow_version": "2.19.0",
    "model_size_bytes": 123456,
    "model_uuid": "7f1d3c8e0b6a4e2f9d5c1a7b3e8f0c2d",
    "run_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "utc_time_created": "2024-07-01 22:37:00.123456",
    "signature": {"inputs": CHAT_INPUTS, "outputs": CHAT_OUTPUTS, "params": None},
    "saved_input_example_info": {"artifact_path": "input_example.json", "type": "json_object"},
    "metadata": {"task": "llm/v1/chat", "prompt_template": "<sys>Be brief.</sys>\n{prompt}"},
})

# MLflow 3.x, pipeline, feature-extraction with llm/v1/embeddings (bert-tiny)
dump("mlflow3-pipeline-embeddings.MLmodel", {
    "artifact_path": "model",
    "flavors": {
        "python_function": pyfunc(),
        "transformers": {
            "transformers_version": "4.51.3", "code": None, "task": "feature-extraction",
            "inference_task": "llm/v1/embeddings", "instance_type": "FeatureExtractionPipeline",
            "framework": "pt", "torch_dtype": "torch.float32", "pipeline_model_type": "BertModel",
            "source_model_name": "acme/tiny-bert", "model_binary": "model",
            "components": ["tokenizer"], "tokenizer_type": "BertTokenizerFast",
        },
    },
    "is_signature_from_type_hint": False,
    "mlflow_version": "3.1.1",
    "model_id": "m-0123456789abcdef0123456789abcdef",
    "model_size_bytes": 8650752,
    "model_uuid": "m-0123456789abcdef0123456789abcdef",
    "prompts": None,
    "run_id": "0fedcba9876543210fedcba987654321",
    "type_hint_from_example": False,
    "utc_time_created": "2025-06-20 09:15:42.654321",
    "signature": {"inputs": EMB_INPUTS, "outputs": EMB_OUTPUTS, "params": None},
    "saved_input_example_info": {"artifact_path": "input_example.json",
                                 "serving_input_path": "serving_input_example.json",
                                 "type": "json_object"},
    "metadata": {"task": "llm/v1/embeddings"},
})

# MLflow 2.x, logged from a local checkpoint path (task llm/v1/chat stored as text-generation)
dump("mlflow2-checkpoint-chat.MLmodel", {
    "artifact_path": "model",
    "flavors": {
        "python_function": pyfunc(),
        "transformers": {
            "transformers_version": "4.46.3", "code": None, "task": "text-generation",
            "inference_task": "llm/v1/chat", "instance_type": "TextGenerationPipeline",
            "framework": "pt", "pipeline_model_type": "LlamaForCausalLM",
            "source_model_name": "/local_disk0/checkpoints/tiny-llama",
            "model_binary": "model", "components": ["tokenizer"],
            "tokenizer_type": "PreTrainedTokenizerFast",
        },
    },
    "mlflow_version": "2.16.2",
    "model_uuid": "0c0ffee0c0ffee0c0ffee0c0ffee0c0f",
    "run_id": "11112222333344445555666677778888",
    "utc_time_created": "2024-10-02 08:00:00.000001",
    "signature": {"inputs": CHAT_INPUTS, "outputs": CHAT_OUTPUTS, "params": PARAMS},
    "metadata": {"task": "llm/v1/chat"},
})

# MLflow 3.x, reference-only (save_pretrained=False): no model_binary, pinned revisions
REV = "0123456789abcdef0123456789abcdef01234567"
dump("mlflow3-reference-chat.MLmodel", {
    "artifact_path": "model",
    "flavors": {
        "python_function": pyfunc({"max_new_tokens": 32}),
        "transformers": {
            "transformers_version": "4.51.3", "code": None, "task": "text-generation",
            "inference_task": "llm/v1/chat", "instance_type": "TextGenerationPipeline",
            "framework": "pt", "torch_dtype": "torch.bfloat16",
            "pipeline_model_type": "LlamaForCausalLM", "source_model_name": "acme/tiny-llama-chat",
            "source_model_revision": REV, "components": ["tokenizer"],
            "tokenizer_type": "PreTrainedTokenizerFast", "tokenizer_name": "acme/tiny-llama-chat",
            "tokenizer_revision": REV,
        },
    },
    "mlflow_version": "3.1.1",
    "model_id": "m-fedcba9876543210fedcba9876543210",
    "model_uuid": "m-fedcba9876543210fedcba9876543210",
    "run_id": "99998888777766665555444433332222",
    "utc_time_created": "2025-06-21 10:00:00.000000",
    "metadata": {"task": "llm/v1/chat"},
})

# MLflow 2.3 (legacy): weights in pipeline/, no model_binary, no revision
dump("mlflow2-legacy-pipeline.MLmodel", {
    "artifact_path": "model",
    "flavors": {
        "python_function": {"env": ENV, "loader_module": "mlflow.transformers",
                            "python_version": "3.10.6"},
        "transformers": {
            "transformers_version": "4.28.1", "code": None, "task": "text-generation",
            "instance_type": "TextGenerationPipeline", "framework": "pt",
            "pipeline_model_type": "LlamaForCausalLM", "source_model_name": "acme/tiny-llama",
            "components": ["tokenizer"], "tokenizer_type": "PreTrainedTokenizerFast",
        },
    },
    "mlflow_version": "2.3.2",
    "model_uuid": "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e",
    "run_id": "12341234123412341234123412341234",
    "utc_time_created": "2023-05-10 07:07:07.070707",
})
