//! `rvcnn quantize`: calibrate INT8 activation ranges on sample images, report how far each
//! INT8 layer is from f32, and save the quantized model.
//!
//! The saved file holds the f32 weights plus the calibrated ranges (metadata `int8_ranges`);
//! loading it with `--weights` builds the INT8 network directly (weight scales are derived
//! from the weights deterministically), no calibration images needed.

use std::path::PathBuf;

use clap::Args as ClapArgs;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::preprocess::Scratch;
use ruvector_cnn_model::quantized::simulate::{Widths, simulate};
use ruvector_cnn_model::quantized::{
    QuantNetwork, RangeMethod, layer_errors, quantize_network, save_into,
};
use ruvector_cnn_model::{Network, Output, Preprocess, Workspace};

use crate::model_args::{MAX_CALIBRATION, ModelArgs};
use crate::search::cosine;
use crate::{CliResult, files};

/// Arguments of `rvcnn quantize`.
#[derive(ClapArgs)]
pub struct Args {
    /// Calibration images (files or folders; the first 64 are used).
    #[arg(long = "calib-images", value_name = "PATH", required = true, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// Write the quantized model (f32 weights + activation ranges) here.
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: Option<PathBuf>,
    /// Print each INT8 activation's relative error against f32 and the cosine between INT8
    /// and f32 embeddings, on the calibration images.
    #[arg(long)]
    pub report: bool,
    /// Measure the --report on these images (files or folders, all of them) instead of the
    /// calibration images: held-out images show how the calibration generalises.
    #[arg(long = "report-on", value_name = "PATH", num_args = 1.., requires = "report")]
    pub report_on: Vec<PathBuf>,
    /// With --report, also simulate each of these activation widths (fake quantization of
    /// the f32 network over the calibrated ranges) and print its cosine to f32: to see where
    /// more than 8 bits would pay. Each SPEC is comma-separated WHICH=BITS rules (later ones
    /// win; the rest stay 8 bits): WHICH is input, expand, dw, project, block (the residual
    /// stream), last, features.N+ (block N onward) or an activation name; BITS is 2-16 or
    /// f32. The weights are the INT8 network's (`weights=f32` keeps them f32); `ranges=image`
    /// gives each image its own ranges. `default` is 8 bits everywhere.
    #[arg(long, value_name = "SPEC", num_args = 1.., requires = "report")]
    pub simulate: Vec<String>,
    /// Model options (--calib-method picks the range method).
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Runs `rvcnn quantize`.
pub fn run(args: &Args) -> CliResult {
    let method = RangeMethod::parse(&args.model.calib_method).map_err(|e| e.to_string())?;
    // Checked before calibrating.
    let widths = (args.simulate.iter())
        .map(|s| Widths::parse(s).map(|w| (s, w)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let mut w = args.model.weights()?;
    let table = args.model.table()?;
    let net = Network::from_metadata(&w, &table).map_err(|e| e.to_string())?;
    let p = args.model.options().preprocess;
    let (names, tensors) = readable_tensors(&args.images, &p, MAX_CALIBRATION, "calibration")?;
    eprintln!(
        "rvcnn: calibrating on {} images ({method:?})",
        tensors.len()
    );
    let q = quantize_network(
        &net,
        &w,
        &tensors,
        p.size,
        method,
        &args.model.f32_layers,
        &table,
    )
    .map_err(|e| e.to_string())?;
    if !q.f32_layers().is_empty() {
        eprintln!(
            "rvcnn: layers in f32 (--f32-layers, then those INT8 cannot represent): {}",
            q.f32_layers().join(", ")
        );
    }
    if args.report {
        let held_out;
        let (names, tensors) = if args.report_on.is_empty() {
            (&names, &tensors)
        } else {
            held_out = readable_tensors(&args.report_on, &p, usize::MAX, "--report-on")?;
            (&held_out.0, &held_out.1)
        };
        let reference = report(&net, &q, p.size, names, tensors)?;
        for (spec, widths) in &widths {
            let got = simulate(&net, &w, &q, widths, p.size, tensors, &table)
                .map_err(|e| e.to_string())?;
            print_cosines(&format!("simulated `{spec}`"), &reference, &got, names);
        }
    }
    if let Some(out) = &args.out {
        save_into(&q, &mut w);
        let bytes = w.to_safetensors().map_err(|e| e.to_string())?;
        std::fs::write(out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("rvcnn: INT8 model written to {}", out.display());
    }
    Ok(())
}

/// The first `limit` readable images under `paths` (unreadable ones reported and skipped),
/// preprocessed, with their paths; an error naming `what` when none is readable.
fn readable_tensors(
    paths: &[PathBuf],
    p: &Preprocess,
    limit: usize,
    what: &str,
) -> CliResult<(Vec<PathBuf>, Vec<Vec<f32>>)> {
    let mut names = Vec::new();
    let mut tensors = Vec::new();
    let mut scratch = Scratch::default();
    for path in files::collect(paths)? {
        if tensors.len() == limit {
            break;
        }
        let decoded = match files::decode(&path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("rvcnn: skipping {}: {e}", path.display());
                continue;
            }
        };
        let mut t = vec![0.0; p.tensor_len()];
        p.run(&decoded.view()?, &mut t, &mut scratch)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        names.push(path);
        tensors.push(t);
    }
    if tensors.is_empty() {
        return Err(format!("no readable {what} images"));
    }
    Ok((names, tensors))
}

/// Prints each INT8 activation's error against f32 on `tensors` (images `names`), then the
/// cosine between the INT8 and f32 embeddings ([`print_cosines`]); returns the f32
/// embeddings.
fn report(
    net: &Network,
    q: &QuantNetwork,
    size: usize,
    names: &[PathBuf],
    tensors: &[Vec<f32>],
) -> CliResult<Vec<Vec<f32>>> {
    let shape = Nhwc::new(1, size, size, 3);
    let errors = layer_errors(net, q, shape, tensors).map_err(|e| e.to_string())?;
    println!("{:<22} {:>12} {:>10}", "activation", "rel. RMS", "scale");
    for e in &errors {
        println!("{:<22} {:>12.5} {:>10.5}", e.name, e.relative_rms, e.scale);
    }
    let (mut ws, mut qws) = (Workspace::default(), Default::default());
    let (mut reference, mut int8) = (Vec::new(), Vec::new());
    for t in tensors {
        let (mut a, mut b) = (vec![0.0; q.dim()], vec![0.0; q.dim()]);
        net.forward(shape, t, Output::Pooled, &mut a, &mut ws)
            .map_err(|e| e.to_string())?;
        q.forward(shape, t, &mut b, &mut qws)
            .map_err(|e| e.to_string())?;
        reference.push(a);
        int8.push(b);
    }
    print_cosines("int8", &reference, &int8, names);
    Ok(reference)
}

/// Prints the cosine between the embeddings `got` (from `what`) and the f32 `reference`:
/// mean, 1st percentile, worst, and the three images (`names`) with the lowest.
fn print_cosines(what: &str, reference: &[Vec<f32>], got: &[Vec<f32>], names: &[PathBuf]) {
    let mut cos: Vec<_> = (reference.iter().zip(got).zip(names))
        .map(|((a, b), name)| (f64::from(cosine(a, b)), name))
        .collect();
    if cos.is_empty() {
        return;
    }
    cos.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mean = cos.iter().map(|c| c.0).sum::<f64>() / cos.len() as f64;
    let p1 = cos[(cos.len() - 1) / 100].0;
    println!(
        "cosine({what}, f32) of pooled embeddings: mean {mean:.4}, 1st percentile {p1:.4}, worst {:.4} ({} images)",
        cos[0].0,
        cos.len()
    );
    for (c, name) in cos.iter().take(3) {
        println!("  {c:.4}  {}", name.display());
    }
}
