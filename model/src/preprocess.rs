//! Image preprocessing: u8 pixels of any size and layout → a normalised `size × size × 3`
//! NHWC f32 tensor.
//!
//! Resampling is antialiased bilinear (a triangle filter widened by the downscale factor, as
//! PIL and torchvision's `antialias=True` do), computed in f32 without rounding to 8 bits
//! between the horizontal and vertical passes. Alpha is composited over `background`.
//! Geometry ([`Fit`]):
//! - `CenterCrop` (default; torchvision's ImageNet eval transform): scale the shorter side to
//!   `size / crop_fraction` (256 for 224), then take the centred `size × size` crop;
//! - `Letterbox`: scale the longer side to `size`, centre, pad with the mean colour (0 after
//!   normalisation);
//! - `Stretch`: scale each axis to `size` independently (aspect ratio not kept).

use ruvector_cnn_kernels::ops::Nhwc;

use crate::error::{Error, Result};

/// Layout of one pixel in an 8-bit image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// One byte of luminance.
    Gray8,
    /// Red, green, blue.
    Rgb8,
    /// Red, green, blue, alpha (straight, not premultiplied).
    Rgba8,
    /// Blue, green, red.
    Bgr8,
    /// Blue, green, red, alpha.
    Bgra8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub const fn bytes(self) -> usize {
        match self {
            PixelFormat::Gray8 => 1,
            PixelFormat::Rgb8 | PixelFormat::Bgr8 => 3,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
        }
    }

    /// `(r, g, b, alpha)` byte offsets within a pixel.
    const fn offsets(self) -> (usize, usize, usize, Option<usize>) {
        match self {
            PixelFormat::Gray8 => (0, 0, 0, None),
            PixelFormat::Rgb8 => (0, 1, 2, None),
            PixelFormat::Rgba8 => (0, 1, 2, Some(3)),
            PixelFormat::Bgr8 => (2, 1, 0, None),
            PixelFormat::Bgra8 => (2, 1, 0, Some(3)),
        }
    }
}

/// Largest accepted image side (pixels).
pub const MAX_SIDE: usize = 1 << 15;

/// A borrowed 8-bit image.
#[derive(Clone, Copy, Debug)]
pub struct ImageView<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
}

impl<'a> ImageView<'a> {
    /// An image of `width × height` pixels whose rows start every `stride` bytes. Errors on
    /// zero or huge sizes, a stride shorter than a row, or `data` too short for the last row.
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Self> {
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(Error::InvalidArgument(format!(
                "image is {width}x{height}; each side must be 1..={MAX_SIDE}"
            )));
        }
        let row = width * format.bytes();
        if stride < row {
            return Err(Error::InvalidArgument(format!(
                "row stride {stride} is shorter than a row ({width} pixels x {} bytes)",
                format.bytes()
            )));
        }
        let needed = stride
            .checked_mul(height - 1)
            .and_then(|v| v.checked_add(row))
            .ok_or_else(|| Error::InvalidArgument("image size overflows".into()))?;
        if data.len() < needed {
            return Err(Error::InvalidArgument(format!(
                "image buffer holds {} bytes, {needed} needed for {width}x{height} with stride {stride}",
                data.len()
            )));
        }
        Ok(ImageView {
            data,
            width,
            height,
            stride,
            format,
        })
    }

    /// A tightly packed image (`stride = width · bytes per pixel`).
    pub fn packed(
        data: &'a [u8],
        width: usize,
        height: usize,
        format: PixelFormat,
    ) -> Result<Self> {
        Self::new(
            data,
            width,
            height,
            width.saturating_mul(format.bytes()),
            format,
        )
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Pixel `(x, y)` as RGB in 0..=255, alpha composited over `background` (in range).
    pub(crate) fn rgb(&self, x: usize, y: usize, background: [f32; 3]) -> [f32; 3] {
        let (ro, go, bo, ao) = self.format.offsets();
        let bpp = self.format.bytes();
        let p = &self.data[y * self.stride + x * bpp..][..bpp];
        let px = [f32::from(p[ro]), f32::from(p[go]), f32::from(p[bo])];
        match ao {
            Some(a) => {
                let a = f32::from(p[a]) / 255.0;
                std::array::from_fn(|c| px[c] * a + background[c] * (1.0 - a))
            }
            None => px,
        }
    }
}

/// How an image is fitted into the square network input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fit {
    /// Shorter side to `size / crop_fraction`, centred square crop.
    #[default]
    CenterCrop,
    /// Longer side to `size`, padded with the mean colour.
    Letterbox,
    /// Each axis to `size`.
    Stretch,
}

