//! Benchmark fixtures: MobileNetV3 layer tables (`data/*.md`, from the model's layer list) and
//! one runnable operator per layer, shared by the criterion benches and `rvcnn-kbench`.

use ruvector_cnn_kernels::ops::*;
use ruvector_cnn_kernels::{Activation, KernelTable};

/// The nominal single-core AVX-512 FMA peak the project targets (AMD Zen 5), GFLOP/s.
/// Reports also show the peak measured on the machine at hand.
pub const NOMINAL_PEAK_GFLOPS: f64 = 285.0;

/// One row of a layer table.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Module path, e.g. `features.12.block.0.0`.
    pub module: String,
    /// `stem`, `depthwise`, `pointwise`, `se` or `classifier`.
    pub cat: String,
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Window size.
    pub k: usize,
    /// Stride.
    pub s: usize,
    /// Input height (= width).
    pub hin: usize,
    /// Output height (= width).
    pub hout: usize,
    /// Multiply-accumulates at batch 1.
    pub macs: u64,
}

impl Layer {
    /// A short label: `pointwise 14x14 112->672`.
    pub fn label(&self) -> String {
        match self.cat.as_str() {
            "depthwise" => format!(
                "dw{}x{}s{} {}x{}x{}",
                self.k, self.k, self.s, self.hin, self.hin, self.cin
            ),
            "stem" => format!("stem {}x{}x{}->{}", self.hin, self.hin, self.cin, self.cout),
            cat => format!(
                "{cat} {}x{} {}->{}",
                self.hout, self.hout, self.cin, self.cout
            ),
        }
    }
}

/// MobileNetV3 variants with a layer table.
pub const MODELS: [(&str, &str); 2] = [
    (
        "mobilenet_v3_small",
        include_str!("../data/layers_mobilenet_v3_small.md"),
    ),
    (
        "mobilenet_v3_large",
        include_str!("../data/layers_mobilenet_v3_large.md"),
    ),
];

/// Parses the `| # | module | cat | Cin | Cout | k | s | groups | Hin | Hout | MACs | params |`
/// rows of a layer table.
pub fn parse_layers(table: &str) -> Vec<Layer> {
    table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() < 13 || cells[1].parse::<usize>().is_err() {
                return None;
            }
            let num = |i: usize| cells[i].replace(',', "").parse::<u64>().ok();
            Some(Layer {
                module: cells[2].to_string(),
                cat: cells[3].to_string(),
                cin: num(4)? as usize,
                cout: num(5)? as usize,
                k: num(6)? as usize,
                s: num(7)? as usize,
                hin: num(9)? as usize,
                hout: num(10)? as usize,
                macs: num(11)?,
            })
        })
        .collect()
}

/// A runnable benchmark: an operator with its buffers.
pub struct Bench {
    /// What is measured.
    pub name: String,
    /// Floating-point operations per run (2 per multiply-accumulate).
    pub flops: f64,
    /// Id of the kernel doing the work.
    pub kernel: String,
    /// f32 elements a run must at least read (inputs and weights) and write (outputs): the
    /// traffic of its memory-bound roofline.
    pub traffic: Traffic,
    /// Runs the operator once.
    pub run: Box<dyn FnMut()>,
}

/// Minimum memory traffic of one run, in f32 elements.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Traffic {
    /// Elements read at least once.
    pub read: usize,
    /// Elements written at least once.
    pub write: usize,
}

impl Traffic {
    /// Reading every element of `inputs` once and writing `output` once.
    pub fn of(inputs: &[&[f32]], output: &[f32]) -> Self {
        Self {
            read: inputs.iter().map(|x| x.len()).sum(),
            write: output.len(),
        }
    }
}

/// Deterministic values in [-0.5, 0.5).
fn filled(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32
                / (1u32 << 24) as f32
                - 0.5
        })
        .collect()
}

const VALIDATED: &str = "shapes validated at creation";

