import protobuf from "protobufjs";

/**
 * A tiny valid ONNX model (Y = Identity(X), float[1,2]) encoded by hand with protobufjs, so tests
 * can exercise ONNX registration without shipping binary fixtures or Python. Field numbers follow
 * onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */
export function identityOnnxModel(): Uint8Array {
  const valueInfo = (name: string) => {
    const shape = protobuf.Writer.create();
    for (const d of [1, 2])
      shape
        .uint32((1 << 3) | 2)
        .fork()
        .uint32((1 << 3) | 0)
        .int64(d)
        .ldelim();
    const tensor = protobuf.Writer.create()
      .uint32((1 << 3) | 0)
      .int32(1); // elem_type FLOAT
    tensor.uint32((2 << 3) | 2).bytes(shape.finish());
    const type = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .bytes(tensor.finish());
    return protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .string(name)
      .uint32((2 << 3) | 2)
      .bytes(type.finish())
      .finish();
  };
  const node = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string("X")
    .uint32((2 << 3) | 2)
    .string("Y")
    .uint32((4 << 3) | 2)
    .string("Identity")
    .finish();
  const graph = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .bytes(node)
    .uint32((2 << 3) | 2)
    .string("identity")
    .uint32((11 << 3) | 2)
    .bytes(valueInfo("X"))
    .uint32((12 << 3) | 2)
    .bytes(valueInfo("Y"))
    .finish();
  const opset = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string("")
    .uint32((2 << 3) | 0)
    .int64(13)
    .finish();
  return protobuf.Writer.create()
    .uint32((1 << 3) | 0)
    .int64(8) // ir_version
    .uint32((7 << 3) | 2)
    .bytes(graph)
    .uint32((8 << 3) | 2)
    .bytes(opset)
    .finish();
}
