//! The INT8 MobileNetV2 and V3 (calibration, quantization, save/load) on the committed
//! random-init fixtures: they track the f32 network, give the same answer at every INT8 ISA
//! level, rebuild identically from a saved model file, and refuse bad calibration input.

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::preprocess::nchw_to_nhwc;
use ruvector_cnn_model::quantized::simulate::{Widths, simulate};
use ruvector_cnn_model::quantized::{
    QuantNetwork, QuantWorkspace, RangeMethod, calibrate, from_weights, quantize_network, save_into,
};
use ruvector_cnn_model::{Arch, Network, Output, Weights, Workspace};
use ruvector_cnn_tests::{int8_levels, load_fixture as load, table_at};

/// The three 224x224 fixture images (two of `x224`, plus `x160` is a different size).
fn images() -> (Nhwc, Vec<Vec<f32>>) {
    let w = load("inputs.safetensors");
    let t = w.get("x224").unwrap();
    let shape = Nhwc::new(2, 224, 224, 3);
    let all = nchw_to_nhwc(&t.data, shape).unwrap();
    let one = 224 * 224 * 3;
    (
        Nhwc::new(1, 224, 224, 3),
        all.chunks_exact(one).map(<[f32]>::to_vec).collect(),
    )
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// Quantizes fixture `file` (`arch` at `width`) once (calibrated at the first INT8 level)
/// and builds it at every INT8 level: each image's INT8 embedding has cosine above
/// `min_cosine` with that level's f32 one, and the levels agree bit for bit from the first
/// quantized activation on, up to the f32 parts (the stem, fallback layers): the first
/// activation that differs between levels, if any, is one of those.
fn tracks_f32_and_agrees_across_levels(file: &str, arch: Arch, width: f32, min_cosine: f64) {
    let w = load(file);
    let (shape, imgs) = images();
    let levels = int8_levels(&format!("int8 {arch}"));
    let Some(&low) = levels.first() else { return };
    let t = table_at(low);
    let net = Network::new(arch, width, &w, &t).unwrap();
    let q = quantize_network(&net, &w, &imgs, 224, RangeMethod::MinMax, &[], &t).unwrap();
    let (ranges, f32_layers) = (q.ranges().clone(), q.f32_layers().to_vec());
    let mut first: Option<Vec<(String, Vec<u8>)>> = None;
    for level in levels {
        let t = table_at(level);
        let net = Network::new(arch, width, &w, &t).unwrap();
        let q = QuantNetwork::new(arch, width, &w, &ranges, &f32_layers, &t).unwrap();
        let (mut ws, mut qws) = (Workspace::default(), QuantWorkspace::default());
        let mut f = vec![0.0; q.dim()];
        let mut g = vec![0.0; q.dim()];
        for img in &imgs {
            net.forward(shape, img, Output::Pooled, &mut f, &mut ws)
                .unwrap();
            q.forward(shape, img, &mut g, &mut qws).unwrap();
            let c = cosine(&f, &g);
            assert!(c > min_cosine, "{arch} {level}: cosine(int8, f32) = {c}");
        }
        let mut acts = Vec::new();
        q.observe(shape, &imgs[0], &mut g, &mut qws, &mut |n, b| {
            acts.push((n.to_string(), b.to_vec()));
        })
        .unwrap();
        let Some(want) = &first else {
            first = Some(acts);
            continue;
        };
        assert_eq!(acts.len(), want.len());
        if let Some(((name, _), _)) = acts.iter().zip(want).find(|(a, b)| a != b) {
            assert!(
                name == "features.0" || f32_layers.contains(name),
                "{arch} {level}: INT8 activation `{name}` differs from level {low}"
            );
        }
    }
}

#[test]
fn int8_v2_tracks_f32_and_agrees_across_levels() {
    tracks_f32_and_agrees_across_levels("mobilenet_v2.safetensors", Arch::MobileNetV2, 0.35, 0.98);
}

#[test]
fn int8_v3_small_tracks_f32_and_agrees_across_levels() {
    tracks_f32_and_agrees_across_levels(
        "mobilenet_v3_small.safetensors",
        Arch::MobileNetV3Small,
        1.0,
        0.98,
    );
}

#[test]
fn int8_v3_large_tracks_f32_and_agrees_across_levels() {
    tracks_f32_and_agrees_across_levels(
        "mobilenet_v3_large.safetensors",
        Arch::MobileNetV3Large,
        0.5,
        0.98,
    );
}

#[test]
fn saved_int8_model_rebuilds_identically_and_plain_files_stay_f32() {
    let mut w = load("mobilenet_v2.safetensors");
    let (shape, imgs) = images();
    let t = KernelTable::best();
    let net = Network::from_metadata(&w, t).unwrap();
    let q = quantize_network(&net, &w, &imgs, 224, RangeMethod::Percentile(99.9), &[], t).unwrap();
    assert!(
        from_weights(&w, t).unwrap().is_none(),
        "a plain file is not INT8"
    );
    save_into(&q, &mut w);
    let bytes = w.to_safetensors().unwrap();
    let back = Weights::from_safetensors(&bytes).unwrap();
    let q2 = from_weights(&back, t).unwrap().expect("an INT8 file");
    assert_eq!(q2.ranges(), q.ranges());
    // Splitting each image's INT8 layers over two threads changes nothing (wasm32-wasip1 has
    // no threads: one there).
    let mut q3 = from_weights(&back, t).unwrap().expect("an INT8 file");
    q3.set_threads(if cfg!(target_os = "wasi") { 1 } else { 2 })
        .unwrap();
    let mut c = vec![0.0; q.dim()];
    let mut qws3 = QuantWorkspace::default();
    q3.forward(shape, &imgs[1], &mut c, &mut qws3).unwrap();
    assert_eq!(q2.f32_layers(), q.f32_layers());
    let mut qws = QuantWorkspace::default();
    let (mut a, mut b) = (vec![0.0; q.dim()], vec![0.0; q.dim()]);
    q.forward(shape, &imgs[0], &mut a, &mut qws).unwrap();
    q2.forward(shape, &imgs[0], &mut b, &mut qws).unwrap();
    assert_eq!(a, b);
    q2.forward(shape, &imgs[1], &mut b, &mut qws).unwrap();
    assert_eq!(c, b, "threaded INT8 differs");
    // Bad inputs: short buffers.
    assert!(q.forward(shape, &imgs[0][1..], &mut a, &mut qws).is_err());
    assert!(q.forward(shape, &imgs[0], &mut a[1..], &mut qws).is_err());
    // A corrupt range entry is a clear error, not a panic.
    let mut bad = back.clone();
    bad.set_metadata("int8_ranges", "features.0=oops");
    let err = from_weights(&bad, t)
        .err()
        .expect("a corrupt range is an error");
    assert!(err.to_string().contains("features.0"), "{err}");
}

/// An f32 tail (`features.N+`) runs the blocks from N on, the last conv and the pool in f32:
/// the later it starts the closer to plain INT8, the earlier the closer to f32 (with the tail
/// from the first block only the stem's output is quantized); it saves and loads like any f32
/// layer, sits after any f32 head, and an unknown layer name is a clear error.
#[test]
fn f32_tail_runs_the_end_in_f32() {
    let w = load("mobilenet_v3_small.safetensors");
    let (shape, imgs) = images();
    let t = KernelTable::best();
    let net = Network::from_metadata(&w, t).unwrap();
    let mut ws = Workspace::default();
    let mut f = vec![0.0; 576];
    net.forward(shape, &imgs[1], Output::Pooled, &mut f, &mut ws)
        .unwrap();
    let quant = |layers: &[&str]| {
        let layers: Vec<String> = layers.iter().map(|l| l.to_string()).collect();
        quantize_network(&net, &w, &imgs, 224, RangeMethod::MinMax, &layers, t)
    };
    let run = |q: &QuantNetwork| {
        let mut out = vec![0.0; q.dim()];
        q.forward(shape, &imgs[1], &mut out, &mut QuantWorkspace::default())
            .unwrap();
        1.0 - cosine(&out, &f)
    };
    let int8 = quant(&[]).unwrap();
    let late = quant(&["features.9+"]).unwrap();
    let all = quant(&["features.1+"]).unwrap();
    let (e_int8, e_late, e_all) = (run(&int8), run(&late), run(&all));
    assert!(
        e_all < 2e-3 && e_all < e_late && e_late < e_int8,
        "1 − cosine: plain INT8 {e_int8:e}, tail from features.9 {e_late:e}, from features.1 {e_all:e}"
    );
    let kernels = late.kernels();
    let names: Vec<&str> = kernels.iter().map(|(n, _)| n.as_str()).collect();
    let at = |n: &str| names.iter().position(|m| *m == n).unwrap();
    assert!(at("features.8") < at("f32 tail dequantize"));
    assert!(at("f32 tail dequantize") < at("features.9"));
    assert!(names.contains(&"last conv"));
    let mut saved = w.clone();
    save_into(&late, &mut saved);
    let back = Weights::from_safetensors(&saved.to_safetensors().unwrap()).unwrap();
    let loaded = from_weights(&back, t).unwrap().expect("an INT8 file");
    assert_eq!(loaded.f32_layers(), late.f32_layers());
    assert_eq!(run(&loaded), e_late);
    // A tail starting inside the f32 head, and names the model does not have, are errors.
    let ranges = late.ranges();
    let layers = ["features.3".to_string(), "features.2+".to_string()];
    let err = QuantNetwork::new(Arch::MobileNetV3Small, 1.0, &w, ranges, &layers, t)
        .err()
        .expect("a tail inside the head");
    assert!(err.to_string().contains("f32 tail"), "{err}");
    for bad in ["features.99+", "features.3.nope"] {
        let err = quant(&[bad]).err().expect("an unknown layer");
        assert!(err.to_string().contains(bad), "{err}");
    }
}

#[test]
fn simulated_widths_track_the_int8_network() {
    let w = load("mobilenet_v2.safetensors");
    let (shape, imgs) = images();
    let t = KernelTable::best();
    let net = Network::new(Arch::MobileNetV2, 0.35, &w, t).unwrap();
    let q = quantize_network(&net, &w, &imgs, 224, RangeMethod::MinMax, &[], t).unwrap();
    let mut ws = Workspace::default();
    let mut reference = Vec::new();
    let mut int8 = 0.0;
    for img in &imgs {
        let mut f = vec![0.0; q.dim()];
        net.forward(shape, img, Output::Pooled, &mut f, &mut ws)
            .unwrap();
        let mut g = vec![0.0; q.dim()];
        q.forward(shape, img, &mut g, &mut QuantWorkspace::default())
            .unwrap();
        int8 += 1.0 - cosine(&f, &g);
        reference.push(f);
    }
    // Mean 1 − cosine of the simulation `spec` against f32.
    let error = |spec: &str| {
        let widths = Widths::parse(spec)?;
        let got = simulate(&net, &w, &q, &widths, 224, &imgs, t)?;
        Ok::<_, ruvector_cnn_model::Error>(
            got.iter()
                .zip(&reference)
                .map(|(g, f)| 1.0 - cosine(f, g))
                .sum::<f64>(),
        )
    };
    let eight = error("default").unwrap();
    let sixteen = error("input=16,expand=16,dw=16,project=16,block=16,last=16").unwrap();
    let exact_weights = error("weights=f32,input=16,expand=16,dw=16,project=16,block=16,last=16");
    let none = error("weights=f32,input=f32,expand=f32,dw=f32,project=f32,block=f32,last=f32");
    let (exact_weights, none) = (exact_weights.unwrap(), none.unwrap());
    assert!(
        eight > int8 / 2.0 && eight < int8 * 2.0,
        "simulated 8 bits {eight:e} vs INT8 {int8:e}"
    );
    assert!(
        sixteen < eight / 2.0,
        "16 bits {sixteen:e} vs 8 bits {eight:e}"
    );
    assert!(
        exact_weights < sixteen / 2.0,
        "{exact_weights:e} vs {sixteen:e}"
    );
    assert!(none < 1e-6, "nothing rounded: {none:e}");
    // Each image's own (least-squared-error) ranges give an error of the same order.
    let own = error("ranges=image").unwrap();
    assert!(
        own > 0.0 && own < eight * 1.5,
        "own ranges {own:e} vs {eight:e}"
    );
    // Names the INT8 network does not quantize are errors.
    for bad in ["features.99.dw=16", "features.0.expand=16"] {
        let e = error(bad).expect_err("an activation INT8 does not quantize");
        assert!(e.to_string().contains(&bad[..bad.len() - 3]), "{e}");
    }
}

#[test]
fn int8_refuses_bad_calibration() {
    let w = load("mobilenet_v3_small.safetensors");
    let t = KernelTable::best();
    let net = Network::new(Arch::MobileNetV3Small, 1.0, &w, t).unwrap();
    let (shape, imgs) = images();
    let ranges = calibrate(&net, shape, &imgs[..1], RangeMethod::MinMax).unwrap();
    // Ranges missing a squeeze-excitation input are named in the error.
    let mut partial = ruvector_cnn_model::quantized::Ranges::default();
    for (name, (lo, hi)) in ranges.iter().filter(|(n, _)| !n.ends_with(".se_in")) {
        partial.set(name, lo, hi);
    }
    let err = QuantNetwork::new(Arch::MobileNetV3Small, 1.0, &w, &partial, &[], t)
        .err()
        .expect("missing ranges are an error");
    assert!(err.to_string().contains(".se_in"), "{err}");
    assert!(calibrate(&net, shape, &[], RangeMethod::MinMax).is_err());
    let nan = vec![f32::NAN; imgs[0].len()];
    assert!(calibrate(&net, shape, std::slice::from_ref(&nan), RangeMethod::MinMax).is_err());
    // Unknown f32 layer names are reported before calibration (which would fail on NaN).
    let bad = ["features.3.nope".to_string()];
    let err = quantize_network(&net, &w, &[nan], 224, RangeMethod::MinMax, &bad, t)
        .err()
        .expect("an unknown layer");
    assert!(err.to_string().contains("features.3.nope"), "{err}");
}

#[test]
fn c_api_creates_an_int8_embedder_from_a_quantized_file() {
    use ruvector_cnn::{
        rvcnn_embedder, rvcnn_embedder_create_from_memory, rvcnn_embedder_destroy,
        rvcnn_embedder_embed, rvcnn_embedder_precision, rvcnn_image, rvcnn_status,
    };
    let mut w = load("mobilenet_v2.safetensors");
    let (_, imgs) = images();
    let t = KernelTable::best();
    let net = Network::from_metadata(&w, t).unwrap();
    let q = quantize_network(&net, &w, &imgs, 224, RangeMethod::MinMax, &[], t).unwrap();
    save_into(&q, &mut w);
    let bytes = w.to_safetensors().unwrap();
    let mut e: *mut rvcnn_embedder = std::ptr::null_mut();
    // SAFETY: valid buffer and out-pointer; NULL options mean the defaults.
    let st = unsafe {
        rvcnn_embedder_create_from_memory(bytes.as_ptr(), bytes.len(), std::ptr::null(), &mut e)
    };
    assert_eq!(st, rvcnn_status::RVCNN_STATUS_OK);
    let mut name: *const std::ffi::c_char = std::ptr::null();
    // SAFETY: `e` is live; `name` is writable.
    let st = unsafe { rvcnn_embedder_precision(e, &mut name) };
    assert_eq!(st, rvcnn_status::RVCNN_STATUS_OK);
    // SAFETY: the call wrote a static NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(name) };
    assert_eq!(name.to_str().unwrap(), "int8");
    let px: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 7 % 256) as u8).collect();
    let img = rvcnn_image {
        data: px.as_ptr(),
        data_len: px.len(),
        width: 64,
        height: 48,
        stride: 64 * 3,
        format: 1,
    };
    let mut v = vec![0f32; q.dim()];
    // SAFETY: live embedder, valid image, output of `dim` floats.
    let st = unsafe { rvcnn_embedder_embed(e, &img, v.as_mut_ptr(), v.len()) };
    assert_eq!(st, rvcnn_status::RVCNN_STATUS_OK);
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "L2-normalised: {norm}");
    // SAFETY: destroyed once.
    unsafe { rvcnn_embedder_destroy(e) };
}

