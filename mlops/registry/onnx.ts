import { ValidationError } from "../../platform/errors.ts";

/** Input/output names of a loaded ONNX model. */
export interface OnnxSignature {
  inputs: string[];
  outputs: string[];
}

/**
 * Proves the bytes are a loadable ONNX model by creating an onnxruntime session (parsing the
 * protobuf header alone would accept graphs the runtime rejects). `file` names the source in errors.
 */
export async function validateOnnx(bytes: Uint8Array, file: string): Promise<OnnxSignature> {
  const ort = await import("onnxruntime-node");
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (err) {
    throw new ValidationError(
      file,
      `not a loadable ONNX model (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`,
      {
        hint: "Export the model with an ONNX converter (e.g. skl2onnx, onnxmltools) and try again.",
      },
    );
  }
  const signature = { inputs: [...session.inputNames], outputs: [...session.outputNames] };
  await session.release();
  return signature;
}
