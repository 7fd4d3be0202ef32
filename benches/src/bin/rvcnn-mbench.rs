//! Whole-model latency of ruvector-cnn, the Rust half of `benches/compare/compare.py`.
//!
//! ```text
//! rvcnn-mbench --weights F.safetensors [--input X.f32 --shape N,3,H,W | --shape N,3,H,W]
//!              [--output pooled|penultimate|logits] [--runs R] [--warmup W] [--threads T]
//!              [--image-threads I] [--out Y.f32] [--layers] [--int8]
//! rvcnn-mbench --export-random ARCH F.safetensors     (torchvision-style random weights)
//! ```
//! ARCH is a MobileNet (`mobilenet_v3_large`, …) or `resnet18`/`resnet34` (width 64). ResNet
//! weights are timed one batch thread at a time, their stride-1 3x3 convolutions by
//! `--algorithm auto|direct|winograd|im2col` (default auto).
//! Input files are raw little-endian f32 in NCHW order (as numpy's `tofile` writes); the
//! output file holds the `N × dim` results. With `--threads T > 1` the batch is split over
//! T threads, each with its own workspace (threads are spawned per run); `--image-threads I`
//! splits each image's convolutions over I cores (a persistent pool; default: T when the
//! batch is 1, else 1). Prints one JSON line
//! with the median and minimum time of a forward pass over the whole batch. `--layers` instead
//! prints a per-layer profile of one image (median over the runs): time, GFLOP/s and % of
//! the measured one-core FMA peak (and of the nominal 285 GFLOP/s target core); blocks that
//! run band by band appear as one `… banded` row, as they run in `forward`. `--int8`
//! times the INT8 network (pooled output, one batch thread; `--image-threads` splits each
//! image), its activation ranges calibrated on the input images (min/max).

use std::time::Instant;

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::{ConvAlgorithm, Nhwc};
use ruvector_cnn_kernels::simd::peak::fma_peak_gflops;
use ruvector_cnn_model::preprocess::nchw_to_nhwc;
use ruvector_cnn_model::quantized::{QuantWorkspace, RangeMethod, quantize_network};
use ruvector_cnn_model::{
    Arch, Network, Output, ResNet, ResNetDepth, ResNetOptions, ResNetWorkspace, Weights,
};