/// Preprocessing parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preprocess {
    /// Side of the square network input (default 224).
    pub size: usize,
    /// Geometry.
    pub fit: Fit,
    /// For `CenterCrop`: the crop's share of the resized shorter side (default 0.875).
    pub crop_fraction: f32,
    /// Per-channel mean of `[0, 1]` pixel values (default ImageNet's).
    pub mean: [f32; 3],
    /// Per-channel standard deviation (default ImageNet's).
    pub std: [f32; 3],
    /// Colour that transparent pixels are composited over (default white).
    pub background: [u8; 3],
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            size: 224,
            fit: Fit::CenterCrop,
            crop_fraction: 0.875,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
            background: [255, 255, 255],
        }
    }
}

/// Resampling taps for one output axis: per output index, the first source index and the
/// weights (stored flat).
#[derive(Default)]
struct Taps {
    first: Vec<usize>,
    count: Vec<usize>,
    offset: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    /// Taps for outputs `start..start + len` of a `src → resized` resampling; outputs outside
    /// `0..resized` get no taps (padding).
    fn build(&mut self, src: usize, resized: usize, start: isize, len: usize) {
        self.first.clear();
        self.count.clear();
        self.offset.clear();
        self.weights.clear();
        let scale = src as f64 / resized as f64;
        let filter = scale.max(1.0);
        for o in 0..len {
            self.offset.push(self.weights.len());
            let x = start + o as isize;
            if x < 0 || x >= resized as isize {
                self.first.push(0);
                self.count.push(0);
                continue;
            }
            let center = (x as f64 + 0.5) * scale;
            let lo = ((center - filter + 0.5).floor().max(0.0)) as usize;
            let hi = ((center + filter + 0.5).floor() as usize).min(src);
            let tri = |j: usize| (1.0 - ((j as f64 + 0.5 - center) / filter).abs()).max(0.0);
            let sum: f64 = (lo..hi).map(tri).sum();
            self.first.push(lo);
            self.count.push(hi - lo);
            self.weights.extend((lo..hi).map(|j| (tri(j) / sum) as f32));
        }
    }

    fn get(&self, o: usize) -> (usize, &[f32]) {
        let off = self.offset[o];
        (self.first[o], &self.weights[off..off + self.count[o]])
    }
}

/// Reusable scratch memory of [`Preprocess::run`].
#[derive(Default)]
pub struct Scratch {
    h: Taps,
    v: Taps,
    rows: Vec<f32>,
}

