//! `rvcnn quantize`: calibrate INT8 activation ranges on sample images, report how far each
//! INT8 layer is from f32, and save the quantized model.
//!
//! The saved file holds the f32 weights plus the calibrated ranges (metadata `int8_ranges`);
//! loading it with `--weights` builds the INT8 network directly (weight scales are derived
//! from the weights deterministically), no calibration images needed.

use std::path::PathBuf;

use clap::Args as ClapArgs;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::quantized::{
    RangeMethod, layer_errors, preprocess_all, quantize_network, save_into,
};
use ruvector_cnn_model::{Network, Output, Workspace};

use crate::model_args::{ModelArgs, calibration_views};
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
    /// Model options (--calib-method picks the range method).
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Runs `rvcnn quantize`.
pub fn run(args: &Args) -> CliResult {
    let method = RangeMethod::parse(&args.model.calib_method).map_err(|e| e.to_string())?;
    let mut w = args.model.weights()?;
    let table = args.model.table()?;
    let net = Network::from_metadata(&w, &table).map_err(|e| e.to_string())?;
    let paths = files::collect(&args.images)?;
    let decoded = calibration_views(&paths)?;
    let views = decoded
        .iter()
        .map(files::Decoded::view)
        .collect::<CliResult<Vec<_>>>()?;
    let p = args.model.options().preprocess;
    let tensors = preprocess_all(&views, &p).map_err(|e| e.to_string())?;
    eprintln!(
        "rvcnn: calibrating on {} images ({method:?})",
        tensors.len()
    );
    let q =
        quantize_network(&net, &w, &tensors, p.size, method, &table).map_err(|e| e.to_string())?;
    if !q.f32_layers().is_empty() {
        eprintln!(
            "rvcnn: layers kept in f32 (INT8 error too large): {}",
            q.f32_layers().join(", ")
        );
    }
    if args.report {
        let shape = Nhwc::new(1, p.size, p.size, 3);
        let errors = layer_errors(&net, &q, shape, &tensors).map_err(|e| e.to_string())?;
        println!("{:<22} {:>12} {:>10}", "activation", "rel. RMS", "scale");
        for e in &errors {
            println!("{:<22} {:>12.5} {:>10.5}", e.name, e.relative_rms, e.scale);
        }
        let (mut ws, mut qws) = (Workspace::default(), Default::default());
        let (mut a, mut b) = (vec![0.0; q.dim()], vec![0.0; q.dim()]);
        let mut cos = Vec::new();
        for t in &tensors {
            net.forward(shape, t, Output::Pooled, &mut a, &mut ws)
                .map_err(|e| e.to_string())?;
            q.forward(shape, t, &mut b, &mut qws)
                .map_err(|e| e.to_string())?;
            cos.push(f64::from(cosine(&a, &b)));
        }
        let mean = cos.iter().sum::<f64>() / cos.len() as f64;
        let worst = cos.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "cosine(int8, f32) of pooled embeddings: mean {mean:.4}, worst {worst:.4} ({} images)",
            cos.len()
        );
    }
    if let Some(out) = &args.out {
        save_into(&q, &mut w);
        let bytes = w.to_safetensors().map_err(|e| e.to_string())?;
        std::fs::write(out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("rvcnn: INT8 model written to {}", out.display());
    }
    Ok(())
}
