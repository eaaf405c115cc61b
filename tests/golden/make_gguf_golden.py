#!/usr/bin/env python3
"""Writes the GGUF reader's golden fixtures under tests/data/gguf/ (run from anywhere):

  types.gguf          one tensor per supported ggml type (random data, odd row counts) and one
                      metadata key per GGUF value type, nested arrays included (see kMeta in
                      tests/unit/gguf_test.cpp, which repeats these values).
  types.expected.f32  the dequantised tensors, concatenated in file order, as little-endian f32,
                      computed by gguf.quants.dequantize (the reference implementation).
  smollm2_rows.f32    a few dequantised rows of the embedded SmolLM2-135M model (see
                      kModelRows in gguf_test.cpp), only when the model file exists.

Q4_K and Q6_K cannot be quantised by the gguf package, so their blocks are random bytes with sane
f16 scales; dequantize() is still the reference.
"""
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "gguf")
MODEL = os.environ.get("CKF_MODEL_GGUF", os.path.expanduser("~/.cache/ckf/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
rng = np.random.default_rng(1234)


def random_kquant_blocks(qtype, n_blocks):
    block_bytes = gguf.GGML_QUANT_SIZES[qtype][1]
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    scales = rng.uniform(0.001, 0.05, size=(n_blocks, 2)).astype(np.float16).view(np.uint8)
    if qtype == T.Q4_K:   # d, dmin at bytes 0..3
        raw[:, 0:4] = scales.reshape(n_blocks, 4)
    else:                 # Q6_K: d at bytes 208..209
        raw[:, 208:210] = scales.reshape(n_blocks, 4)[:, :2]
    return raw


def write_types():
    w = gguf.GGUFWriter(os.path.join(OUT, "types.gguf"), "llama")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.15625)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo gguf")
    w.add_uint64("test.u64", 18000000000000000000)
    w.add_int64("test.i64", -9000000000000000000)
    w.add_float64("test.f64", -2.718281828459045)
    w.add_array("test.array_i32", [1, -2, 3])
    w.add_array("test.array_str", ["a", "", "xyz"])
    w.add_array("test.array_nested", [[1, 2], [3, 4, 5]])
    w.add_custom_alignment(64)

    expected = []
    # (name, type, shape (rows, cols) in row-major order); cols a multiple of the block size.
    specs = [("w.f32", T.F32, (3, 7)), ("w.f16", T.F16, (5, 9)), ("w.bf16", T.BF16, (3, 5)),
             ("w.q8_0", T.Q8_0, (3, 64)), ("w.q4_0", T.Q4_0, (5, 96)), ("w.q4_1", T.Q4_1, (3, 32)),
             ("w.q4_k", T.Q4_K, (3, 512)), ("w.q6_k", T.Q6_K, (5, 256)), ("w.vec", T.F32, (1, 11))]
    for name, qtype, (rows, cols) in specs:
        if qtype in (T.Q4_K, T.Q6_K):
            data = random_kquant_blocks(qtype, rows * cols // 256).reshape(rows, -1)
        else:
            x = rng.standard_normal((rows, cols)).astype(np.float32)
            data = quantize(x, qtype)
        if name == "w.vec":  # a 1-D tensor, as norm weights are
            data = data.reshape(cols)
        w.add_tensor(name, data, raw_dtype=qtype)
        expected.append(dequantize(data, qtype).astype(np.float32).reshape(-1))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    np.concatenate(expected).astype("<f4").tofile(os.path.join(OUT, "types.expected.f32"))


# Rows of the real model's tensors, by GGUF name: (name, [row indices]).
MODEL_ROWS = [("token_embd.weight", [0, 1, 49151]), ("blk.0.attn_q.weight", [0, 575]),
              ("blk.29.ffn_down.weight", [3]), ("output_norm.weight", [0])]


def write_model_rows():
    r = gguf.GGUFReader(MODEL)
    tensors = {t.name: t for t in r.tensors}
    out = []
    for name, rows in MODEL_ROWS:
        t = tensors[name]
        full = dequantize(t.data, t.tensor_type).reshape(-1, int(t.shape[0]))
        out.extend(full[i] for i in rows)
    np.concatenate(out).astype("<f4").tofile(os.path.join(OUT, "smollm2_rows.f32"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_types()
    if os.path.exists(MODEL):
        write_model_rows()
    else:
        print(f"model {MODEL} missing: smollm2_rows.f32 not written", file=sys.stderr)
