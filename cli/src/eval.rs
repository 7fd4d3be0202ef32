//! `rvcnn eval`: leave-one-out cosine recall@1 on a folder of labelled images (one sub-folder
//! per class). Each image whose class has at least two images is a query; it scores a hit
//! when its most similar other image has the same class.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::{Args as ClapArgs, ValueEnum};
use ruvector_cnn_model::preprocess::Scratch;
use ruvector_cnn_model::{Fit, Preprocess};

use crate::embed::embed_files;
use crate::model_args::ModelArgs;
use crate::search::cosine;
use crate::{CliResult, files};

/// A non-network baseline.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Baseline {
    /// The image resized (centre crop) to 32x32, normalised, as a 3072-d vector.
    Pixels,
}

/// Arguments of `rvcnn eval`.
#[derive(ClapArgs)]
pub struct Args {
    /// Folder with one sub-folder of images per class.
    pub dir: PathBuf,
    /// Score a baseline instead of the model.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// Model options.
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `(class, path)` of every image under the class folders of `dir`.
fn labelled(dir: &Path) -> CliResult<Vec<(String, PathBuf)>> {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    let mut out = Vec::new();
    for c in classes {
        let name = c
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for p in files::collect(std::slice::from_ref(&c))? {
            out.push((name.clone(), p));
        }
    }
    Ok(out)
}

fn pixel_vectors(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Vec<f32>>) {
    let p = Preprocess {
        size: 32,
        fit: Fit::CenterCrop,
        ..Preprocess::default()
    };
    let mut scratch = Scratch::default();
    let mut ok = Vec::new();
    let mut vectors = Vec::new();
    for path in paths {
        let mut v = vec![0.0; p.tensor_len()];
        let r = files::decode(path).and_then(|img| {
            p.run(&img.view()?, &mut v, &mut scratch)
                .map_err(|e| e.to_string())
        });
        match r {
            Ok(()) => {
                ok.push(path.clone());
                vectors.push(v);
            }
            Err(e) => eprintln!("rvcnn: skipping {}: {e}", path.display()),
        }
    }
    (ok, vectors)
}

/// Leave-one-out recall@1 of `vectors` labelled `classes`: `(hits, queries)`.
pub fn recall_at_1(classes: &[&str], vectors: &[Vec<f32>]) -> (usize, usize) {
    let (mut hits, mut queries) = (0, 0);
    for (i, v) in vectors.iter().enumerate() {
        if classes.iter().filter(|c| **c == classes[i]).count() < 2 {
            continue;
        }
        queries += 1;
        let best = vectors
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, w)| (cosine(v, w), j))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if best.is_some_and(|(_, j)| classes[j] == classes[i]) {
            hits += 1;
        }
    }
    (hits, queries)
}

/// Runs `rvcnn eval`.
pub fn run(args: &Args) -> CliResult {
    let items = labelled(&args.dir)?;
    if items.is_empty() {
        return Err(format!(
            "no class folders with images in {}",
            args.dir.display()
        ));
    }
    let paths: Vec<PathBuf> = items.iter().map(|(_, p)| p.clone()).collect();
    let (label, (ok, vectors)) = match args.baseline {
        Some(Baseline::Pixels) => ("raw pixels 32x32".to_string(), pixel_vectors(&paths)),
        None => {
            let e = args.model.embedder(&paths)?;
            (
                args.model.label(&e),
                embed_files(&e, &paths, args.model.threads),
            )
        }
    };
    let class_of: HashMap<&PathBuf, &str> = items.iter().map(|(c, p)| (p, c.as_str())).collect();
    let classes: Vec<&str> = ok
        .iter()
        .map(|p| class_of.get(p).copied().unwrap_or(""))
        .collect();
    let n_classes = {
        let mut c = classes.clone();
        c.sort_unstable();
        c.dedup();
        c.len()
    };
    let (hits, queries) = recall_at_1(&classes, &vectors);
    if queries == 0 {
        return Err("no class has two or more readable images".into());
    }
    println!(
        "recall@1 {:.4} ({hits}/{queries} queries, {} images, {n_classes} classes) [{label}]",
        hits as f64 / queries as f64,
        ok.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_counts_nearest_neighbour_hits_and_skips_singletons() {
        let classes = ["a", "a", "b", "b", "c"];
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
        let (hits, queries) = recall_at_1(&classes, &vectors);
        assert_eq!(queries, 4);
        assert!(hits <= queries);
        let vectors = vec![
            v(1.0, 0.0),
            v(0.9, 0.1),
            v(0.0, 1.0),
            v(0.1, 0.9),
            v(-1.0, 0.0),
        ];
        assert_eq!(recall_at_1(&classes, &vectors), (4, 4));
    }
}
