//! Contrastive losses: values and gradients against PyTorch autograd (float64 fixtures from
//! `tools/make_contrastive_golden.py`), analytic gradients against central finite differences
//! in f64, f32 (GEMM kernels) against f64, and the edge cases (tiny batches, identical or zero
//! embeddings, extreme temperatures) that must stay finite or be clear errors.

use std::path::PathBuf;

use ruvector_cnn_model::Weights;
use ruvector_cnn_model::contrastive::{
    Distance, LossWorkspace, Mining, Real, TripletOptions, info_nce, nt_xent, triplet,
};

mod common;
use common::data;

fn golden() -> Weights {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/contrastive.golden.safetensors");
    Weights::load(&p).unwrap()
}

/// A loss with its gradients, in `T`, on inputs given as f64.
enum Case {
    NtXent {
        tau: f64,
    },
    InfoNce {
        tau: f64,
        symmetric: bool,
    },
    Triplet {
        labels: Vec<u32>,
        options: TripletOptions,
    },
}

impl Case {
    /// The loss and the gradient of each input (`inputs`: one or two `rows × dim` batches).
    fn eval<T: Real>(&self, inputs: &[Vec<f64>], rows: usize, dim: usize) -> (f64, Vec<Vec<f64>>) {
        let cast = |v: &Vec<f64>| v.iter().map(|&x| T::of(x)).collect::<Vec<T>>();
        let xs: Vec<Vec<T>> = inputs.iter().map(cast).collect();
        let mut grads = vec![vec![T::default(); rows * dim]; xs.len()];
        let mut ws = LossWorkspace::default();
        let loss = match self {
            Case::NtXent { tau } => nt_xent(&xs[0], rows, dim, *tau, &mut grads[0], &mut ws),
            Case::InfoNce { tau, symmetric } => {
                let (ga, gb) = grads.split_at_mut(1);
                info_nce(
                    &xs[0], &xs[1], rows, dim, *tau, *symmetric, &mut ga[0], &mut gb[0], &mut ws,
                )
            }
            Case::Triplet { labels, options } => {
                triplet(&xs[0], rows, dim, labels, options, &mut grads[0], &mut ws)
            }
        }
        .unwrap();
        let back = |g: &Vec<T>| g.iter().map(|v| v.f64()).collect::<Vec<f64>>();
        (loss, grads.iter().map(back).collect())
    }
}

fn close(what: &str, got: &[f64], want: &[f64], rel: f64) {
    let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(g.is_finite(), "{what}[{i}] is {g}");
        assert!(
            (g - w).abs() <= rel * scale,
            "{what}[{i}]: got {g}, want {w} (scale {scale})"
        );
    }
}

#[test]
fn losses_and_gradients_match_pytorch() {
    let g = golden();
    let t = |k: &str| -> Vec<f64> {
        g.get(k)
            .unwrap()
            .data
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    };
    let shape = |k: &str| (g.get(k).unwrap().shape[0], g.get(k).unwrap().shape[1]);
    let mut names: Vec<&str> = g.keys().filter_map(|k| k.strip_suffix(".loss")).collect();
    names.sort();
    assert_eq!(names.len(), 9);
    for name in names {
        let meta = g.metadata(name).unwrap();
        let num = |key: &str| -> f64 {
            let rest = &meta[meta.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4..];
            rest[..rest.find([',', '}']).unwrap()].parse().unwrap()
        };
        let (case, inputs, grads) = if meta.contains("nt_xent") {
            (
                Case::NtXent { tau: num("tau") },
                vec![t(&format!("{name}.z"))],
                vec!["grad"],
            )
        } else if meta.contains("info_nce") {
            let symmetric = meta.contains("\"symmetric\": true");
            let case = Case::InfoNce {
                tau: num("tau"),
                symmetric,
            };
            (
                case,
                vec![t(&format!("{name}.a")), t(&format!("{name}.b"))],
                vec!["grad_a", "grad_b"],
            )
        } else {
            let labels = t(&format!("{name}.labels"))
                .iter()
                .map(|&v| v as u32)
                .collect();
            let options = TripletOptions {
                margin: num("margin"),
                distance: if meta.contains("cosine") {
                    Distance::Cosine
                } else {
                    Distance::Euclidean
                },
                mining: if meta.contains("\"all\"") {
                    Mining::All
                } else {
                    Mining::Hard
                },
            };
            (
                Case::Triplet { labels, options },
                vec![t(&format!("{name}.z"))],
                vec!["grad"],
            )
        };
        let key0 = if grads.len() == 2 {
            format!("{name}.a")
        } else {
            format!("{name}.z")
        };
        let (rows, dim) = shape(&key0);
        let want_loss = t(&format!("{name}.loss"))[0];
        for (precision, (loss, got)) in [
            ("f64", case.eval::<f64>(&inputs, rows, dim)),
            ("f32", case.eval::<f32>(&inputs, rows, dim)),
        ] {
            // The fixture stores f32 roundings of PyTorch's f64 results.
            let rel = if precision == "f64" { 1e-6 } else { 1e-4 };
            close(
                &format!("{name} {precision} loss"),
                &[loss],
                &[want_loss],
                rel,
            );
            for (gk, g) in grads.iter().zip(&got) {
                close(
                    &format!("{name} {precision} {gk}"),
                    g,
                    &t(&format!("{name}.{gk}")),
                    rel,
                );
            }
        }
    }
}

