//! Projection head, optimisers and supervised training: the head's backward against central
//! finite differences (f64), optimiser steps against their formulas, the schedule, checkpoint
//! round trips, and a training run that must raise recall@1 on synthetic clustered embeddings,
//! deterministically.

use ruvector_cnn_model::Weights;
use ruvector_cnn_model::contrastive::{
    CosineSchedule, Distance, EpochStats, HeadKind, Mining, Optimizer, OptimizerKind,
    ProjectionHead, TrainConfig, TrainEvent, TrainLoss, TripletOptions, train_supervised,
};

mod common;
use common::data;

/// `L = Σ c ⊙ head(x)`: its gradient w.r.t. the output is `c`.
fn probe(head: &mut ProjectionHead<f64>, x: &[f64], rows: usize, c: &[f64]) -> f64 {
    let y = head.forward(x, rows).unwrap();
    y.iter().zip(c).map(|(a, b)| a * b).sum()
}

#[test]
fn head_backward_matches_finite_differences() {
    for kind in [HeadKind::Linear, HeadKind::Mlp { hidden: 7 }] {
        let (rows, d, o) = (5, 6, 4);
        let mut head = ProjectionHead::<f64>::new(kind, d, o, 3).unwrap();
        let x = data(1, rows * d);
        let c = data(2, rows * o);
        probe(&mut head, &x, rows, &c);
        let dx = head.backward(&c).unwrap().to_vec();
        let grads: Vec<Vec<f64>> = head.params_mut().iter().map(|(_, g)| g.to_vec()).collect();
        let h = 1e-6;
        for (i, &want) in dx.iter().enumerate() {
            let (mut p, mut m) = (x.clone(), x.clone());
            p[i] += h;
            m[i] -= h;
            let fd = (probe(&mut head, &p, rows, &c) - probe(&mut head, &m, rows, &c)) / (2.0 * h);
            assert!((fd - want).abs() < 1e-6, "{kind:?} dx[{i}]: {want} vs {fd}");
        }
        for (t, want) in grads.iter().enumerate() {
            for (i, &w) in want.iter().enumerate() {
                let nudge = |head: &mut ProjectionHead<f64>, delta: f64| {
                    head.params_mut()[t].0[i] += delta;
                };
                nudge(&mut head, h);
                let lp = probe(&mut head, &x, rows, &c);
                nudge(&mut head, -2.0 * h);
                let lm = probe(&mut head, &x, rows, &c);
                nudge(&mut head, h);
                let fd = (lp - lm) / (2.0 * h);
                assert!(
                    (fd - w).abs() < 1e-6,
                    "{kind:?} param {t}[{i}]: {w} vs {fd}"
                );
            }
        }
    }
}

#[test]
fn optimiser_steps_follow_pytorch_rules() {
    // SGD with momentum, Nesterov and weight decay, two steps by hand.
    let mut p = vec![1.0f32, -2.0];
    let g = [0.5f32, 0.25];
    let kind = OptimizerKind::Sgd {
        momentum: 0.9,
        nesterov: true,
    };
    let mut opt = Optimizer::new(kind, 0.1).unwrap();
    let (lr, mut want) = (0.1, vec![1.0f64, -2.0]);
    let mut buf = [0.0f64; 2];
    for step in 0..2 {
        opt.step(vec![(&mut p[..], &g[..])], lr).unwrap();
        for i in 0..2 {
            let gi = f64::from(g[i]) + 0.1 * want[i];
            buf[i] = if step == 0 { gi } else { 0.9 * buf[i] + gi };
            want[i] -= lr * (gi + 0.9 * buf[i]);
        }
        for i in 0..2 {
            assert!(
                (f64::from(p[i]) - want[i]).abs() < 1e-6,
                "sgd step {step}: {p:?} vs {want:?}"
            );
        }
    }
    // Adam's first step moves each parameter by lr·sign(g) (plus decoupled decay).
    let mut p = vec![1.0f32, -2.0, 0.5];
    let g = [3.0f32, -0.001, 0.0];
    let mut opt = Optimizer::new(OptimizerKind::ADAM, 0.01).unwrap();
    opt.step(vec![(&mut p[..], &g[..])], 0.1).unwrap();
    let want = [
        1.0 * (1.0 - 0.001) - 0.1,
        -2.0 * (1.0 - 0.001) + 0.1,
        0.5 * (1.0 - 0.001),
    ];
    for (a, b) in p.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-5, "adam: {p:?} vs {want:?}");
    }
    // Bad configurations and inputs.
    assert!(
        Optimizer::new(
            OptimizerKind::Sgd {
                momentum: 1.5,
                nesterov: false
            },
            0.0
        )
        .is_err()
    );
    assert!(Optimizer::new(OptimizerKind::ADAM, -1.0).is_err());
    let nan = [f32::NAN; 3];
    assert!(opt.step(vec![(&mut p[..], &nan[..])], 0.1).is_err());
    let mut q = [0f32; 2];
    assert!(opt.step(vec![(&mut q[..], &g[..2])], 0.1).is_err());
}

