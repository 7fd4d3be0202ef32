//! Per-layer kernel report: time, GFLOP/s and % of peak for every MobileNetV3 layer shape.
//!
//! ```text
//! rvcnn-kbench [--model small|large|all] [--batch N] [--isa LEVEL]
//!              [--only SUBSTRING] [--samples N] [--int8]
//! rvcnn-kbench --resnet [--batch N] [--isa LEVEL] [--samples N]
//! rvcnn-kbench --ratios [--model small|large|all] [--only SUBSTRING] [--samples N]
//! ```
//! `--ratios` times every layer (f32, INT8, plus the extra families and one Winograd layer)
//! at each ISA level this CPU has, in one run, and prints each level's speed over the scalar
//! level's per layer and per kernel (geometric mean over the layers it runs): the way to
//! compare SIMD variants under emulation (qemu), where only ratios mean anything.
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

use std::collections::BTreeMap;
use std::process::ExitCode;

use ruvector_cnn_benches::{
    Bench, MODELS, NOMINAL_PEAK_GFLOPS, RESNET_3X3, conv3x3_bench, copy_roofline_secs,
    extra_benches, int8_benches, model_benches, time,
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
    ratios: bool,
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
        ratios: false,
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
            "--ratios" => a.ratios = true,
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
                "usage: rvcnn-kbench [--model small|large|all] [--batch N] [--isa LEVEL] [--only SUBSTRING] [--samples N] [--int8]\n       rvcnn-kbench --resnet [--batch N] [--isa LEVEL] [--samples N]\n       rvcnn-kbench --ratios [--model small|large|all] [--only SUBSTRING] [--samples N]"
            );
            return ExitCode::from(2);
        }
    };
    if args.ratios {
        return ratios(&args);
    }
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
    for (name, md) in selected_models(&args) {
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

/// The `(name, layer table)` of the models `--model` selects.
fn selected_models(args: &Args) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    MODELS
        .into_iter()
        .filter(|(name, _)| args.model == "all" || name.ends_with(&args.model))
}

/// Every benchmark of the selected models at `table`'s level: f32 and INT8 layers, the
/// families the layer tables miss, and one Winograd layer.
fn all_benches(args: &Args, table: &KernelTable) -> ruvector_cnn_kernels::ops::Result<Vec<Bench>> {
    let mut out = Vec::new();
    for (_, md) in selected_models(args) {
        out.extend(model_benches(md, args.batch, table)?);
        out.extend(int8_benches(md, args.batch, table)?);
    }
    out.extend(extra_benches(table)?);
    out.push(conv3x3_bench(
        14,
        32,
        args.batch,
        ConvAlgorithm::Winograd,
        table,
    )?);
    out.retain(|b| b.name.contains(&args.only));
    Ok(out)
}

/// Speed of every level over scalar, per layer and per kernel, timed in one run.
fn ratios(args: &Args) -> ExitCode {
    let levels: Vec<Isa> = isa::available().iter().collect();
    let mut runs = Vec::new();
    for &level in &levels {
        let table = KernelTable::with_isa(IsaSet::up_to(level));
        let benches = match all_benches(args, &table) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("rvcnn-kbench: {level}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let timed: Vec<(String, String, f64)> = benches
            .into_iter()
            .map(|mut b| {
                let secs = time(&mut b, args.samples, 20.0);
                (b.name, b.kernel, secs)
            })
            .collect();
        runs.push(timed);
    }
    let scalar = &runs[0];
    print!("{:<34} {:>10}", "layer", "scalar µs");
    for level in &levels[1..] {
        print!(" {:>44}", format!("{level}: kernel, speedup"));
    }
    println!();
    // Per kernel id: the log-speedups of the layers it ran.
    let mut per_kernel: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (i, (name, _, base)) in scalar.iter().enumerate() {
        print!("{name:<34} {:>10.1}", base * 1e6);
        for run in &runs[1..] {
            let (_, kernel, secs) = &run[i];
            let speedup = base / secs;
            print!(" {kernel:>36} {speedup:>6.2}x");
            per_kernel.entry(kernel).or_default().push(speedup.ln());
        }
        println!();
    }
    println!("\n{:<44} {:>7} {:>10}", "kernel", "layers", "speedup");
    for (kernel, logs) in per_kernel {
        let mean = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
        println!("{kernel:<44} {:>7} {mean:>9.2}x", logs.len());
    }
    ExitCode::SUCCESS
}