/// The operator of one layer at `batch`, built from `table` (`None` for SE rows, which
/// [`se_bench`] covers as whole blocks).
pub fn layer_bench(layer: &Layer, batch: usize, table: &KernelTable) -> Result<Option<Bench>> {
    let (cin, cout, k, s) = (layer.cin, layer.cout, layer.k, layer.s);
    let flops = 2.0 * layer.macs as f64 * batch as f64;
    let name = layer.label();
    let input = Nhwc::new(batch, layer.hin, layer.hin, cin);
    let x = filled(input.len()?, 1);
    let bench = |kernel: &str, traffic: Traffic, run: Box<dyn FnMut()>| {
        Some(Bench {
            name: name.clone(),
            flops,
            kernel: kernel.to_string(),
            traffic,
            run,
        })
    };
    Ok(match layer.cat.as_str() {
        "pointwise" => {
            let act = if cout < cin {
                Activation::Linear
            } else {
                Activation::Hswish
            };
            let (w, b) = (filled(cin * cout, 2), filled(cout, 3));
            let op = Pointwise::new(
                &PointwiseDesc {
                    cin,
                    cout,
                    weights: &w,
                    bias: Some(&b),
                    activation: act,
                    residual: false,
                },
                table,
            )?;
            let mut y = vec![0.0; op.output_shape(input)?.len()?];
            bench(
                op.kernel_id(),
                Traffic::of(&[&x, &w, &b], &y),
                Box::new(move || {
                    op.run(input, &x, &mut y, None).expect(VALIDATED);
                }),
            )
        }
        "depthwise" => {
            let (w, b) = (filled(cin * k * k, 2), filled(cin, 3));
            let desc = DepthwiseDesc {
                channels: cin,
                kernel: k,
                stride: s,
                padding: Padding::same(k / 2),
                weights: &w,
                bias: Some(&b),
                activation: Activation::Hswish,
            };
            let op = DepthwiseConv2d::new(&desc, table)?;
            let mut y = vec![0.0; op.output_shape(input)?.len()?];
            bench(
                op.kernel_id(),
                Traffic::of(&[&x, &w, &b], &y),
                Box::new(move || {
                    op.run(input, &x, &mut y).expect(VALIDATED);
                }),
            )
        }
        "stem" => {
            let (w, b) = (filled(cout * cin * 9, 2), filled(cout, 3));
            let desc = Conv2dDesc {
                cin,
                cout,
                kernel: 3,
                stride: s,
                padding: Padding::same(1),
                weights: &w,
                bias: Some(&b),
                activation: Activation::Hswish,
                residual: false,
                algorithm: ConvAlgorithm::Auto,
            };
            let op = Conv2d::new(&desc, table)?;
            let mut y = vec![0.0; op.output_shape(input)?.len()?];
            bench(
                op.kernel_id(),
                Traffic::of(&[&x, &w, &b], &y),
                Box::new(move || {
                    op.run(input, &x, &mut y, None, &mut []).expect(VALIDATED);
                }),
            )
        }
        "classifier" => {
            let (w, b) = (filled(cin * cout, 2), filled(cout, 3));
            let x = filled(batch * cin, 1);
            let op = Linear::new(
                &LinearDesc {
                    in_features: cin,
                    out_features: cout,
                    weights: &w,
                    bias: Some(&b),
                    activation: Activation::Hswish,
                },
                table,
            )?;
            let mut y = vec![0.0; batch * cout];
            bench(
                op.kernel_id_for(batch),
                Traffic::of(&[&x, &w, &b], &y),
                Box::new(move || op.run(batch, &x, &mut y).expect(VALIDATED)),
            )
        }
        _ => None,
    })
}

