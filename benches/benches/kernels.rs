//! Criterion benchmarks of every kernel family on MobileNetV3-Small and -Large layer shapes
//! (plus batch-norm, activation and pooling on representative shapes, and the ResNet 3x3
//! layers with the direct and the Winograd method). Throughput is counted
//! in floating-point operations, so criterion's `Gelem/s` reads as GFLOP/s.
//!
//! `cargo bench -p ruvector-cnn-benches --bench kernels [-- FILTER]`; `RVCNN_ISA=avx2fma`
//! (or `scalar`) benchmarks a lower ISA level; `RVCNN_BENCH_BATCH=32` sets the batch.
//! For "% of peak" tables use `cargo run --release -p ruvector-cnn-benches --bin rvcnn-kbench`.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ruvector_cnn_benches::{
    Bench, MODELS, RESNET_3X3, conv3x3_bench, extra_benches, model_benches,
};
use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::ConvAlgorithm;

fn group(c: &mut Criterion, name: &str, benches: Vec<Bench>) {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for mut b in benches {
        g.throughput(Throughput::Elements(b.flops as u64));
        g.bench_function(format!("{} [{}]", b.name, b.kernel), |bencher| {
            bencher.iter(|| (b.run)())
        });
    }
    g.finish();
}

fn kernels(c: &mut Criterion) {
    let table = KernelTable::best();
    let batch = std::env::var("RVCNN_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let isa = table.isa_set().top();
    for (name, md) in MODELS {
        let benches = model_benches(md, batch, table).expect("layer tables build");
        group(c, &format!("{isa}/{name}/b{batch}"), benches);
    }
    group(
        c,
        &format!("{isa}/other"),
        extra_benches(table).expect("extra benches build"),
    );
    let resnet = RESNET_3X3
        .iter()
        .flat_map(|&(hw, ch)| {
            [ConvAlgorithm::Direct, ConvAlgorithm::Winograd]
                .map(|a| conv3x3_bench(hw, ch, batch, a, table).expect("resnet benches build"))
        })
        .collect();
    group(c, &format!("{isa}/resnet_3x3/b{batch}"), resnet);
}

criterion_group!(benches, kernels);
criterion_main!(benches);