impl Preprocess {
    /// Floats of one preprocessed image (`size · size · 3`).
    pub fn tensor_len(&self) -> usize {
        self.size * self.size * 3
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if self.size == 0 || self.size > 4096 {
            return Err(Error::InvalidArgument(format!(
                "input size {} must be 1..=4096",
                self.size
            )));
        }
        if !(self.crop_fraction > 0.0 && self.crop_fraction <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "crop fraction {} must be in (0, 1]",
                self.crop_fraction
            )));
        }
        if self.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || self.mean.iter().any(|m| !m.is_finite())
        {
            return Err(Error::InvalidArgument(
                "normalisation mean must be finite and std finite and > 0".into(),
            ));
        }
        Ok(())
    }

    /// `(resized width, resized height, crop left, crop top)`; offsets are negative when the
    /// resized image is smaller than the input (letterbox padding).
    fn geometry(&self, w: usize, h: usize) -> (usize, usize, isize, isize) {
        let size = self.size as f64;
        let (rw, rh) = match self.fit {
            Fit::Stretch => (self.size, self.size),
            Fit::CenterCrop => {
                let short = size / f64::from(self.crop_fraction);
                let s = short / w.min(h) as f64;
                let r = |v: usize| ((v as f64 * s) as usize).max(short.round() as usize).max(1);
                if w <= h {
                    (short.round() as usize, r(h))
                } else {
                    (r(w), short.round() as usize)
                }
            }
            Fit::Letterbox => {
                let s = size / w.max(h) as f64;
                let r = |v: usize| ((v as f64 * s).round() as usize).clamp(1, self.size);
                (r(w), r(h))
            }
        };
        let off = |r: usize| ((r as f64 - size) / 2.0).round() as isize;
        (rw, rh, off(rw), off(rh))
    }

    /// Writes the preprocessed image into `out[..tensor_len()]` (NHWC, one image).
    pub fn run(&self, img: &ImageView<'_>, out: &mut [f32], scratch: &mut Scratch) -> Result<()> {
        self.validate()?;
        let n = self.size;
        if out.len() < self.tensor_len() {
            return Err(Error::InvalidArgument(format!(
                "tensor buffer holds {} floats, {} needed",
                out.len(),
                self.tensor_len()
            )));
        }
        let (rw, rh, left, top) = self.geometry(img.width, img.height);
        scratch.h.build(img.width, rw, left, n);
        scratch.v.build(img.height, rh, top, n);
        // Source rows any output row reads.
        let (mut r0, mut r1) = (usize::MAX, 0);
        for y in 0..n {
            let (first, w) = scratch.v.get(y);
            if !w.is_empty() {
                r0 = r0.min(first);
                r1 = r1.max(first + w.len());
            }
        }
        let rows = r1.saturating_sub(r0);
        scratch.rows.clear();
        scratch.rows.resize(rows * n * 3, 0.0);
        let (ro, go, bo, ao) = img.format.offsets();
        let bpp = img.format.bytes();
        let bg = self.background.map(f32::from);
        for r in 0..rows {
            let line = &img.data[(r0 + r) * img.stride..];
            for x in 0..n {
                let (first, w) = scratch.h.get(x);
                let mut acc = [0f32; 3];
                for (k, &wt) in w.iter().enumerate() {
                    let p = &line[(first + k) * bpp..(first + k + 1) * bpp];
                    let mut px = [f32::from(p[ro]), f32::from(p[go]), f32::from(p[bo])];
                    if let Some(a) = ao {
                        let a = f32::from(p[a]) / 255.0;
                        for c in 0..3 {
                            px[c] = px[c] * a + bg[c] * (1.0 - a);
                        }
                    }
                    for c in 0..3 {
                        acc[c] += wt * px[c];
                    }
                }
                scratch.rows[(r * n + x) * 3..(r * n + x) * 3 + 3].copy_from_slice(&acc);
            }
        }
        let inv_std = self.std.map(|s| 1.0 / s);
        for y in 0..n {
            let (first, w) = scratch.v.get(y);
            for x in 0..n {
                let dst = &mut out[(y * n + x) * 3..(y * n + x) * 3 + 3];
                let hpad = scratch.h.get(x).1.is_empty();
                if w.is_empty() || hpad {
                    dst.fill(0.0); // letterbox padding: the mean colour
                    continue;
                }
                let mut acc = [0f32; 3];
                for (k, &wt) in w.iter().enumerate() {
                    let src = &scratch.rows[((first - r0 + k) * n + x) * 3..][..3];
                    for c in 0..3 {
                        acc[c] += wt * src[c];
                    }
                }
                for c in 0..3 {
                    dst[c] = (acc[c] / 255.0 - self.mean[c]) * inv_std[c];
                }
            }
        }
        Ok(())
    }
}

