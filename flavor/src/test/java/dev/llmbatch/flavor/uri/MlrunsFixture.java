package dev.llmbatch.flavor.uri;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes an MLflow file store the way MLflow 2.x and 3.x lay it out (meta.yaml keys and value
 * types as MLflow writes them), with:
 * <ul>
 *   <li>experiment 0, run {@link #RUN_V2} holding {@code artifacts/model/} (MLflow 2 layout);</li>
 *   <li>run {@link #RUN_V3} whose model is logged model {@link #MODEL_ID} named {@code model}
 *       under {@code 0/models/} (MLflow 3 layout);</li>
 *   <li>registered model {@code chat}: v1 Production (source runs:/RUN_V2/model), v2 Staging
 *       (source models:/MODEL_ID, storage_location set, alias champion), v3 Archived (a file:
 *       source), v4 None (source runs:/RUN_V2/model), v5 Deleted_Internal.</li>
 * </ul>
 */
final class MlrunsFixture {
  static final String RUN_V2 = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
  static final String RUN_V3 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  static final String MODEL_ID = "m-0123456789abcdef0123456789abcdef";

  final Path root;

  MlrunsFixture(Path root) {
    this.root = root;
  }

  static MlrunsFixture write(Path root) throws IOException {
    MlrunsFixture f = new MlrunsFixture(root);
    f.writeAll();
    return f;
  }

  Path runModel() {
    return root.resolve("0").resolve(RUN_V2).resolve("artifacts").resolve("model");
  }

  Path loggedModel() {
    return root.resolve("0/models").resolve(MODEL_ID).resolve("artifacts");
  }

  Path archivedModel() {
    return root.resolve("0").resolve(RUN_V2).resolve("artifacts").resolve("old-model");
  }

  private void writeAll() throws IOException {
    String uri0 = root.resolve("0").toUri().toString();
    write("0/meta.yaml", "artifact_location: " + uri0 + "\ncreation_time: 1732900000000\n"
        + "experiment_id: '0'\nlast_update_time: 1732900000000\nlifecycle_stage: active\n"
        + "name: Default\n");
    writeRun(RUN_V2);
    writeRun(RUN_V3);
    write("0/" + RUN_V2 + "/artifacts/model/MLmodel", mlmodel("model"));
    write("0/" + RUN_V2 + "/artifacts/model/model/config.json", "{\"model_type\": \"llama\"}\n");
    write("0/" + RUN_V2 + "/artifacts/model/components/tokenizer/tokenizer_config.json", "{}\n");
    write("0/" + RUN_V2 + "/artifacts/old-model/MLmodel", mlmodel("old-model"));
    write("0/models/" + MODEL_ID + "/meta.yaml", "artifact_location: "
        + loggedModel().toUri() + "\ncreation_timestamp: 1732900100000\nexperiment_id: '0'\n"
        + "last_updated_timestamp: 1732900100000\nmodel_id: " + MODEL_ID + "\nmodel_type: ''\n"
        + "name: model\nsource_run_id: " + RUN_V3 + "\nstatus: READY\nstatus_message: null\n"
        + "tags: {}\n");
    write("0/models/" + MODEL_ID + "/artifacts/MLmodel", mlmodel("model") + "model_id: "
        + MODEL_ID + "\n");
    write("models/chat/meta.yaml", "creation_timestamp: 1732900200000\ndescription: ''\n"
        + "last_updated_timestamp: 1732900600000\nname: chat\n");
    writeVersion(1, "Production", "runs:/" + RUN_V2 + "/model", null, RUN_V2, null);
    writeVersion(2, "Staging", "models:/" + MODEL_ID, loggedModel().toUri().toString(), RUN_V3,
        MODEL_ID);
    writeVersion(3, "Archived", archivedModel().toUri().toString(), null, RUN_V2, null);
    writeVersion(4, "None", "runs:/" + RUN_V2 + "/model", null, RUN_V2, null);
    writeVersion(5, "Deleted_Internal", "runs:/" + RUN_V2 + "/gone", null, RUN_V2, null);
    write("models/chat/aliases/champion", "2");
  }

  private void writeRun(String runId) throws IOException {
    write("0/" + runId + "/meta.yaml", "artifact_uri: " + root.resolve("0").resolve(runId)
        .resolve("artifacts").toUri() + "\nend_time: 1732900050000\nentry_point_name: ''\n"
        + "experiment_id: '0'\nlifecycle_stage: active\nrun_id: " + runId + "\nrun_name: r-"
        + runId.substring(0, 4) + "\nrun_uuid: " + runId + "\nsource_name: ''\nsource_type: 4\n"
        + "source_version: ''\nstart_time: 1732900000000\nstatus: 3\ntags: []\nuser_id: tester\n");
    Files.createDirectories(root.resolve("0").resolve(runId).resolve("artifacts"));
  }

  void writeVersion(int n, String stage, String source, String storage, String runId,
      String modelId) throws IOException {
    StringBuilder sb = new StringBuilder()
        .append("creation_timestamp: ").append(1732900200000L + n).append('\n')
        .append("current_stage: ").append(stage).append('\n')
        .append("description: ''\n")
        .append("last_updated_timestamp: ").append(1732900300000L + n).append('\n');
    if (modelId != null) {
      sb.append("model_id: ").append(modelId).append('\n');
    }
    sb.append("name: chat\nrun_id: ").append(runId).append("\nrun_link: ''\n")
        .append("source: ").append(source).append('\n')
        .append("status: READY\nstatus_message: ''\n");
    if (storage != null) {
      sb.append("storage_location: ").append(storage).append('\n');
    }
    sb.append("user_id: ''\nversion: ").append(n).append('\n');
    write("models/chat/version-" + n + "/meta.yaml", sb.toString());
  }

  private static String mlmodel(String path) {
    return "artifact_path: " + path + "\nflavors:\n  transformers:\n    task: text-generation\n"
        + "    model_binary: model\nmlflow_version: 2.19.0\n";
  }

  void write(String rel, String text) throws IOException {
    Path p = root.resolve(rel);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text, StandardCharsets.UTF_8);
  }
}