#[test]
fn cosine_schedule_warms_up_then_decays_to_the_minimum() {
    let s = CosineSchedule {
        base: 1.0,
        min: 0.01,
        warmup: 10,
        total: 110,
    };
    assert!((s.lr(0) - 0.1).abs() < 1e-12);
    assert!((s.lr(9) - 1.0).abs() < 1e-12);
    assert!((s.lr(10) - 1.0).abs() < 1e-12);
    assert!((s.lr(60) - 0.505).abs() < 1e-12);
    assert!((s.lr(110) - 0.01).abs() < 1e-12);
    assert!((s.lr(1000) - 0.01).abs() < 1e-12);
}

#[test]
fn head_checkpoints_round_trip_and_bad_files_are_errors() {
    let head = ProjectionHead::<f32>::new(HeadKind::Mlp { hidden: 5 }, 6, 3, 9).unwrap();
    let bytes = head.to_weights().unwrap().to_safetensors().unwrap();
    let back = ProjectionHead::from_weights(&Weights::from_safetensors(&bytes).unwrap()).unwrap();
    assert_eq!(back.kind(), head.kind());
    let (mut a, mut b) = (head.clone(), back);
    let x: Vec<f32> = data(4, 2 * 6).iter().map(|&v| v as f32).collect();
    assert_eq!(a.forward(&x, 2).unwrap(), b.forward(&x, 2).unwrap());
    let mut w = head.to_weights().unwrap();
    w.set_metadata("head", "conv");
    assert!(ProjectionHead::from_weights(&w).is_err());
    let w = head
        .to_weights()
        .unwrap()
        .rename(|k| (k != "head.2.bias").then(|| k.to_string()))
        .unwrap();
    assert!(ProjectionHead::from_weights(&w).is_err());
    assert!(ProjectionHead::<f32>::new(HeadKind::Linear, 0, 3, 1).is_err());
    assert!(a.forward(&x[..5], 2).is_err());
    assert!(a.backward(&[0.0; 5]).is_err());
}

/// Leave-one-out cosine recall@1.
fn recall(x: &[f32], d: usize, labels: &[u32]) -> f64 {
    let n = labels.len();
    let norm: Vec<f64> = x
        .chunks_exact(d)
        .map(|r| r.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt())
        .collect();
    let hits = (0..n)
        .filter(|&i| {
            let best = (0..n)
                .filter(|&j| j != i)
                .max_by(|&a, &b| {
                    let cos = |j: usize| {
                        let dot: f64 = x[i * d..(i + 1) * d]
                            .iter()
                            .zip(&x[j * d..(j + 1) * d])
                            .map(|(p, q)| f64::from(*p) * f64::from(*q))
                            .sum();
                        dot / (norm[i] * norm[j] + 1e-12)
                    };
                    cos(a).total_cmp(&cos(b))
                })
                .unwrap();
            labels[best] == labels[i]
        })
        .count();
    hits as f64 / n as f64
}

