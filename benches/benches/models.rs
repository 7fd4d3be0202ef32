//! End-to-end MobileNet forward passes at 224x224 (random torchvision-style weights: speed
//! does not depend on the values): MobileNetV3-Small, -Large and MobileNetV2, batch 1 and 32,
//! one and two threads (the batch split over threads). `cargo bench -p ruvector-cnn-benches
//! --bench models`; ids are `<model>/b<batch>/t<threads>`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::{Arch, Network, Output, Weights};

fn models(c: &mut Criterion) {
    let mut group = c.benchmark_group("models");
    group.sample_size(10);
    for arch in Arch::ALL {
        let w = Weights::random(arch, 1.0, Some(1000), 1).expect("random weights");
        let net = Network::new(arch, 1.0, &w, KernelTable::best()).expect("network");
        for batch in [1usize, 32] {
            let shape = Nhwc::new(batch, 224, 224, 3);
            let x: Vec<f32> = (0..batch * 224 * 224 * 3)
                .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
                .collect();
            let mut y = vec![0.0; batch * 1000];
            for threads in [1usize, 2] {
                let per = Nhwc::new(batch.div_ceil(threads), 224, 224, 3);
                let mut ws: Vec<_> = (0..threads)
                    .map(|_| net.workspace(per).expect("workspace"))
                    .collect();
                group.throughput(Throughput::Elements(batch as u64));
                group.bench_function(format!("{arch}/b{batch}/t{threads}"), |b| {
                    b.iter(|| {
                        net.forward_parallel(shape, &x, Output::Logits, &mut y, &mut ws)
                            .expect("forward")
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
