//! Per-layer kernel report: time, GFLOP/s and % of peak for every MobileNetV3 layer shape.
//!
//! ```text
//! rvcnn-kbench [--model small|large|all] [--batch N] [--isa LEVEL]
//!              [--only SUBSTRING] [--samples N] [--int8]
//! rvcnn-kbench --resnet [--batch N] [--isa LEVEL] [--samples N]
//! ```
//! `--resnet` times the ResNet 3x3 layers (56x56x64 … 7x7x512, stride 1) with the direct
//! and the Winograd method in one run and prints the speedup; GFLOP/s there count the direct
//! method's FLOPs for both ("effective" for Winograd).
//! "% peak" is against the FMA peak measured on this core at the table's ISA; "% nominal"
//! against the 285 GFLOP/s AVX-512 target core. "roof" is the memory-bound roofline: the
//! layer's FLOPs over the time memcpy needs to read its inputs and weights once and write its
//! output once (buffers of the same sizes, so equally cache-warm); "% bound" is against the
//! lower of 30% of the measured peak and that roofline (the depthwise target). `--int8` adds
//! the INT8 pointwise layers (GOP/s: 2 integer ops per MAC; "% peak" is still against the f32
//! FMA peak, so 400% is the VNNI rate of 4 MACs per f32 FMA lane). Machines are shared and noisy: compare
//! numbers from one run, not across runs.

use std::process::ExitCode;

use ruvector_cnn_benches::{
    MODELS, NOMINAL_PEAK_GFLOPS, RESNET_3X3, conv3x3_bench, copy_roofline_secs, int8_benches,
    model_benches, time,
};
use ruvector_cnn_kernels::isa::{self, IsaSet};
use ruvector_cnn_kernels::ops::ConvAlgorithm;
use ruvector_cnn_kernels::simd::peak::fma_peak_gflops;
use ruvector_cnn_kernels::{Isa, KernelTable};

struct Args {
    model: String,
    batch: usize,
    isa: Isa,
    only: String,
    samples: usize,
    int8: bool,
    resnet: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        model: "all".into(),
        batch: 1,
        isa: isa::available().top(),
        only: String::new(),
        samples: 15,
        int8: false,
        resnet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => a.model = val()?,
            "--batch" => a.batch = val()?.parse().map_err(|e| format!("--batch: {e}"))?,
            "--isa" => a.isa = isa::parse_cap(&val()?)?,
            "--only" => a.only = val()?,
            "--samples" => a.samples = val()?.parse().map_err(|e| format!("--samples: {e}"))?,
            "--int8" => a.int8 = true,
            "--resnet" => a.resnet = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.batch == 0 || a.samples == 0 {
        return Err("--batch and --samples must be at least 1".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("rvcnn-kbench: {e}");
            }
            eprintln!(
                "usage: rvcnn-kbench [--model small|large|all] [--batch N] [--isa LEVEL] [--only SUBSTRING] [--samples N] [--int8]\n       rvcnn-kbench --resnet [--batch N] [--isa LEVEL] [--samples N]"
            );
            return ExitCode::from(2);
        }
    };
    let table = KernelTable::with_isa(IsaSet::up_to(args.isa));
    let level = table.isa_set().top();
    let peak = fma_peak_gflops(level, 200_000_000).unwrap_or(f64::NAN);
    println!(
        "ISA {level}; measured FMA peak {peak:.1} GFLOP/s/core; nominal {NOMINAL_PEAK_GFLOPS} GFLOP/s; batch {}",
        args.batch
    );
    if args.resnet {
        return resnet(&args, &table, peak);
    }
    for (name, md) in MODELS {
        if args.model != "all" && !name.ends_with(&args.model) {
            continue;
        }
        let benches = match model_benches(md, args.batch, &table).and_then(|mut b| {
            if args.int8 {
                b.extend(int8_benches(md, args.batch, &table)?);
            }
            Ok(b)
        }) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("rvcnn-kbench: {name}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "\n{name}\n{:<34} {:<40} {:>9} {:>9} {:>7} {:>9} {:>9} {:>8}",
            "layer", "kernel", "µs", "GFLOP/s", "% peak", "% nominal", "roof", "% bound"
        );
        for mut b in benches.into_iter().filter(|b| b.name.contains(&args.only)) {
            let secs = time(&mut b, args.samples, 20.0);
            let g = b.flops / secs / 1e9;
            let roof = b.flops / copy_roofline_secs(b.traffic, args.samples) / 1e9;
            let percent = |of: f64| {
                if of.is_finite() {
                    format!("{:.1}%", 100.0 * g / of)
                } else {
                    "n/a".into()
                }
            };
            println!(
                "{:<34} {:<40} {:>9.1} {:>9.1} {:>7} {:>8.1}% {:>9.1} {:>8}",
                b.name,
                b.kernel,
                secs * 1e6,
                g,
                percent(peak),
                100.0 * g / NOMINAL_PEAK_GFLOPS,
                roof,
                percent(roof.min(0.3 * peak))
            );
        }
    }
    ExitCode::SUCCESS
}

/// The ResNet 3x3 layers, direct then Winograd, with the speedup.
fn resnet(args: &Args, table: &KernelTable, peak: f64) -> ExitCode {
    println!(
        "{:<34} {:<34} {:>9} {:>9} {:>7} {:>9}",
        "layer", "kernel", "µs", "GFLOP/s", "% peak", "speedup"
    );
    for (hw, c) in RESNET_3X3 {
        let mut direct_secs = f64::NAN;
        for algorithm in [ConvAlgorithm::Direct, ConvAlgorithm::Winograd] {
            let mut b = match conv3x3_bench(hw, c, args.batch, algorithm, table) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("rvcnn-kbench: {hw}x{hw}x{c}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let secs = time(&mut b, args.samples, 20.0);
            let g = b.flops / secs / 1e9;
            let speedup = if algorithm == ConvAlgorithm::Direct {
                direct_secs = secs;
                String::new()
            } else {
                format!("{:.2}x", direct_secs / secs)
            };
            println!(
                "{:<34} {:<34} {:>9.1} {:>9.1} {:>6.1}% {:>9}",
                b.name,
                b.kernel,
                secs * 1e6,
                g,
                100.0 * g / peak,
                speedup
            );
        }
    }
    ExitCode::SUCCESS
}