#[test]
fn training_a_head_raises_recall_and_is_deterministic() {
    // 6 classes, 30 items each: class signal in 4 of 24 dimensions, buried in noise.
    let (classes, per, d) = (6usize, 30usize, 24usize);
    let centres = data(11, classes * 4);
    let noise = data(12, classes * per * d);
    let mut x = vec![0f32; classes * per * d];
    let mut labels = Vec::new();
    for c in 0..classes {
        for i in 0..per {
            let row = c * per + i;
            for k in 0..d {
                let signal = if k < 4 { 1.2 * centres[c * 4 + k] } else { 0.0 };
                x[row * d + k] = (signal + noise[row * d + k]) as f32;
            }
            labels.push(c as u32);
        }
    }
    let before = recall(&x, d, &labels);
    let configs = [
        TrainLoss::Triplet {
            options: TripletOptions {
                margin: 1.0,
                distance: Distance::Euclidean,
                mining: Mining::Hard,
            },
            per_class: 4,
        },
        TrainLoss::Triplet {
            options: TripletOptions {
                margin: 0.3,
                distance: Distance::Cosine,
                mining: Mining::All,
            },
            per_class: 4,
        },
        TrainLoss::NtXent { tau: 0.2 },
        TrainLoss::InfoNce { tau: 0.2 },
    ];
    for loss in configs {
        let config = TrainConfig {
            loss,
            epochs: 30,
            batch: 24,
            lr: 3e-3,
            ..Default::default()
        };
        let run = || {
            let mut head = ProjectionHead::new(HeadKind::Mlp { hidden: 32 }, d, 8, 5).unwrap();
            let mut seen: Vec<EpochStats> = Vec::new();
            let stats = train_supervised(&mut head, &x, &labels, &config, |e| {
                if let TrainEvent::Epoch(s) = e {
                    seen.push(*s);
                }
            })
            .unwrap();
            assert_eq!(stats, seen);
            let y = head.forward(&x, labels.len()).unwrap().to_vec();
            (stats, y)
        };
        let (stats, y) = run();
        let after = recall(&y, 8, &labels);
        let (first, last) = (stats[0].loss, stats[stats.len() - 1].loss);
        assert!(last < first, "{loss:?}: loss {first} → {last}");
        assert!(
            after > before + 0.15,
            "{loss:?}: recall@1 {before:.3} → {after:.3}"
        );
        let (_, again) = run();
        assert_eq!(y, again, "{loss:?}: same seed, different result");
    }
}

mod simclr {
    use ruvector_cnn_model::contrastive::{
        Augment, HeadKind, ProjectionHead, TrainConfig, TrainLoss, train_simclr,
    };
    use ruvector_cnn_model::{ImageView, PixelFormat};

    /// A 16x16 RGB test image: class-dependent stripes and colours.
    fn image(class: usize, variant: usize) -> Vec<u8> {
        (0..16 * 16)
            .flat_map(|i| {
                let (x, y) = (i % 16, i / 16);
                let on = (x * (class + 1) / 4 + y + variant).is_multiple_of(2);
                let c = if on {
                    [200, 60 + 30 * class as u8, 40]
                } else {
                    [30, 30, 90]
                };
                c.map(|v: u8| v.wrapping_add((variant * 7 % 13) as u8))
            })
            .collect()
    }

