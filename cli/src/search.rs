//! `rvcnn search`: cosine top-k of a query image against an index written by `rvcnn embed`.

use std::path::PathBuf;

use clap::Args as ClapArgs;

use crate::model_args::ModelArgs;
use crate::{CliResult, files, store};

/// Arguments of `rvcnn search`.
#[derive(ClapArgs)]
pub struct Args {
    /// Index file (.npy or .jsonl from `rvcnn embed`; embed it with the same model options).
    #[arg(long, value_name = "FILE")]
    pub index: PathBuf,
    /// Query image.
    #[arg(long, value_name = "IMAGE")]
    pub query: PathBuf,
    /// Number of results.
    #[arg(short, default_value_t = 5)]
    pub k: usize,
    /// Model options (must match those the index was made with).
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Cosine similarity (0 when either vector is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        (ab / (aa.sqrt() * bb.sqrt())) as f32
    }
}

/// Runs `rvcnn search`.
pub fn run(args: &Args) -> CliResult {
    let index = store::read(&args.index)?;
    // With --int8, ranges must come from --calib (the same as the index's), never from the
    // one query image: vectors calibrated differently would not be comparable.
    let embedder = args.model.embedder(&[])?;
    let dim = args
        .model
        .head(&embedder)?
        .map_or(embedder.dim(), |h| h.output_dim());
    if dim != index.dim {
        return Err(format!(
            "the index holds {}-d vectors but this model makes {}-d ones; use the model options \
             the index was built with",
            index.dim, dim
        ));
    }
    let img = files::decode(&args.query).map_err(|e| format!("{}: {e}", args.query.display()))?;
    let q = embedder.embed(&img.view()?).map_err(|e| e.to_string())?;
    let q = args.model.project(&embedder, vec![q])?.remove(0);
    let mut scored: Vec<(f32, &str)> = index
        .vectors
        .chunks_exact(index.dim)
        .zip(&index.paths)
        .map(|(v, p)| (cosine(&q, v), p.as_str()))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (rank, (score, path)) in scored.iter().take(args.k).enumerate() {
        println!("{}\t{score:.4}\t{path}", rank + 1);
    }
    Ok(())
}
