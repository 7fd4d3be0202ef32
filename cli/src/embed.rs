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

/// Runs `f(i)` for `i < n` on `threads` workers (0 = all cores), showing progress; returns
/// the results in order.
pub fn embed_with(
    n: usize,
    threads: usize,
    f: impl Fn(usize) -> CliResult<Vec<f32>> + Sync,
) -> Vec<CliResult<Vec<f32>>> {
    run_parallel(n, threads, true, f)
}

/// [`embed_with`], with the progress line optional.
pub fn run_parallel(
    n: usize,
    threads: usize,
    show_progress: bool,
    f: impl Fn(usize) -> CliResult<Vec<f32>> + Sync,
) -> Vec<CliResult<Vec<f32>>> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    }
    .clamp(1, n.max(1));
    let results: Vec<Mutex<Option<CliResult<Vec<f32>>>>> =
        (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let progress = Mutex::new(Progress::new(
        n,
        if show_progress { 16 } else { usize::MAX },
    ));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = f(i);
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
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err("not processed".into()))
        })
        .collect()
}

/// Embeds `paths` with `embedder` on `threads` workers, showing progress; unreadable images
/// are reported on stderr and skipped. Returns the embedded paths and their vectors.
pub fn embed_files(
    embedder: &Embedder,
    paths: &[PathBuf],
    threads: usize,
) -> (Vec<PathBuf>, Vec<Vec<f32>>) {
    let results = embed_with(paths.len(), threads, |i| {
        files::decode(&paths[i])
            .and_then(|img| embedder.embed(&img.view()?).map_err(|e| e.to_string()))
    });
    let mut ok_paths = Vec::new();
    let mut vectors = Vec::new();
    for (path, r) in paths.iter().zip(results) {
        match r {
            Ok(v) => {
                ok_paths.push(path.clone());
                vectors.push(v);
            }
            Err(e) => eprintln!("rvcnn: skipping {}: {e}", path.display()),
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
    let vectors = args.model.project(&embedder, vectors)?;
    let dim = vectors.first().map_or(embedder.dim(), Vec::len);
    let label = args.model.label(&embedder);
    match &args.out {
        Some(out) => {
            store::write(out, &ok, &vectors, dim, &label)?;
            eprintln!(
                "rvcnn: {} embeddings of dimension {dim} ({label}) written to {}",
                ok.len(),
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