#[test]
fn gradients_match_central_finite_differences_in_f64() {
    let labels = vec![0, 1, 0, 2, 1, 2, 0, 1];
    let cases = [
        (Case::NtXent { tau: 0.3 }, 1, 8),
        (
            Case::InfoNce {
                tau: 0.25,
                symmetric: true,
            },
            2,
            6,
        ),
        (
            Case::InfoNce {
                tau: 0.7,
                symmetric: false,
            },
            2,
            6,
        ),
        (
            Case::Triplet {
                labels: labels.clone(),
                options: TripletOptions {
                    margin: 0.5,
                    distance: Distance::Cosine,
                    mining: Mining::All,
                },
            },
            1,
            8,
        ),
        (
            Case::Triplet {
                labels: labels.clone(),
                options: TripletOptions {
                    margin: 0.5,
                    distance: Distance::Cosine,
                    mining: Mining::Hard,
                },
            },
            1,
            8,
        ),
        (
            Case::Triplet {
                labels: labels.clone(),
                options: TripletOptions {
                    margin: 2.0,
                    distance: Distance::Euclidean,
                    mining: Mining::All,
                },
            },
            1,
            8,
        ),
        (
            Case::Triplet {
                labels,
                options: TripletOptions {
                    margin: 2.0,
                    distance: Distance::Euclidean,
                    mining: Mining::Hard,
                },
            },
            1,
            8,
        ),
    ];
    let dim = 5;
    for (ci, (case, inputs, rows)) in cases.iter().enumerate() {
        let xs: Vec<Vec<f64>> = (0..*inputs)
            .map(|k| data(100 + ci as u64 * 7 + k as u64, rows * dim))
            .collect();
        let (loss, grads) = case.eval::<f64>(&xs, *rows, dim);
        assert!(loss > 0.0, "case {ci}: a zero loss checks nothing");
        let h = 1e-6;
        for (k, g) in grads.iter().enumerate() {
            for i in 0..rows * dim {
                let mut plus = xs.clone();
                plus[k][i] += h;
                let mut minus = xs.clone();
                minus[k][i] -= h;
                let fd = (case.eval::<f64>(&plus, *rows, dim).0
                    - case.eval::<f64>(&minus, *rows, dim).0)
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() <= 1e-6 * (1.0 + fd.abs()),
                    "case {ci} input {k} [{i}]: analytic {}, numeric {fd}",
                    g[i]
                );
            }
        }
    }
}