    #[test]
    fn augmentations_are_deterministic_and_identity_without_randomness() {
        let img = image(2, 1);
        let view = ImageView::packed(&img, 16, 16, PixelFormat::Rgb8).unwrap();
        let a = Augment::simclr(12);
        let (mut x, mut y, mut z) = (Vec::new(), Vec::new(), Vec::new());
        a.apply(&view, 5, &mut x).unwrap();
        a.apply(&view, 5, &mut y).unwrap();
        a.apply(&view, 6, &mut z).unwrap();
        assert_eq!(x.len(), 12 * 12 * 3);
        assert_eq!(x, y);
        assert_ne!(x, z);
        let none = Augment {
            size: 16,
            scale: (1.0, 1.0),
            ratio: (1.0, 1.0),
            flip: 0.0,
            jitter: [0.0; 4],
            jitter_p: 1.0,
            gray_p: 0.0,
        };
        none.apply(&view, 1, &mut x).unwrap();
        assert_eq!(
            x, img,
            "a full crop at the same size with zero jitter is the identity"
        );
        let flipped = Augment { flip: 1.0, ..none };
        flipped.apply(&view, 1, &mut x).unwrap();
        assert_eq!(&x[..3], &img[15 * 3..16 * 3]);
        let gray = Augment {
            gray_p: 1.0,
            ..none
        };
        gray.apply(&view, 1, &mut x).unwrap();
        assert!(x.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]));
        let hue = Augment {
            jitter: [0.0, 0.0, 0.0, 0.5],
            ..none
        };
        hue.apply(&view, 3, &mut x).unwrap();
        assert_ne!(x, img, "a hue shift changes coloured pixels");
        for bad in [
            Augment { size: 0, ..none },
            Augment {
                scale: (0.5, 0.2),
                ..none
            },
            Augment { flip: 2.0, ..none },
            Augment {
                jitter: [0.0, 0.0, 0.0, 0.9],
                ..none
            },
        ] {
            assert!(bad.apply(&view, 1, &mut x).is_err(), "{bad:?}");
        }
    }

    /// 4x4-cell mean colours of an augmentation (48-d): a stand-in backbone.
    fn features(img: &[u8], aug: &Augment, seed: u64, out: &mut [f32]) {
        let view = ImageView::packed(img, 16, 16, PixelFormat::Rgb8).unwrap();
        let mut buf = Vec::new();
        aug.apply(&view, seed, &mut buf).unwrap();
        let n = aug.size;
        out.fill(0.0);
        for (i, p) in buf.chunks_exact(3).enumerate() {
            let cell = (i / n * 4 / n) * 4 + (i % n) * 4 / n;
            for c in 0..3 {
                out[cell * 3 + c] += f32::from(p[c]) / 255.0;
            }
        }
    }

    #[test]
    fn simclr_training_lowers_the_loss_deterministically() {
        let images: Vec<Vec<u8>> = (0..24).map(|i| image(i % 6, i / 6)).collect();
        // Milder than SimCLR's recipe: the stand-in backbone (cell means) must still tell
        // the images apart across two views.
        let aug = Augment {
            scale: (0.6, 1.0),
            jitter: [0.2, 0.2, 0.2, 0.02],
            ..Augment::simclr(8)
        };
        let config = TrainConfig {
            loss: TrainLoss::NtXent { tau: 0.2 },
            epochs: 40,
            batch: 8,
            lr: 3e-3,
            ..Default::default()
        };
        let run = || {
            let mut head = ProjectionHead::new(HeadKind::Mlp { hidden: 32 }, 48, 16, 2).unwrap();
            let embed = |jobs: &[(usize, u64)], out: &mut [f32]| {
                for (&(i, seed), row) in jobs.iter().zip(out.chunks_exact_mut(48)) {
                    features(&images[i], &aug, seed, row);
                }
                Ok(())
            };
            let stats = train_simclr(&mut head, images.len(), embed, &config, |_| {}).unwrap();
            let x: Vec<f32> = images
                .iter()
                .flat_map(|img| {
                    let mut f = vec![0f32; 48];
                    features(
                        img,
                        &Augment {
                            scale: (1.0, 1.0),
                            flip: 0.0,
                            jitter_p: 0.0,
                            gray_p: 0.0,
                            ..aug
                        },
                        0,
                        &mut f,
                    );
                    f
                })
                .collect();
            (stats, head.forward(&x, images.len()).unwrap().to_vec())
        };
        let (stats, y) = run();
        // Noisy per epoch (3 steps of 16 views): compare the last five epochs' mean.
        let first = stats[0].loss;
        let last = stats[stats.len() - 5..].iter().map(|s| s.loss).sum::<f64>() / 5.0;
        assert!(last < 0.9 * first, "SimCLR loss {first} → {last}");
        assert_eq!(run().1, y, "same seed, different head");
        let mut head = ProjectionHead::new(HeadKind::Linear, 48, 8, 1).unwrap();
        let noop = |_: &[(usize, u64)], _: &mut [f32]| Ok(());
        let triplet = TrainConfig::default();
        assert!(train_simclr(&mut head, 10, noop, &triplet, |_| {}).is_err());
        assert!(train_simclr(&mut head, 1, noop, &config, |_| {}).is_err());
    }
}
