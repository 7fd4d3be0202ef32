//! `rvcnn embed`: images → vectors, written as `.npy` (+ `.txt` with the paths) or JSON lines.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args as ClapArgs;
use ruvector_cnn_model::Embedder;

use crate::model_args::ModelArgs;
use crate::progress::Progress;
use crate::{CliResult, files, store};

/// Arguments of `rvcnn embed`.
#[derive(ClapArgs)]
pub struct Args {
    /// Image files and folders (walked recursively for .png/.jpg/.jpeg).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output file: .npy (float32 [N, D], paths in a .txt beside it) or .jsonl; default:
    /// JSON lines on stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Model options.
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Embeds `paths` with `embedder` on `threads` workers, showing progress; unreadable images
/// are reported on stderr and skipped. Returns the embedded paths and their vectors.
pub fn embed_files(
    embedder: &Embedder,
    paths: &[PathBuf],
    threads: usize,
) -> (Vec<PathBuf>, Vec<Vec<f32>>) {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    }
    .clamp(1, paths.len().max(1));
    let results: Vec<Mutex<Option<CliResult<Vec<f32>>>>> =
        paths.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let progress = Mutex::new(Progress::new(paths.len(), 16));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let r = files::decode(path)
                        .and_then(|img| embedder.embed(&img.view()?).map_err(|e| e.to_string()));
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if let Ok(mut p) = progress.lock() {
                        p.update(d);
                    }
                }
            });
        }
    });
    let mut ok_paths = Vec::new();
    let mut vectors = Vec::new();
    for (path, slot) in paths.iter().zip(results) {
        match slot.into_inner().ok().flatten() {
            Some(Ok(v)) => {
                ok_paths.push(path.clone());
                vectors.push(v);
            }
            Some(Err(e)) => eprintln!("rvcnn: skipping {}: {e}", path.display()),
            None => eprintln!("rvcnn: skipping {}: not processed", path.display()),
        }
    }
    (ok_paths, vectors)
}

/// Runs `rvcnn embed`.
pub fn run(args: &Args) -> CliResult {
    let paths = files::collect(&args.paths)?;
    if paths.is_empty() {
        return Err("no PNG or JPEG images found".into());
    }
    let embedder = args.model.embedder(&paths)?;
    let (ok, vectors) = embed_files(&embedder, &paths, args.model.threads);
    let label = args.model.label(&embedder);
    match &args.out {
        Some(out) => {
            store::write(out, &ok, &vectors, embedder.dim(), &label)?;
            eprintln!(
                "rvcnn: {} embeddings of dimension {} ({label}) written to {}",
                ok.len(),
                embedder.dim(),
                out.display()
            );
        }
        None => store::write_jsonl(&mut std::io::stdout().lock(), &ok, &vectors, &label)?,
    }
    if ok.len() < paths.len() {
        eprintln!(
            "rvcnn: {} of {} files skipped",
            paths.len() - ok.len(),
            paths.len()
        );
    }
    if ok.is_empty() {
        return Err("no image could be embedded".into());
    }
    Ok(())
}