/// Reorders a PyTorch-layout NCHW tensor into the NHWC layout [`crate::Network`] and
/// [`crate::Embedder::embed_tensor`] take; `shape` gives the dimensions (as NHWC).
pub fn nchw_to_nhwc(x: &[f32], shape: Nhwc) -> Result<Vec<f32>> {
    let len = shape
        .len()
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    if x.len() != len {
        return Err(Error::InvalidArgument(format!(
            "tensor holds {} floats, shape {shape:?} needs {len}",
            x.len()
        )));
    }
    let (plane, c) = (shape.h * shape.w, shape.c);
    let mut y = vec![0.0; len];
    for (b, image) in x.chunks_exact((plane * c).max(1)).enumerate() {
        let out = &mut y[b * plane * c..(b + 1) * plane * c];
        for (ch, channel) in image.chunks_exact(plane.max(1)).enumerate() {
            for (i, &v) in channel.iter().enumerate() {
                out[i * c + ch] = v;
            }
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p: &Preprocess, img: &ImageView<'_>) -> Vec<f32> {
        let mut out = vec![f32::NAN; p.tensor_len()];
        p.run(img, &mut out, &mut Scratch::default()).unwrap();
        out
    }

    #[test]
    fn uniform_image_maps_to_its_normalised_colour_for_every_fit_and_format() {
        let rgb = [200u8, 100, 50];
        for fit in [Fit::CenterCrop, Fit::Stretch] {
            for (w, h) in [(1, 1), (7, 300), (640, 480), (224, 224), (31, 5)] {
                let data: Vec<u8> = (0..w * h).flat_map(|_| rgb).collect();
                let img = ImageView::packed(&data, w, h, PixelFormat::Rgb8).unwrap();
                let p = Preprocess {
                    size: 32,
                    fit,
                    ..Default::default()
                };
                let out = run(&p, &img);
                for (i, v) in out.iter().enumerate() {
                    let c = i % 3;
                    let want = (f32::from(rgb[c]) / 255.0 - p.mean[c]) / p.std[c];
                    assert!(
                        (v - want).abs() < 1e-4,
                        "{fit:?} {w}x{h} [{i}] {v} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn bgr_and_gray_and_alpha() {
        let p = Preprocess {
            size: 4,
            mean: [0.0; 3],
            std: [1.0; 3],
            ..Default::default()
        };
        let bgr = [10u8, 20, 30].repeat(4);
        let out = run(
            &p,
            &ImageView::packed(&bgr, 2, 2, PixelFormat::Bgr8).unwrap(),
        );
        assert!((out[0] - 30.0 / 255.0).abs() < 1e-6 && (out[2] - 10.0 / 255.0).abs() < 1e-6);
        let gray = [51u8; 4];
        let out = run(
            &p,
            &ImageView::packed(&gray, 2, 2, PixelFormat::Gray8).unwrap(),
        );
        assert!(out.iter().all(|v| (v - 0.2).abs() < 1e-6));
        // Fully transparent black over the white background is white.
        let rgba = [0u8, 0, 0, 0].repeat(4);
        let out = run(
            &p,
            &ImageView::packed(&rgba, 2, 2, PixelFormat::Rgba8).unwrap(),
        );
        assert!(out.iter().all(|v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    fn letterbox_pads_with_zero_after_normalisation() {
        let data = [255u8; 8 * 2 * 3];
        let p = Preprocess {
            size: 8,
            fit: Fit::Letterbox,
            ..Default::default()
        };
        let out = run(
            &p,
            &ImageView::packed(&data, 8, 2, PixelFormat::Rgb8).unwrap(),
        );
        // Rows 0..3 and 5..8 are padding; rows 3..5 hold the image.
        assert!(out[..3 * 8 * 3].iter().all(|&v| v == 0.0));
        assert!(out[3 * 8 * 3..5 * 8 * 3].iter().all(|&v| v > 1.0));
        assert!(out[5 * 8 * 3..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn center_crop_takes_the_middle() {
        // 3 vertical stripes (black | white | black) of a 300x100 image; the crop of the
        // resized 256-high image is the middle third.
        let (w, h) = (300, 100);
        let data: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let x = i % w;
                let v = if (100..200).contains(&x) { 255 } else { 0 };
                [v, v, v]
            })
            .collect();
        let p = Preprocess {
            size: 56,
            crop_fraction: 56.0 / 64.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            ..Default::default()
        };
        // Resized to 192x64, crop 56 from x = 68: stripes at 64..128 -> crop columns 0..60.
        let out = run(
            &p,
            &ImageView::packed(&data, w, h, PixelFormat::Rgb8).unwrap(),
        );
        let at = |x: usize| out[(28 * 56 + x) * 3];
        assert!(
            at(10) > 0.99 && at(40) > 0.99 && at(0) > 0.5,
            "{} {}",
            at(10),
            at(0)
        );
    }

    #[test]
    fn nchw_to_nhwc_moves_channels_last() {
        // 2 images, 3 channels, 1x2 pixels: value = 100·b + 10·c + pixel.
        let x: Vec<f32> = (0..2)
            .flat_map(|b| {
                (0..3).flat_map(move |c| (0..2).map(move |p| (100 * b + 10 * c + p) as f32))
            })
            .collect();
        let y = nchw_to_nhwc(&x, Nhwc::new(2, 1, 2, 3)).unwrap();
        assert_eq!(&y[..6], &[0., 10., 20., 1., 11., 21.]);
        assert_eq!(&y[6..], &[100., 110., 120., 101., 111., 121.]);
        assert!(nchw_to_nhwc(&x[1..], Nhwc::new(2, 1, 2, 3)).is_err());
    }

    #[test]
    fn bad_images_and_parameters_are_errors() {
        let d = [0u8; 12];
        assert!(ImageView::new(&d, 0, 1, 3, PixelFormat::Rgb8).is_err());
        assert!(ImageView::new(&d, 2, 2, 5, PixelFormat::Rgb8).is_err());
        assert!(ImageView::new(&d, 2, 3, 6, PixelFormat::Rgb8).is_err());
        assert!(ImageView::new(&d, usize::MAX, 1, usize::MAX, PixelFormat::Rgb8).is_err());
        assert!(ImageView::new(&d, 2, 2, 6, PixelFormat::Rgb8).is_ok());
        let img = ImageView::packed(&d, 2, 2, PixelFormat::Rgb8).unwrap();
        let mut s = Scratch::default();
        let mut out = vec![0.0; 10];
        assert!(Preprocess::default().run(&img, &mut out, &mut s).is_err());
        for p in [
            Preprocess {
                size: 0,
                ..Default::default()
            },
            Preprocess {
                crop_fraction: 0.0,
                ..Default::default()
            },
            Preprocess {
                std: [1.0, 0.0, 1.0],
                ..Default::default()
            },
            Preprocess {
                mean: [f32::NAN, 0.0, 0.0],
                ..Default::default()
            },
        ] {
            assert!(p.validate().is_err(), "{p:?}");
        }
    }
}
