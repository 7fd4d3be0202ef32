//! Finding and decoding images: folders are walked recursively (sorted, PNG and JPEG by
//! extension); a file that cannot be read or decoded is reported and skipped.

use std::path::{Path, PathBuf};

use image::DynamicImage;
use ruvector_cnn_model::{ImageView, PixelFormat};

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
pub struct Decoded {
    data: Vec<u8>,
    width: usize,
    height: usize,
    format: PixelFormat,
}

impl Decoded {
    /// A view for the embedder.
    pub fn view(&self) -> Result<ImageView<'_>, String> {
        ImageView::packed(&self.data, self.width, self.height, self.format)
            .map_err(|e| e.to_string())
    }
}

/// Decodes a PNG or JPEG file.
pub fn decode(path: &Path) -> CliResult<Decoded> {
    let img = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let (width, height) = (img.width() as usize, img.height() as usize);
    Ok(if img.color().has_alpha() {
        Decoded {
            data: DynamicImage::to_rgba8(&img).into_raw(),
            width,
            height,
            format: PixelFormat::Rgba8,
        }
    } else {
        Decoded {
            data: DynamicImage::to_rgb8(&img).into_raw(),
            width,
            height,
            format: PixelFormat::Rgb8,
        }
    })
}