struct Args {
    weights: String,
    input: Option<String>,
    shape: [usize; 4],
    output: Output,
    runs: usize,
    warmup: usize,
    threads: usize,
    image_threads: Option<usize>,
    out: Option<String>,
    layers: bool,
    int8: bool,
    algorithm: ConvAlgorithm,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        weights: String::new(),
        input: None,
        shape: [1, 3, 224, 224],
        output: Output::Pooled,
        runs: 100,
        warmup: 10,
        threads: 1,
        image_threads: None,
        out: None,
        layers: false,
        int8: false,
        algorithm: ConvAlgorithm::Auto,
    };
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--export-random" => {
                let name = val()?;
                let path = val()?;
                let w = match name.as_str() {
                    "resnet18" | "resnet34" => {
                        let depth = if name == "resnet18" {
                            ResNetDepth::R18
                        } else {
                            ResNetDepth::R34
                        };
                        let options = ResNetOptions {
                            depth,
                            ..Default::default()
                        };
                        Weights::random_resnet(&options, Some(1000), 1)
                    }
                    _ => {
                        let arch: Arch = name.parse().map_err(|e| format!("{e}"))?;
                        Weights::random(arch, 1.0, Some(1000), 1)
                    }
                }
                .map_err(|e| e.to_string())?;
                let bytes = w.to_safetensors().map_err(|e| e.to_string())?;
                std::fs::write(&path, bytes).map_err(|e| format!("{path}: {e}"))?;
                std::process::exit(0);
            }
            "--weights" => a.weights = val()?,
            "--input" => a.input = Some(val()?),
            "--shape" => {
                let dims: Vec<usize> = val()?
                    .split(',')
                    .map(|d| d.trim().parse().map_err(|e| format!("--shape: {e}")))
                    .collect::<Result<_, _>>()?;
                a.shape = dims
                    .try_into()
                    .map_err(|_| "--shape takes N,3,H,W".to_string())?;
            }
            "--output" => {
                let v = val()?;
                a.output = Output::ALL
                    .into_iter()
                    .find(|o| o.name() == v)
                    .ok_or_else(|| format!("--output: unknown `{v}`"))?;
            }
            "--runs" => a.runs = num(val()?)?.max(1),
            "--warmup" => a.warmup = num(val()?)?,
            "--threads" => a.threads = num(val()?)?.max(1),
            "--image-threads" => a.image_threads = Some(num(val()?)?.max(1)),
            "--out" => a.out = Some(val()?),
            "--layers" => a.layers = true,
            "--int8" => a.int8 = true,
            "--algorithm" => {
                a.algorithm = match val()?.as_str() {
                    "auto" => ConvAlgorithm::Auto,
                    "direct" => ConvAlgorithm::Direct,
                    "winograd" => ConvAlgorithm::Winograd,
                    "im2col" => ConvAlgorithm::Im2col,
                    v => return Err(format!("--algorithm: unknown `{v}`")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.weights.is_empty() {
        return Err("--weights is required".into());
    }
    Ok(a)
}

fn run() -> Result<(), String> {
    let a = parse()?;
    let [n, c, h, w] = a.shape;
    let weights = Weights::load(a.weights.as_ref()).map_err(|e| e.to_string())?;
    if weights
        .metadata("arch")
        .is_some_and(|m| m.starts_with("resnet"))
    {
        return resnet(&weights, &a);
    }
    let mut net =
        Network::from_metadata(&weights, KernelTable::best()).map_err(|e| e.to_string())?;
    let image_threads = a
        .image_threads
        .unwrap_or(if n == 1 { a.threads } else { 1 });
    // The pool also carries the batch split (`forward_parallel`), so it gets the larger count.
    net.set_threads(image_threads.max(a.threads))
        .map_err(|e| e.to_string())?;
    let x = input(&a)?;
    let dim = net.output_dim(a.output).map_err(|e| e.to_string())?;
    if a.layers {
        return profile(&net, &a, &x);
    }
    if a.int8 {
        return int8(&net, &weights, &a, &x);
    }
    let threads = a.threads.min(n);
    let per = n.div_ceil(threads);
    let mut workspaces: Vec<_> = (0..threads)
        .map(|_| net.workspace(Nhwc::new(per, h, w, c)))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut y = vec![0.0f32; n * dim];
    let shape = Nhwc::new(n, h, w, c);
    let (median, min) = timed(a.warmup, a.runs, || {
        net.forward_parallel(shape, &x, a.output, &mut y, &mut workspaces)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    write_out(a.out.as_deref(), &y)?;
    println!(
        "{{\"arch\":\"{}\",\"isa\":\"{}\",\"batch\":{n},\"size\":[{h},{w}],\"threads\":{threads},\"image_threads\":{image_threads},\"runs\":{},\"median_ms\":{:.4},\"min_ms\":{:.4}}}",
        net.arch(),
        KernelTable::best().isa_set().top(),
        a.runs,
        median,
        min
    );
    Ok(())
}

/// The input batch, NHWC: `--input` or a fixed pattern.
fn input(a: &Args) -> Result<Vec<f32>, String> {
    let [n, c, h, w] = a.shape;
    let len = n * c * h * w;
    let nchw: Vec<f32> = match &a.input {
        Some(path) => {
            let b = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            if b.len() != len * 4 {
                return Err(format!(
                    "{path}: {} bytes, shape needs {}",
                    b.len(),
                    len * 4
                ));
            }
            b.chunks_exact(4)
                .map(|q| f32::from_le_bytes([q[0], q[1], q[2], q[3]]))
                .collect()
        }
        None => (0..len)
            .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
            .collect(),
    };
    nchw_to_nhwc(&nchw, Nhwc::new(n, h, w, c)).map_err(|e| e.to_string())
}

/// Times a ResNet (one batch thread).
fn resnet(weights: &Weights, a: &Args) -> Result<(), String> {
    let [n, c, h, w] = a.shape;
    let table = KernelTable::best();
    let net = ResNet::from_metadata(weights, a.algorithm, table).map_err(|e| e.to_string())?;
    let x = input(a)?;
    let dim = net.output_dim(a.output).map_err(|e| e.to_string())?;
    let shape = Nhwc::new(n, h, w, c);
    let mut ws = ResNetWorkspace::default();
    let mut y = vec![0.0f32; n * dim];
    let (median, min) = timed(a.warmup, a.runs, || {
        net.forward(shape, &x, a.output, &mut y, &mut ws)
            .map_err(|e| e.to_string())
    })?;
    write_out(a.out.as_deref(), &y)?;
    println!(
        "{{\"arch\":\"{}\",\"algorithm\":\"{:?}\",\"isa\":\"{}\",\"batch\":{n},\"size\":[{h},{w}],\"runs\":{},\"median_ms\":{:.4},\"min_ms\":{:.4}}}",
        net.options().depth.name(),
        a.algorithm,
        table.isa_set().top(),
        a.runs,
        median,
        min
    );
    Ok(())
}

/// Writes `y` as raw little-endian f32 to `path`, if given (`--out`).
fn write_out(path: Option<&str>, y: &[f32]) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    let bytes: Vec<u8> = y.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).map_err(|e| format!("{path}: {e}"))
}

/// Median and minimum of `runs` timed calls of `f` (after `warmup` untimed ones), in ms.
fn timed(
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> Result<(), String>,
) -> Result<(f64, f64), String> {
    for _ in 0..warmup {
        f()?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times[0]))
}

/// Times the INT8 network calibrated on the input images.
fn int8(net: &Network, weights: &Weights, a: &Args, x: &[f32]) -> Result<(), String> {
    let [n, c, h, w] = a.shape;
    if a.threads > 1 || a.output != Output::Pooled || h != w {
        return Err(
            "--int8 times one batch thread (--image-threads splits images), the pooled \
             output, square images"
                .into(),
        );
    }
    let image = c * h * w;
    let tensors: Vec<Vec<f32>> = x.chunks_exact(image).map(<[f32]>::to_vec).collect();
    let mut q = quantize_network(
        net,
        weights,
        &tensors,
        h,
        RangeMethod::MinMax,
        &[],
        KernelTable::best(),
    )
    .map_err(|e| e.to_string())?;
    let image_threads = a.image_threads.unwrap_or(1);
    q.set_threads(image_threads).map_err(|e| e.to_string())?;
    let shape = Nhwc::new(n, h, w, c);
    let mut ws = QuantWorkspace::default();
    let mut y = vec![0.0f32; n * q.dim()];
    let (median, min) = timed(a.warmup, a.runs, || {
        q.forward(shape, x, &mut y, &mut ws)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    write_out(a.out.as_deref(), &y)?;
    println!(
        "{{\"arch\":\"{}\",\"precision\":\"int8\",\"isa\":\"{}\",\"batch\":{n},\"size\":[{h},{w}],\"threads\":1,\"image_threads\":{image_threads},\"f32_layers\":{},\"runs\":{},\"median_ms\":{median:.4},\"min_ms\":{min:.4}}}",
        net.arch(),
        KernelTable::best().isa_set().top(),
        q.f32_layers().len(),
        a.runs,
    );
    Ok(())
}

/// Prints the per-layer profile (median of `runs` passes of the first image).
fn profile(net: &Network, a: &Args, x: &[f32]) -> Result<(), String> {
    let [_, c, h, w] = a.shape;
    let shape = Nhwc::new(1, h, w, c);
    let mut ws = net.workspace(shape).map_err(|e| e.to_string())?;
    let level = KernelTable::best().isa_set().top();
    let peak = fma_peak_gflops(level, 200_000_000).unwrap_or(f64::NAN);
    let mut runs = Vec::new();
    for i in 0..a.warmup + a.runs {
        let t = net
            .profile(shape, x, a.output, &mut ws)
            .map_err(|e| e.to_string())?;
        if i >= a.warmup {
            runs.push(t);
        }
    }
    println!(
        "{} {h}x{w}, ISA {level}, measured FMA peak {peak:.1} GFLOP/s/core; median of {} runs",
        net.arch(),
        a.runs
    );
    println!(
        "{:<24} {:<44} {:>9} {:>8} {:>7} {:>7}",
        "layer", "kernel", "us", "GFLOP/s", "%peak", "%285"
    );
    let (mut total_s, mut total_f) = (0.0, 0.0);
    for (i, first) in runs[0].iter().enumerate() {
        let mut t: Vec<f64> = runs.iter().map(|r| r[i].seconds).collect();
        t.sort_by(f64::total_cmp);
        let secs = t[t.len() / 2];
        let gflops = first.flops / secs / 1e9;
        total_s += secs;
        total_f += first.flops;
        println!(
            "{:<24} {:<44} {:>9.1} {:>8.1} {:>6.1}% {:>6.1}%",
            first.layer,
            first.kernel,
            secs * 1e6,
            gflops,
            100.0 * gflops / peak,
            100.0 * gflops / 285.0
        );
    }
    let g = total_f / total_s / 1e9;
    println!(
        "{:<24} {:<44} {:>9.1} {:>8.1} {:>6.1}% {:>6.1}%",
        "total (sum of medians)",
        "",
        total_s * 1e6,
        g,
        100.0 * g / peak,
        100.0 * g / 285.0
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("rvcnn-mbench: {e}");
        std::process::exit(1);
    }
}