/// A whole squeeze-excitation block (`fc1` row of the table, on the `hw×hw` feature map it
/// gates): pooling, both FCs and the channel scale.
pub fn se_bench(fc1: &Layer, hw: usize, batch: usize, table: &KernelTable) -> Result<Bench> {
    let (c, sq) = (fc1.cin, fc1.cout);
    let shape = Nhwc::new(batch, hw, hw, c);
    let (w1, w2, b1, b2) = (
        filled(sq * c, 1),
        filled(c * sq, 2),
        filled(sq, 3),
        filled(c, 4),
    );
    let desc = SqueezeExciteDesc {
        channels: c,
        squeeze: sq,
        fc1_weights: &w1,
        fc1_bias: Some(&b1),
        fc2_weights: &w2,
        fc2_bias: Some(&b2),
        inner: Activation::Relu,
        gate: Activation::Hsigmoid,
    };
    let op = SqueezeExcite::new(&desc, table)?;
    // Out of place: gating the same buffer repeatedly would decay it into denormals.
    let x = filled(shape.len()?, 5);
    let mut y = vec![0.0; x.len()];
    let mut ws = vec![0.0; op.workspace_len()];
    // pool (c·hw²) + two FCs (2·c·sq MACs) + scale (c·hw²), per image.
    let flops = batch as f64 * (2.0 * (c * hw * hw) as f64 + 4.0 * (c * sq) as f64);
    Ok(Bench {
        name: format!("se {hw}x{hw}x{c} squeeze {sq}"),
        flops,
        kernel: op.kernel_ids().join("+"),
        traffic: Traffic::of(&[&x, &w1, &w2, &b1, &b2], &y),
        run: Box::new(move || op.run(shape, &x, &mut y, &mut ws).expect(VALIDATED)),
    })
}

/// Every benchmark of a model at `batch`: its layers (distinct shapes once) and SE blocks.
pub fn model_benches(table_md: &str, batch: usize, table: &KernelTable) -> Result<Vec<Bench>> {
    let layers = parse_layers(table_md);
    let mut out: Vec<Bench> = Vec::new();
    let mut prev_hout = 0;
    for layer in &layers {
        if layer.module.ends_with("fc1") {
            let b = se_bench(layer, prev_hout, batch, table)?;
            if !out.iter().any(|o| o.name == b.name) {
                out.push(b);
            }
        } else if !layer.module.ends_with("fc2") {
            prev_hout = layer.hout;
            if let Some(b) = layer_bench(layer, batch, table)?
                && !out.iter().any(|o| o.name == b.name)
            {
                out.push(b);
            }
        }
    }
    Ok(out)
}

/// The ResNet-style 3x3 layers (`hw`, `channels`) the Winograd target is stated on:
/// stride 1, padding 1, `channels → channels`.
pub const RESNET_3X3: [(usize, usize); 4] = [(56, 64), (28, 128), (14, 256), (7, 512)];

/// A stride-1 3x3 convolution `hw×hw×c → c` (padding 1, relu) at `batch`, forced to
/// `algorithm`. FLOPs are the direct method's (2·9·cin·cout per output pixel), so GFLOP/s
/// compare the methods' speed on the same work ("effective" for Winograd, which does 2.25x
/// fewer multiplies).
pub fn conv3x3_bench(
    hw: usize,
    c: usize,
    batch: usize,
    algorithm: ConvAlgorithm,
    table: &KernelTable,
) -> Result<Bench> {
    let input = Nhwc::new(batch, hw, hw, c);
    let x = filled(input.len()?, 1);
    let (w, b) = (filled(c * c * 9, 2), filled(c, 3));
    let desc = Conv2dDesc {
        cin: c,
        cout: c,
        kernel: 3,
        stride: 1,
        padding: Padding::same(1),
        weights: &w,
        bias: Some(&b),
        activation: Activation::Relu,
        residual: false,
        algorithm,
    };
    let op = Conv2d::new(&desc, table)?;
    let mut y = vec![0.0; op.output_shape(input)?.len()?];
    let mut ws = vec![0.0; op.workspace_len()];
    let method = match op.algorithm() {
        ConvAlgorithm::Winograd => "winograd",
        _ => "direct",
    };
    Ok(Bench {
        name: format!("conv3x3 {hw}x{hw} {c}->{c} {method}"),
        flops: 2.0 * (9 * c * c * hw * hw * batch) as f64,
        kernel: op.kernel_id().to_string(),
        traffic: Traffic::of(&[&x, &w, &b], &y),
        run: Box::new(move || {
            op.run(input, &x, &mut y, None, &mut ws).expect(VALIDATED);
        }),
    })
}

/// An INT8 operator run: input bytes to output bytes.
type ByteRun = dyn FnMut(&[u8], &mut [u8]);

