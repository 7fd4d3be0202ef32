//! Batch splitting over threads gives exactly the single-thread result.

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::{Arch, Network, Output, Weights};

#[test]
fn forward_parallel_equals_forward() {
    let w = Weights::random(Arch::MobileNetV3Small, 0.5, Some(7), 5).unwrap();
    let net = Network::new(Arch::MobileNetV3Small, 0.5, &w, KernelTable::best()).unwrap();
    let shape = Nhwc::new(3, 40, 33, 3);
    let x: Vec<f32> = (0..shape.len().unwrap())
        .map(|i| (i % 13) as f32 / 6.0 - 1.0)
        .collect();
    let mut one = vec![0.0; 3 * 7];
    net.forward(shape, &x, Output::Logits, &mut one, &mut Default::default())
        .unwrap();
    for threads in 1..=4 {
        let mut ws: Vec<_> = (0..threads).map(|_| Default::default()).collect();
        let mut par = vec![f32::NAN; 3 * 7];
        let n = net
            .forward_parallel(shape, &x, Output::Logits, &mut par, &mut ws)
            .unwrap();
        assert_eq!(n, 21);
        assert_eq!(par, one, "{threads} threads");
    }
    let mut short = vec![0.0; 20];
    let mut ws: Vec<_> = (0..2).map(|_| Default::default()).collect();
    assert!(
        net.forward_parallel(shape, &x, Output::Logits, &mut short, &mut ws)
            .is_err()
    );
    assert!(
        net.forward_parallel(shape, &x, Output::Logits, &mut one, &mut [])
            .is_err()
    );
}