#[test]
fn edge_cases_are_finite_or_clear_errors() {
    let mut ws = LossWorkspace::<f32>::default();
    let mut g = vec![0f32; 64];
    let finite = |loss: f64, g: &[f32]| loss.is_finite() && g.iter().all(|v| v.is_finite());
    // Two rows (one pair): nothing to contrast against, loss 0.
    let z = [1.0f32, 2.0, -1.0, 0.5];
    let l = nt_xent(&z, 2, 2, 0.1, &mut g[..4], &mut ws).unwrap();
    assert!(l.abs() < 1e-6 && finite(l, &g[..4]));
    // Batch of one pair for InfoNCE.
    let (mut ga, mut gb) = (vec![0f32; 2], vec![0f32; 2]);
    let l = info_nce(&z[..2], &z[2..], 1, 2, 0.1, true, &mut ga, &mut gb, &mut ws).unwrap();
    assert!(l.abs() < 1e-6 && finite(l, &ga) && finite(l, &gb));
    // Identical embeddings: every similarity equal, loss ln(2N − 1), gradient 0.
    let same = vec![0.3f32; 6 * 4];
    let l = nt_xent(&same, 6, 4, 0.5, &mut g[..24], &mut ws).unwrap();
    assert!((l - 5f64.ln()).abs() < 1e-5 && finite(l, &g[..24]), "{l}");
    // Zero vectors (normalised to zero, as F.normalize does).
    let zero = vec![0f32; 4 * 3];
    let l = nt_xent(&zero, 4, 3, 0.2, &mut g[..12], &mut ws).unwrap();
    assert!((l - 3f64.ln()).abs() < 1e-5 && finite(l, &g[..12]));
    let l = triplet(
        &zero,
        4,
        3,
        &[0, 0, 1, 1],
        &TripletOptions::default(),
        &mut g[..12],
        &mut ws,
    )
    .unwrap();
    assert!(finite(l, &g[..12]));
    let euclid = TripletOptions {
        distance: Distance::Euclidean,
        ..Default::default()
    };
    let l = triplet(&zero, 4, 3, &[0, 0, 1, 1], &euclid, &mut g[..12], &mut ws).unwrap();
    assert!(finite(l, &g[..12]));
    // Extreme temperatures.
    let z: Vec<f32> = data(9, 8 * 4).iter().map(|&v| v as f32).collect();
    for tau in [1e-6, 1e-3, 1e3, 1e6] {
        let l = nt_xent(&z, 8, 4, tau, &mut g[..32], &mut ws).unwrap();
        assert!(finite(l, &g[..32]), "tau {tau}: {l}");
    }
    // Errors.
    let err = |r: Result<f64, ruvector_cnn_model::Error>| r.unwrap_err().to_string();
    assert!(err(nt_xent(&z[..12], 3, 4, 0.1, &mut g[..12], &mut ws)).contains("even"));
    assert!(err(nt_xent(&z, 8, 4, 0.0, &mut g[..32], &mut ws)).contains("temperature"));
    assert!(err(nt_xent(&z, 8, 4, f64::NAN, &mut g[..32], &mut ws)).contains("temperature"));
    let mut bad = z.clone();
    bad[5] = f32::NAN;
    assert!(err(nt_xent(&bad, 8, 4, 0.1, &mut g[..32], &mut ws)).contains("non-finite"));
    assert!(err(nt_xent(&z, 8, 4, 0.1, &mut g[..31], &mut ws)).contains("gradient"));
    assert!(err(nt_xent(&z[..31], 8, 4, 0.1, &mut g[..32], &mut ws)).contains("values"));
    assert!(err(nt_xent(&[], 0, 4, 0.1, &mut [], &mut ws)).contains("empty"));
    let one_class = [7u32; 8];
    assert!(
        err(triplet(
            &z,
            8,
            4,
            &one_class,
            &TripletOptions::default(),
            &mut g[..32],
            &mut ws
        ))
        .contains("no anchor")
    );
    assert!(
        err(triplet(
            &z,
            8,
            4,
            &one_class[..7],
            &TripletOptions::default(),
            &mut g[..32],
            &mut ws
        ))
        .contains("labels")
    );
    let neg = TripletOptions {
        margin: -1.0,
        ..Default::default()
    };
    assert!(
        err(triplet(
            &z,
            8,
            4,
            &[0, 1, 0, 1, 0, 1, 0, 1],
            &neg,
            &mut g[..32],
            &mut ws
        ))
        .contains("margin")
    );
}
