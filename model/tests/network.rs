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
    for (threads, pool) in [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2), (3, 3), (2, 4)] {
        let mut net = Network::new(Arch::MobileNetV3Small, 0.5, &w, KernelTable::best()).unwrap();
        net.set_threads(pool).unwrap();
        let mut ws: Vec<_> = (0..threads).map(|_| Default::default()).collect();
        let mut par = vec![f32::NAN; 3 * 7];
        let n = net
            .forward_parallel(shape, &x, Output::Logits, &mut par, &mut ws)
            .unwrap();
        assert_eq!(n, 21);
        assert_eq!(par, one, "{threads} threads, pool of {pool}");
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

#[test]
fn profile_names_every_layer_and_counts_the_known_work() {
    // Multiply-adds of torchvision's models at 224x224 (the figures, logits included).
    for (arch, macs) in [
        (Arch::MobileNetV3Small, 56.5e6),
        (Arch::MobileNetV3Large, 216.6e6),
    ] {
        let w = Weights::random(arch, 1.0, Some(1000), 2).unwrap();
        let net = Network::new(arch, 1.0, &w, KernelTable::best()).unwrap();
        let shape = Nhwc::new(1, 224, 224, 3);
        let x = vec![0.25f32; shape.len().unwrap()];
        let t = net
            .profile(shape, &x, Output::Logits, &mut Default::default())
            .unwrap();
        assert_eq!(t[0].layer, "features.0 conv");
        assert_eq!(t.last().unwrap().layer, "classifier[1]");
        assert!(
            t.iter()
                .all(|l| l.seconds >= 0.0 && l.flops > 0.0 && !l.kernel.is_empty())
        );
        let flops: f64 = t.iter().map(|l| l.flops).sum();
        let ratio = flops / (2.0 * macs);
        assert!(
            (0.97..1.05).contains(&ratio),
            "{arch}: {flops} flops vs {macs} MACs"
        );
    }
}

#[test]
fn splitting_each_image_over_threads_changes_nothing() {
    for arch in [Arch::MobileNetV3Small, Arch::MobileNetV2] {
        let w = Weights::random(arch, 1.0, Some(5), 3).unwrap();
        let mut net = Network::new(arch, 1.0, &w, KernelTable::best()).unwrap();
        let shape = Nhwc::new(2, 131, 97, 3);
        let x: Vec<f32> = (0..shape.len().unwrap())
            .map(|i| (i % 17) as f32 / 8.0 - 1.0)
            .collect();
        let mut want = vec![0.0; 2 * 5];
        net.forward(
            shape,
            &x,
            Output::Logits,
            &mut want,
            &mut Default::default(),
        )
        .unwrap();
        for threads in [2, 3] {
            net.set_threads(threads).unwrap();
            assert_eq!(net.threads(), threads);
            let mut got = vec![f32::NAN; 2 * 5];
            let mut ws = Default::default();
            for _ in 0..3 {
                net.forward(shape, &x, Output::Logits, &mut got, &mut ws)
                    .unwrap();
                assert_eq!(got, want, "{arch} with {threads} threads");
            }
        }
        net.set_threads(1).unwrap();
        assert_eq!(net.threads(), 1);
    }
}

#[test]
fn embed_batch_on_the_pool_equals_one_by_one() {
    use ruvector_cnn_model::{Embedder, EmbedderOptions, ImageView, PixelFormat};
    let w = Weights::random(Arch::MobileNetV3Small, 0.5, None, 9).unwrap();
    let pixels: Vec<Vec<u8>> = (0..7)
        .map(|k| {
            (0..50 * 40 * 3)
                .map(|i| ((i * 7 + k * 131) % 251) as u8)
                .collect()
        })
        .collect();
    let views: Vec<_> = pixels
        .iter()
        .map(|p| ImageView::packed(p, 50, 40, PixelFormat::Rgb8).unwrap())
        .collect();
    let one = Embedder::new(
        Network::new(Arch::MobileNetV3Small, 0.5, &w, KernelTable::best()).unwrap(),
        EmbedderOptions::default(),
    )
    .unwrap();
    let want = one.embed_batch(&views).unwrap();
    for threads in [2, 3, 8] {
        let opts = EmbedderOptions {
            threads,
            image_threads: 2,
            ..EmbedderOptions::default()
        };
        let e = Embedder::new(
            Network::new(Arch::MobileNetV3Small, 0.5, &w, KernelTable::best()).unwrap(),
            opts,
        )
        .unwrap();
        for _ in 0..3 {
            assert_eq!(e.embed_batch(&views).unwrap(), want, "{threads} threads");
        }
    }
}