#[test]
fn an_f32_head_runs_the_first_blocks_before_quantizing() {
    let w = load("mobilenet_v2.safetensors");
    let (shape, imgs) = images();
    let t = KernelTable::best();
    let net = Network::new(Arch::MobileNetV2, 0.35, &w, t).unwrap();
    let ranges = calibrate(&net, shape, &imgs, RangeMethod::Mse).unwrap();
    let head = ["features.2".to_string()];
    let q = QuantNetwork::new(Arch::MobileNetV2, 0.35, &w, &ranges, &head, t).unwrap();
    let plain = QuantNetwork::new(Arch::MobileNetV2, 0.35, &w, &ranges, &[], t).unwrap();
    // Nothing is quantized before the head's output; its blocks report their f32 kernels.
    let mut names = Vec::new();
    let mut g = vec![0.0; q.dim()];
    let mut qws = QuantWorkspace::default();
    q.observe(shape, &imgs[0], &mut g, &mut qws, &mut |n, _| {
        names.push(n.to_string())
    })
    .unwrap();
    assert_eq!(names.first().map(String::as_str), Some("features.2"));
    assert!(
        !names
            .iter()
            .any(|n| n == "features.1" || n.starts_with("features.1."))
    );
    let kernels = q.kernels();
    assert!(
        kernels
            .iter()
            .any(|(n, k)| n == "features.1" && k.contains("f32_"))
    );
    // It tracks the f32 network at least as well as the all-INT8 network, minus noise.
    let mut ws = Workspace::default();
    let (mut f, mut p) = (vec![0.0; q.dim()], vec![0.0; q.dim()]);
    for img in &imgs {
        net.forward(shape, img, Output::Pooled, &mut f, &mut ws)
            .unwrap();
        q.forward(shape, img, &mut g, &mut qws).unwrap();
        plain.forward(shape, img, &mut p, &mut qws).unwrap();
        let (ch, cp) = (cosine(&f, &g), cosine(&f, &p));
        assert!(ch > 0.98 && ch > cp - 0.002, "head {ch} vs plain {cp}");
    }
}
