//! Finding and decoding images: folders are walked recursively (sorted, PNG and JPEG by
//! extension); a file that cannot be read or decoded is reported and skipped.

use std::path::{Path, PathBuf};

use ruvector_cnn_model::ImageView;
use ruvector_cnn_model::image_file::{self, DecodedImage};

use crate::CliResult;

/// Whether `path` has an image extension this tool decodes.
fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> CliResult {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_image(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// The image files named by `paths` (files as given, folders walked).
pub fn collect(paths: &[PathBuf]) -> CliResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

/// A decoded image: RGB or RGBA bytes.
pub struct Decoded(DecodedImage);

impl Decoded {
    /// A view for the embedder.
    pub fn view(&self) -> Result<ImageView<'_>, String> {
        self.0.view().map_err(|e| e.to_string())
    }
}

/// Decodes a PNG or JPEG file.
pub fn decode(path: &Path) -> CliResult<Decoded> {
    image_file::open(path)
        .map(Decoded)
        .map_err(|e| e.to_string())
}
