#!/usr/bin/env python3
"""Rewrite Kokoro-82M's int8 ONNX graph into a float graph with the same weights.

    python3 tools/tts/kokoro_float_graph.py kokoro.onnx kokoro-float.onnx

The int8 export (onnxruntime's dynamic quantization) quantizes every
activation to uint8 at run time (DynamicQuantizeLinear) before each
MatMulInteger, ConvInteger and DynamicQuantizeLSTM. This tool keeps the int8
weights' values exactly (dequantized: (w - zero_point) * scale) but computes
in float, as an engine that dequantizes the weights at load and keeps f32
activations would. Comparing its output with the int8 graph's measures what
activation quantization alone contributes (docs/tts-kokoro.md, "What parity
can mean"). Ops the rewrite does not know are refused by name.

- MatMulInteger(q(x), W, zx, zw) * (sx * sw)  ->  MatMul(x / sx, W - zw) * (sx * sw)
- ConvInteger likewise with Conv; its int32 bias floor(b / (sx * sw)) becomes
  the float b / (sx * sw) (the Floor is made an Identity, the Cast a float one)
- DynamicQuantizeLSTM(W [dir, in, 4H] int8, scales per direction)  ->  LSTM
  with W^T dequantized ([dir, 4H, in], ONNX's gate order, unchanged)
"""
import sys

import numpy as np


def main(src, dst):
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(src)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    arr = {}

    def get(name):
        if name not in arr:
            arr[name] = numpy_helper.to_array(inits[name])
        return arr[name]

    dq_src = {}  # DynamicQuantizeLinear outputs -> (float input, scale name)
    for n in g.node:
        if n.op_type == "DynamicQuantizeLinear":
            dq_src[n.output[0]] = (n.input[0], n.output[1])

    new_inits = []
    new_nodes = []
    extra_done = {}

    def float_input(qname):
        """x / sx for a dynamically quantized x (one Div per quantized tensor)."""
        if qname not in dq_src:
            sys.exit(f"kokoro_float_graph: {qname} is not a DynamicQuantizeLinear output")
        if qname not in extra_done:
            x, s = dq_src[qname]
            out = qname + "_fdiv"
            new_nodes.append(helper.make_node("Div", [x, s], [out], name=out))
            extra_done[qname] = out
        return extra_done[qname]

    done_w = {}

    def deq_weight(wname, zname, key):
        if (wname, zname) in done_w:  # ALBERT's one layer serves all 12
            return done_w[(wname, zname)]
        w = get(wname).astype(np.float32)
        z = get(zname).astype(np.float32) if zname else np.float32(0)
        if key == "matmul":          # W [K, N], zero point per column [N] or scalar
            f = w - z
        else:                        # conv W [Cout, Cin, K], scalar zero point
            f = w - z
        name = wname + "_float_" + key
        new_inits.append(numpy_helper.from_array(f.astype(np.float32), name))
        done_w[(wname, zname)] = name
        return name

    floor_to_identity = set()
    cast_to_float = set()
    for n in g.node:
        if n.op_type == "MatMulInteger":
            xf = float_input(n.input[0])
            wf = deq_weight(n.input[1], n.input[3] if len(n.input) > 3 else "", "matmul")
            new_nodes.append(helper.make_node("MatMul", [xf, wf], [n.output[0]], name=n.name + "_float"))
        elif n.op_type == "ConvInteger":
            xf = float_input(n.input[0])
            wf = deq_weight(n.input[1], n.input[3] if len(n.input) > 3 else "", "conv")
            node = helper.make_node("Conv", [xf, wf], [n.output[0]], name=n.name + "_float")
            node.attribute.extend(n.attribute)
            new_nodes.append(node)
        elif n.op_type == "DynamicQuantizeLSTM":
            ins = list(n.input) + [""] * (12 - len(n.input))
            X, W, R, B, seq, h0, c0, P, ws, wz, rs, rz = ins
            def deq_lstm(wn, sn, zn):
                if (wn, sn) in done_w:
                    return done_w[(wn, sn)]
                w = get(wn).astype(np.float32)            # [dir, in, 4H]
                s = get(sn).astype(np.float32).reshape(-1, 1, 1)
                z = get(zn).astype(np.float32).reshape(-1, 1, 1)
                name = wn + "_float_lstm"
                new_inits.append(numpy_helper.from_array(np.ascontiguousarray(((w - z) * s).transpose(0, 2, 1)), name))
                done_w[(wn, sn)] = name
                return name
            node = helper.make_node("LSTM", [X, deq_lstm(W, ws, wz), deq_lstm(R, rs, rz), B, seq, h0, c0, P],
                                    list(n.output), name=n.name + "_float")
            node.attribute.extend(a for a in n.attribute if a.name in ("direction", "hidden_size", "activations",
                                                                     "clip", "input_forget"))
            new_nodes.append(node)
        elif n.op_type == "DynamicQuantizeLinear":
            new_nodes.append(n)  # its scale is still used by the following Mul
        elif n.op_type == "Floor" and n.name.endswith("bias_quant_rounded"):
            new_nodes.append(helper.make_node("Identity", list(n.input), list(n.output), name=n.name))
            floor_to_identity.add(n.name)
        elif n.op_type == "Cast" and n.name.endswith("bias_quantized_node"):
            new_nodes.append(helper.make_node("Cast", list(n.input), list(n.output), name=n.name, to=1))
            cast_to_float.add(n.name)
        elif n.op_type in ("MatMulIntegerToFloat", "QLinearConv", "QLinearMatMul", "QuantizeLinear"):
            sys.exit(f"kokoro_float_graph: unknown quantized op {n.op_type} ({n.name})")
        else:
            new_nodes.append(n)
    if len(floor_to_identity) != len(cast_to_float):
        sys.exit("kokoro_float_graph: conv bias pattern (Floor, Cast) not as expected")
    del g.node[:]
    g.node.extend(new_nodes)
    g.initializer.extend(new_inits)
    # value_info of int32 results that are now float: drop them all, ORT infers
    del g.value_info[:]
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.save(m, dst)
    print(f"{dst}: {len(extra_done)} activations kept in float, {len(done_w)} weights dequantized, "
          f"{len(floor_to_identity)} conv biases unrounded")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
