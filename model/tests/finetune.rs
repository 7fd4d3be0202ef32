//! Fine-tuning the top of a MobileNet with a head: the trainable tail (last blocks with
//! depthwise, squeeze-excitation and residuals, plus the last conv) reproduces the network
//! before training, training lowers the loss and moves the weights deterministically, and the
//! exported backbone computes exactly the trained tail.

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::contrastive::{
    HeadKind, ProjectionHead, Tail, TrainConfig, TrainLoss, train_finetune,
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

fn pooled(tail: &mut Tail, acts: &[f32], hw: (usize, usize)) -> Vec<f32> {
    let mut out = vec![0f32; tail.last.cout()];
    tail.forward(acts, 1, hw, &mut out).unwrap();
    out
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= 2e-4 * (1.0 + y.abs()))
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
    let mut direct = vec![0f32; 576];
    net.forward(shape, &images[0], Output::Pooled, &mut direct, &mut ws)
        .unwrap();
    let config = TrainConfig {
        loss: TrainLoss::NtXent { tau: 0.3 },
        epochs: 6,
        batch: 4,
        lr: 1e-3,
        ..Default::default()
    };
    // 0: the last conv only; 2: also features.10 and .11 (SE, residual, 5x5 depthwise).
    for blocks in [0, 2] {
        let mut acts = Vec::new();
        let mut hw = (0, 0);
        for x in &images {
            let mut a = Vec::new();
            hw = net.tail_input(blocks, shape, x, &mut ws, &mut a).unwrap();
            acts.push(a);
        }
        let mut tail = Tail::from_weights(arch, width, &w, blocks).unwrap();
        assert_eq!(tail.blocks(), blocks);
        assert_eq!(acts[0].len(), hw.0 * hw.1 * tail.cin());
        assert!(
            close(&pooled(&mut tail, &acts[0], hw), &direct),
            "{blocks}: tail differs from the network"
        );
        let run = || {
            let mut tail = Tail::from_weights(arch, width, &w, blocks).unwrap();
            let mut head = ProjectionHead::new(HeadKind::Linear, tail.last.cout(), 16, 3).unwrap();
            let trunk = |items: &[usize], out: &mut [f32]| {
                for (&i, block) in items.iter().zip(out.chunks_exact_mut(acts[0].len())) {
                    block.copy_from_slice(&acts[i]);
                }
                Ok(())
            };
            let stats =
                train_finetune(&mut head, &mut tail, &labels, hw, trunk, &config, |_| {}).unwrap();
            (stats, tail)
        };
        let (stats, mut tuned) = run();
        assert!(
            stats.last().unwrap().loss < stats[0].loss,
            "{blocks}: {stats:?}"
        );
        let after = pooled(&mut tuned, &acts[0], hw);
        assert!(
            !close(&after, &direct),
            "{blocks}: training left the tail unchanged"
        );
        assert_eq!(
            pooled(&mut run().1, &acts[0], hw),
            after,
            "{blocks}: not deterministic"
        );
        // The exported backbone computes exactly the tuned tail.
        let exported = tuned.export(&w).unwrap();
        let net2 = Network::new(arch, width, &exported, t).unwrap();
        let mut got = vec![0f32; 576];
        net2.forward(shape, &images[0], Output::Pooled, &mut got, &mut ws)
            .unwrap();
        assert!(
            close(&got, &after),
            "{blocks}: exported backbone differs from the tuned tail"
        );
        // Errors: a head of the wrong width.
        let mut head = ProjectionHead::new(HeadKind::Linear, 7, 4, 1).unwrap();
        let noop = |_: &[usize], _: &mut [f32]| Ok(());
        assert!(train_finetune(&mut head, &mut tuned, &labels, hw, noop, &config, |_| {}).is_err());
    }
    assert!(Tail::from_weights(arch, width, &w, 99).is_err());
}
