//! Fine-tuning the last convolution with a head: the exported backbone reproduces the
//! trainable convolution exactly (before and after training), and training lowers the loss
//! and moves the weights, deterministically.

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::contrastive::{
    HeadKind, LastConv, ProjectionHead, TrainConfig, TrainLoss, train_finetune,
};
use ruvector_cnn_model::{Arch, Network, Output, Weights};

const SIDE: usize = 64;

fn image(class: usize, variant: usize) -> Vec<f32> {
    (0..SIDE * SIDE * 3)
        .map(|i| {
            let (p, c) = (i / 3, i % 3);
            let (x, y) = (p % SIDE, p / SIDE);
            let stripe = ((x * (class + 1) / 8 + y / 4 + c) % 2) as f32;
            stripe * 1.5 - 0.7 + 0.05 * ((i * 31 + variant * 17) % 11) as f32
        })
        .collect()
}

/// The last conv's pooled output for `trunk` activations, via the trainable layer.
fn pooled(conv: &mut LastConv, acts: &[f32], pixels: usize) -> Vec<f32> {
    let mut out = vec![0f32; conv.cout()];
    conv.forward(acts, 1, pixels, &mut out).unwrap();
    out
}

#[test]
fn finetuning_trains_and_exports_an_equivalent_backbone() {
    // The golden fixture: random init with calibrated BatchNorm statistics, so activations
    // keep their scale through the depth (a plain random init leaves ~1e-7 at the top).
    let (arch, width) = (Arch::MobileNetV3Small, 1.0);
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mobilenet_v3_small.safetensors");
    let w = Weights::load(&path).unwrap();
    let t = KernelTable::best();
    let net = Network::new(arch, width, &w, t).unwrap();
    let shape = Nhwc::new(1, SIDE, SIDE, 3);
    let images: Vec<Vec<f32>> = (0..24).map(|i| image(i % 4, i / 4)).collect();
    let labels: Vec<u32> = (0..24).map(|i| (i % 4) as u32).collect();
    let mut ws = net.workspace(shape).unwrap();
    let trunk_of = |x: &[f32], ws: &mut _| {
        let mut a = Vec::new();
        net.last_conv_input(shape, x, ws, &mut a).unwrap();
        a
    };
    let acts: Vec<Vec<f32>> = images.iter().map(|x| trunk_of(x, &mut ws)).collect();
    let mut conv = LastConv::from_weights(arch, width, &w).unwrap();
    let pixels = acts[0].len() / conv.cin();
    assert_eq!(pixels * conv.cin(), acts[0].len());
    // Before training: the trainable conv is the network's last conv.
    let mut direct = vec![0f32; conv.cout()];
    net.forward(shape, &images[0], Output::Pooled, &mut direct, &mut ws)
        .unwrap();
    let ours = pooled(&mut conv, &acts[0], pixels);
    let close = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-4 * (1.0 + y.abs()))
    };
    assert!(
        close(&ours, &direct),
        "trainable conv differs from the network's"
    );
    let config = TrainConfig {
        loss: TrainLoss::NtXent { tau: 0.3 },
        epochs: 6,
        batch: 4,
        lr: 1e-3,
        ..Default::default()
    };
    let run = || {
        let mut conv = LastConv::from_weights(arch, width, &w).unwrap();
        let mut head = ProjectionHead::new(HeadKind::Linear, conv.cout(), 16, 3).unwrap();
        let trunk = |items: &[usize], out: &mut [f32]| {
            for (&i, block) in items.iter().zip(out.chunks_exact_mut(acts[0].len())) {
                block.copy_from_slice(&acts[i]);
            }
            Ok(())
        };
        let stats = train_finetune(
            &mut head,
            &mut conv,
            &labels,
            pixels,
            trunk,
            &config,
            |_| {},
        )
        .unwrap();
        (stats, conv)
    };
    let (stats, mut tuned) = run();
    assert!(stats.last().unwrap().loss < stats[0].loss, "{stats:?}");
    let after = pooled(&mut tuned, &acts[0], pixels);
    assert!(!close(&after, &direct), "training left the conv unchanged");
    assert_eq!(
        pooled(&mut run().1, &acts[0], pixels),
        after,
        "not deterministic"
    );
    // The exported backbone computes exactly the tuned conv.
    let exported = tuned.export(&w).unwrap();
    let net2 = Network::new(arch, width, &exported, t).unwrap();
    let mut got = vec![0f32; conv.cout()];
    net2.forward(shape, &images[0], Output::Pooled, &mut got, &mut ws)
        .unwrap();
    assert!(
        close(&got, &after),
        "exported backbone differs from the tuned conv"
    );
    // Errors: a head of the wrong width.
    let mut head = ProjectionHead::new(HeadKind::Linear, 7, 4, 1).unwrap();
    let noop = |_: &[usize], _: &mut [f32]| Ok(());
    assert!(
        train_finetune(
            &mut head,
            &mut tuned,
            &labels,
            pixels,
            noop,
            &config,
            |_| {}
        )
        .is_err()
    );
}
