//! End-to-end forward latency of each architecture at 224x224, batch 1, one thread, with
//! random weights (speed does not depend on the values):
//! `cargo run --release -p ruvector-cnn-model --example forward_latency [RUNS]`.

use std::time::Instant;

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::{Arch, Network, Output, Weights};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(200), |s| s.parse())?;
    let table = KernelTable::best();
    let shape = Nhwc::new(1, 224, 224, 3);
    let x: Vec<f32> = (0..shape.len()?)
        .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
        .collect();
    println!(
        "ISA {:?}, {runs} runs after 20 warm-up runs",
        table.isa_set().top()
    );
    for arch in Arch::ALL {
        let w = Weights::random(arch, 1.0, Some(1000), 1)?;
        let net = Network::new(arch, 1.0, &w, table)?;
        let mut ws = net.workspace(shape)?;
        let mut out = vec![0.0; 1000];
        for _ in 0..20 {
            net.forward(shape, &x, Output::Logits, &mut out, &mut ws)?;
        }
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let r = net.forward(shape, &x, Output::Logits, &mut out, &mut ws);
                let dt = t.elapsed().as_secs_f64() * 1e3;
                r.map(|_| dt)
            })
            .collect::<Result<_, _>>()?;
        times.sort_by(f64::total_cmp);
        println!(
            "{arch:<18} median {:.3} ms  min {:.3} ms",
            times[runs / 2],
            times[0]
        );
    }
    Ok(())
}
