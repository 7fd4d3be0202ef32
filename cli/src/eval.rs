//! `rvcnn eval`: leave-one-out cosine recall@1 on a labelled image set (a folder with one
//! sub-folder per class, or IDX files). Each image whose class has at least two images is a
//! query; it scores a hit when its most similar other image has the same class.

use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};
use ruvector_cnn_model::preprocess::Scratch;
use ruvector_cnn_model::{Fit, Preprocess};

use crate::CliResult;
use crate::dataset::DataArgs;
use crate::embed::embed_with;
use crate::files;
use crate::model_args::ModelArgs;
use crate::search::cosine;

/// A non-network baseline.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Baseline {
    /// The image resized (centre crop) to 32x32, normalised, as a 3072-d vector.
    Pixels,
}

/// Arguments of `rvcnn eval`.
#[derive(ClapArgs)]
pub struct Args {
    /// The labelled images.
    #[command(flatten)]
    pub data: DataArgs,
    /// Score a baseline instead of the model (class folders only).
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// Model options.
    #[command(flatten)]
    pub model: ModelArgs,
}

fn pixel_vectors(paths: &[PathBuf]) -> Vec<CliResult<Vec<f32>>> {
    let p = Preprocess {
        size: 32,
        fit: Fit::CenterCrop,
        ..Preprocess::default()
    };
    embed_with(paths.len(), 1, |i| {
        let mut v = vec![0.0; p.tensor_len()];
        let img = files::decode(&paths[i])?;
        p.run(&img.view()?, &mut v, &mut Scratch::default())
            .map_err(|e| e.to_string())?;
        Ok(v)
    })
}

/// Leave-one-out recall@1 of `vectors` labelled `labels`: `(hits, queries)`.
pub fn recall_at_1(labels: &[u32], vectors: &[Vec<f32>]) -> (usize, usize) {
    let (mut hits, mut queries) = (0, 0);
    for (i, v) in vectors.iter().enumerate() {
        if labels.iter().filter(|c| **c == labels[i]).count() < 2 {
            continue;
        }
        queries += 1;
        let best = vectors
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, w)| (cosine(v, w), j))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if best.is_some_and(|(_, j)| labels[j] == labels[i]) {
            hits += 1;
        }
    }
    (hits, queries)
}

/// Runs `rvcnn eval`.
pub fn run(args: &Args) -> CliResult {
    let set = args.data.load()?;
    let (label, labels, vectors) = match args.baseline {
        Some(Baseline::Pixels) => {
            if set.paths().is_empty() {
                return Err("--baseline pixels needs a folder of image files".into());
            }
            let (mut labels, mut vectors) = (Vec::new(), Vec::new());
            for ((r, path), l) in pixel_vectors(set.paths())
                .into_iter()
                .zip(set.paths())
                .zip(set.labels())
            {
                match r {
                    Ok(v) => {
                        labels.push(*l);
                        vectors.push(v);
                    }
                    Err(e) => eprintln!("rvcnn: skipping {}: {e}", path.display()),
                }
            }
            ("raw pixels 32x32".to_string(), labels, vectors)
        }
        None => {
            let e = args.model.embedder(set.paths())?;
            let (labels, vectors) = set.embed(&e, args.model.threads);
            let vectors = args.model.project(&e, vectors)?;
            (args.model.label(&e), labels, vectors)
        }
    };
    let n_classes = {
        let mut c = labels.clone();
        c.sort_unstable();
        c.dedup();
        c.len()
    };
    let (hits, queries) = recall_at_1(&labels, &vectors);
    if queries == 0 {
        return Err("no class has two or more readable images".into());
    }
    println!(
        "recall@1 {:.4} ({hits}/{queries} queries, {} images, {n_classes} classes) [{label}]",
        hits as f64 / queries as f64,
        vectors.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_counts_nearest_neighbour_hits_and_skips_singletons() {
        let labels = [0, 0, 1, 1, 2];
        let v = |x: f32, y: f32| vec![x, y];
        let vectors = vec![
            v(1.0, 0.0),
            v(0.9, 0.1),
            v(0.0, 1.0),
            v(0.95, 0.05),
            v(0.5, 0.5),
        ];
        // 0 -> 3 (b, miss: 0.95,0.05 is closer than 0.9,0.1), 1 -> 3 (miss), 2 -> 4? c is a
        // singleton so not a query, but can be a neighbour: 2 -> 4 (miss), 3 -> 0 (miss).
        let (hits, queries) = recall_at_1(&labels, &vectors);
        assert_eq!(queries, 4);
        assert!(hits <= queries);
        let vectors = vec![
            v(1.0, 0.0),
            v(0.9, 0.1),
            v(0.0, 1.0),
            v(0.1, 0.9),
            v(-1.0, 0.0),
        ];
        assert_eq!(recall_at_1(&labels, &vectors), (4, 4));
    }
}