/// The INT8 pointwise and depthwise layers of a model at `batch` (distinct shapes once),
/// each a [`QuantPointwise`] / [`QuantDepthwise`] on deterministic bytes; `flops` counts 2
/// integer ops per MAC.
pub fn int8_benches(table_md: &str, batch: usize, table: &KernelTable) -> Result<Vec<Bench>> {
    use ruvector_cnn_kernels::pack::QuantWeights;
    use ruvector_cnn_kernels::quant::QuantOut;
    let bytes = |len: usize, seed: u32| -> Vec<u8> {
        filled(len, seed)
            .iter()
            .map(|v| ((v + 0.5) * 255.0) as u8)
            .collect()
    };
    let mut out: Vec<Bench> = Vec::new();
    for layer in parse_layers(table_md) {
        let (cin, cout, k) = (layer.cin, layer.cout, layer.k);
        let name = format!("int8 {}", layer.label());
        if !matches!(layer.cat.as_str(), "pointwise" | "depthwise")
            || out.iter().any(|o| o.name == name)
        {
            continue;
        }
        let input = Nhwc::new(batch, layer.hin, layer.hin, cin);
        let x = bytes(input.len()?, 1);
        let taps = if layer.cat == "pointwise" { cin } else { k * k };
        let w: Vec<i8> = bytes(cout * taps, 2).iter().map(|&b| b as i8).collect();
        let bias = vec![0i32; cout];
        let rq = vec![1e-4f32; cout];
        let q_out = QuantOut::linear(128);
        let traffic = |y_len: usize| Traffic {
            read: (x.len() + w.len()).div_ceil(4),
            write: y_len.div_ceil(4),
        };
        let weights = QuantWeights {
            outputs: cout,
            taps,
            weights: &w,
            bias: &bias,
            scale: &rq,
            input_zero_point: 128,
        };
        let (kernel, y_len, mut run): (&str, usize, Box<ByteRun>) = if layer.cat == "pointwise" {
            let op = QuantPointwise::new(
                &QuantPointwiseDesc {
                    weights,
                    out: q_out,
                },
                table,
            )?;
            let y_len = op.output_shape(input)?.len()?;
            (
                op.kernel_id(),
                y_len,
                Box::new(move |x, y| {
                    op.run(input, x, y).expect(VALIDATED);
                }),
            )
        } else {
            let desc = QuantDepthwiseDesc {
                weights,
                kernel: k,
                stride: layer.s,
                padding: Padding::same(k / 2),
                out: q_out,
            };
            let op = QuantDepthwise::new(&desc, table)?;
            let y_len = op.output_shape(input)?.len()?;
            (
                op.kernel_id(),
                y_len,
                Box::new(move |x, y| {
                    op.run(input, x, y).expect(VALIDATED);
                }),
            )
        };
        let mut y = vec![0u8; y_len];
        out.push(Bench {
            name,
            flops: 2.0 * layer.macs as f64 * batch as f64,
            kernel: kernel.into(),
            traffic: traffic(y_len),
            run: Box::new(move || run(&x, &mut y)),
        });
    }
    Ok(out)
}

