//! Image files → 8-bit pixels (feature `image`): PNG and JPEG decoded by the `image` crate to
//! RGB, or RGBA when the file has alpha. What the CLI reads files with and the fuzz target
//! `image` drives.

use std::path::Path;

use crate::error::{Error, Result};
use crate::preprocess::{ImageView, MAX_SIDE, PixelFormat};

/// Bytes a decoder may allocate for one image (a 16k × 8k RGBA image fits).
const MAX_ALLOC: u64 = 512 << 20;

/// A decoded image: tightly packed RGB or RGBA rows.
pub struct DecodedImage {
    data: Vec<u8>,
    width: usize,
    height: usize,
    format: PixelFormat,
}

impl DecodedImage {
    /// The pixels as an [`ImageView`] for an embedder.
    pub fn view(&self) -> Result<ImageView<'_>> {
        ImageView::packed(&self.data, self.width, self.height, self.format)
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }
}

/// Decodes a PNG or JPEG held in memory. Sides above [`MAX_SIDE`] and images needing more
/// than 512 MiB are errors before any pixel is allocated; so is anything undecodable.
pub fn decode(bytes: &[u8]) -> Result<DecodedImage> {
    let bad =
        |e: &dyn std::fmt::Display| Error::InvalidArgument(format!("cannot decode image: {e}"));
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(&e))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE as u32);
    limits.max_image_height = Some(MAX_SIDE as u32);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| bad(&e))?;
    let (width, height) = (img.width() as usize, img.height() as usize);
    let (data, format) = if img.color().has_alpha() {
        (img.into_rgba8().into_raw(), PixelFormat::Rgba8)
    } else {
        (img.into_rgb8().into_raw(), PixelFormat::Rgb8)
    };
    Ok(DecodedImage {
        data,
        width,
        height,
        format,
    })
}

/// Reads and decodes an image file; errors name the file.
pub fn open(path: &Path) -> Result<DecodedImage> {
    let bytes = crate::weights::read_file(path)?;
    decode(&bytes).map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))
}
