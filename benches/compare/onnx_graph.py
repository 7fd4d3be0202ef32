"""Builds an ONNX graph of a torchvision MobileNet from a .safetensors state_dict, with the
`onnx` package only (no PyTorch): the same weights ruvector-cnn loads, in the graph
torchvision's own ONNX export produces (Conv + BatchNormalization + activation nodes; ONNX
Runtime folds the BatchNorms itself).

Node names start with the layer they belong to, as `rvcnn-mbench --layers` names it
(`features.5 expand/Conv_12`; roles conv, expand, dw, se, project — a residual Add counts to
its project, as ours fuses it —, `last conv`, `avgpool`, `classifier`), so ONNX Runtime's
profile (whose fused nodes keep a name of the nodes they replace) can be summed per layer:
see layers.py.

The architecture tables mirror model/src/arch.rs (torchvision's mobilenetv3.py and
mobilenetv2.py); keys are torchvision state_dict names.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

V3_LARGE = [  # input, kernel, expanded, out, se, activation, stride
    (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1), (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
]
V3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1), (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2), (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
]
V2_TABLE = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1)]


def make_divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


class Builder:
    def __init__(self, weights):
        self.w = weights
        self.nodes, self.inits, self.used, self.n = [], [], set(), 0
        self.scope = None  # the layer the next nodes belong to (see the module docs)

    def name(self, p):
        self.n += 1
        return f"{self.scope}/{p}_{self.n}" if self.scope else f"{p}_{self.n}"

    def init(self, key):
        if key not in self.used:
            self.used.add(key)
            self.inits.append(numpy_helper.from_array(self.w[key].astype(np.float32), key))
        return key

    def node(self, op, inputs, **attrs):
        out = self.name(op)
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def act(self, x, a):
        if a == "RE":
            return self.node("Relu", [x])
        if a == "HS":
            return self.node("HardSwish", [x])
        if a == "R6":
            lo = self.const(np.array(0, np.float32))
            hi = self.const(np.array(6, np.float32))
            return self.node("Clip", [x, lo, hi])
        return x

    def const(self, arr):
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(arr, n))
        return n

    def conv_bn(self, x, wkey, bn, k, s, groups, act, eps):
        y = self.node("Conv", [x, self.init(wkey)], kernel_shape=[k, k], strides=[s, s],
                      pads=[(k - 1) // 2] * 4, group=groups)
        y = self.node("BatchNormalization",
                      [y] + [self.init(f"{bn}.{p}") for p in ("weight", "bias", "running_mean", "running_var")],
                      epsilon=eps)
        return self.act(y, act)

    def se(self, x, p):
        g = self.node("GlobalAveragePool", [x])
        g = self.node("Conv", [g, self.init(f"{p}.fc1.weight"), self.init(f"{p}.fc1.bias")], kernel_shape=[1, 1])
        g = self.node("Relu", [g])
        g = self.node("Conv", [g, self.init(f"{p}.fc2.weight"), self.init(f"{p}.fc2.bias")], kernel_shape=[1, 1])
        g = self.node("HardSigmoid", [g], alpha=1.0 / 6, beta=0.5)
        return self.node("Mul", [x, g])


def build(weights, arch, width=1.0, output="pooled"):
    """ONNX model of `arch` ('mobilenet_v3_small' | 'mobilenet_v3_large' | 'mobilenet_v2')."""
    b = Builder(weights)
    x = "input"
    if arch.startswith("mobilenet_v3"):
        eps = 1e-3
        rows = V3_SMALL if arch == "mobilenet_v3_small" else V3_LARGE
        adj = lambda c: make_divisible(c * width)
        b.scope = "features.0 conv"
        y = b.conv_bn(x, "features.0.0.weight", "features.0.1", 3, 2, 1, "HS", eps)
        for i, (cin, k, exp, cout, se, a, s) in enumerate(rows):
            cin, exp, cout = adj(cin), adj(exp), adj(cout)
            p, j, inp = f"features.{i + 1}.block", 0, y
            if exp != cin:
                b.scope = f"features.{i + 1} expand"
                y = b.conv_bn(y, f"{p}.{j}.0.weight", f"{p}.{j}.1", 1, 1, 1, a, eps)
                j += 1
            b.scope = f"features.{i + 1} dw"
            y = b.conv_bn(y, f"{p}.{j}.0.weight", f"{p}.{j}.1", k, s, exp, a, eps)
            j += 1
            if se:
                b.scope = f"features.{i + 1} se"
                y = b.se(y, f"{p}.{j}")
                j += 1
            b.scope = f"features.{i + 1} project"
            y = b.conv_bn(y, f"{p}.{j}.0.weight", f"{p}.{j}.1", 1, 1, 1, None, eps)
            if s == 1 and cin == cout:
                y = b.node("Add", [y, inp])
        n = len(rows) + 1
        b.scope = "last conv"
        y = b.conv_bn(y, f"features.{n}.0.weight", f"features.{n}.1", 1, 1, 1, "HS", eps)
        head = [("classifier.0", "HS"), ("classifier.3", None)]
    else:
        eps = 1e-5
        cin = make_divisible(32 * width)
        b.scope = "features.0 conv"
        y = b.conv_bn(x, "features.0.0.weight", "features.0.1", 3, 2, 1, "R6", eps)
        i = 1
        for t, c, n, s in V2_TABLE:
            cout = make_divisible(c * width)
            for r in range(n):
                stride = s if r == 0 else 1
                p, inp, hidden = f"features.{i}.conv", y, int(round(cin * t))
                j = 0
                if t != 1:
                    b.scope = f"features.{i} expand"
                    y = b.conv_bn(y, f"{p}.0.0.weight", f"{p}.0.1", 1, 1, 1, "R6", eps)
                    j = 1
                b.scope = f"features.{i} dw"
                y = b.conv_bn(y, f"{p}.{j}.0.weight", f"{p}.{j}.1", 3, stride, hidden, "R6", eps)
                b.scope = f"features.{i} project"
                y = b.conv_bn(y, f"{p}.{j + 1}.weight", f"{p}.{j + 2}", 1, 1, 1, None, eps)
                if stride == 1 and cin == cout:
                    y = b.node("Add", [y, inp])
                cin, i = cout, i + 1
        b.scope = "last conv"
        y = b.conv_bn(y, f"features.{i}.0.weight", f"features.{i}.1", 1, 1, 1, "R6", eps)
        head = [("classifier.1", None)]
    b.scope = "avgpool"
    y = b.node("Flatten", [b.node("GlobalAveragePool", [y])])
    b.scope = "classifier"
    if output != "pooled":
        stop = len(head) if output == "logits" else len(head) - 1
        for p, a in head[:stop]:
            y = b.node("Gemm", [y, b.init(f"{p}.weight"), b.init(f"{p}.bias")], transB=1)
            y = b.act(y, a)
    b.nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        b.nodes, arch,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", "D"])],
        b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