/// Families that MobileNet layer tables do not exercise (batch-norm is folded, pooling other
/// than the final global average is absent), on representative shapes.
pub fn extra_benches(table: &KernelTable) -> Result<Vec<Bench>> {
    let shape = Nhwc::new(1, 112, 112, 16);
    let len = shape.len()?;
    let elems = len as f64;
    let ones = vec![1.0f32; 64];
    let half = filled(64, 7);
    let mut out = Vec::new();
    let bn = BatchNorm::new(
        &BatchNormDesc {
            channels: 16,
            gamma: &ones[..16],
            beta: &half[..16],
            mean: &half[..16],
            var: &ones[..16],
            eps: 1e-3,
            activation: Activation::Hswish,
        },
        table,
    )?;
    let (x, mut y) = (filled(len, 1), vec![0.0; len]);
    out.push(Bench {
        name: "bn+hswish 112x112x16".into(),
        flops: 2.0 * elems,
        kernel: bn.kernel_id().into(),
        traffic: Traffic::of(&[&x], &y),
        run: Box::new(move || bn.run(shape, &x, &mut y).expect(VALIDATED)),
    });
    let act = Elementwise::new(Activation::Hswish, table)?;
    let (x, mut y) = (filled(len, 2), vec![0.0; len]);
    out.push(Bench {
        name: "hswish 112x112x16".into(),
        flops: elems,
        kernel: act.kernel_id().unwrap_or("copy").into(),
        traffic: Traffic::of(&[&x], &y),
        run: Box::new(move || act.run(&x, &mut y).expect(VALIDATED)),
    });
    let pshape = Nhwc::new(1, 112, 112, 64);
    for (kind, label) in [
        (PoolKind::Max, "maxpool"),
        (
            PoolKind::Average {
                count_include_pad: false,
            },
            "avgpool",
        ),
    ] {
        let desc = PoolDesc {
            kind,
            channels: 64,
            kernel: (3, 3),
            stride: (2, 2),
            padding: Padding::same(1),
        };
        let op = Pool::new(&desc, table)?;
        let out_len = op.output_shape(pshape)?.len()?;
        let (x, mut y) = (filled(pshape.len()?, 3), vec![0.0; out_len]);
        out.push(Bench {
            name: format!("{label} 3x3s2 112x112x64"),
            flops: 9.0 * out_len as f64,
            kernel: op.kernel_id().into(),
            traffic: Traffic::of(&[&x], &y),
            run: Box::new(move || {
                op.run(pshape, &x, &mut y).expect(VALIDATED);
            }),
        });
    }
    let gshape = Nhwc::new(1, 7, 7, 960);
    let gap = GlobalAvgPool::new(960, table)?;
    let (x, mut y) = (filled(gshape.len()?, 4), vec![0.0; 960]);
    out.push(Bench {
        name: "global avgpool 7x7x960".into(),
        flops: gshape.len()? as f64,
        kernel: gap.kernel_id().into(),
        traffic: Traffic::of(&[&x], &y),
        run: Box::new(move || gap.run(gshape, &x, &mut y).expect(VALIDATED)),
    });
    Ok(out)
}

/// Seconds a memcpy-speed kernel needs for `traffic` (the memory-bound roofline of a run
/// moving that data): the mean of copying the read side and copying the written side, each
/// between two buffers of that size, so the data sits at the cache level the real run's data
/// does. `samples` as in [`time`].
pub fn copy_roofline_secs(traffic: Traffic, samples: usize) -> f64 {
    let copy = |n: usize| {
        let (src, mut dst) = (filled(n, 9), vec![0.0f32; n]);
        let mut b = Bench {
            name: format!("copy {n}"),
            flops: 0.0,
            kernel: "memcpy".into(),
            traffic: Traffic { read: n, write: n },
            run: Box::new(move || {
                dst.copy_from_slice(&src);
                std::hint::black_box(&mut dst);
            }),
        };
        time(&mut b, samples, 10.0)
    };
    (copy(traffic.read) + copy(traffic.write)) / 2.0
}

/// Median seconds per run of `b`, from `samples` samples of enough runs to last ~`min_ms`.
pub fn time(b: &mut Bench, samples: usize, min_ms: f64) -> f64 {
    (b.run)();
    let t0 = std::time::Instant::now();
    (b.run)();
    let one = t0.elapsed().as_secs_f64().max(1e-7);
    let iters = ((min_ms / 1e3 / one).ceil() as usize).max(1);
    let mut times: Vec<f64> = (0..samples.max(1))
        .map(|_| {
            let t = std::time::Instant::now();
            for _ in 0..iters {
                (b.run)();
            }
            t.elapsed().as_secs_f64() / iters as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_to_the_published_totals() {
        for (name, md) in MODELS {
            let layers = parse_layers(md);
            let total: u64 = layers.iter().map(|l| l.macs).sum();
            let want = if name.ends_with("small") {
                56_510_400
            } else {
                216_589_760
            };
            assert_eq!(total, want, "{name}");
        }
    }

    #[test]
    fn every_layer_builds_and_runs() {
        let t = KernelTable::best();
        let extras = extra_benches(t).unwrap();
        for (_, md) in MODELS {
            for mut b in model_benches(md, 1, t).unwrap() {
                (b.run)();
                assert!(b.flops > 0.0 && !b.kernel.is_empty(), "{}", b.name);
            }
        }
        for mut b in extras {
            (b.run)();
            assert!(b.flops > 0.0 && !b.kernel.is_empty(), "{}", b.name);
        }
    }
}
