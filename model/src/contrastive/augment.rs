//! SimCLR's image augmentations, computed on the fly and deterministic per seed, following
//! torchvision's transforms: `RandomResizedCrop(size, scale, ratio)` → `RandomHorizontalFlip`
//! → `RandomApply(ColorJitter(b, c, s, h), p)` → `RandomGrayscale(p)`. The result is an RGB8
//! image `size × size` (feed it to the embedder with `Fit::Stretch`, or any fit: it is square).
//!
//! Details as torchvision: the crop's area fraction is uniform in `scale` and its aspect ratio
//! log-uniform in `ratio`, ten tries to fit inside the image, then a centre crop of the
//! nearest allowed ratio; resizing is bilinear at pixel centres; colour jitter applies
//! brightness, contrast, saturation and hue in a random order with factors uniform in
//! `[1 − b, 1 + b]` etc. (hue: a shift uniform in `[−h, h]` of the colour circle); contrast
//! blends with the mean gray level, saturation with each pixel's gray level (ITU-R 601-2
//! luma); values are clamped to `[0, 255]` after every step.

use crate::error::{Error, Result};
use crate::preprocess::ImageView;
use crate::rng::SplitMix;

/// Augmentation parameters (torchvision's SimCLR defaults, at `size`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augment {
    /// Output side.
    pub size: usize,
    /// Area fraction range of the crop.
    pub scale: (f64, f64),
    /// Aspect-ratio range of the crop.
    pub ratio: (f64, f64),
    /// Probability of a horizontal flip.
    pub flip: f64,
    /// Brightness, contrast, saturation and hue strengths.
    pub jitter: [f64; 4],
    /// Probability of applying the colour jitter.
    pub jitter_p: f64,
    /// Probability of converting to grayscale.
    pub gray_p: f64,
}

impl Augment {
    /// SimCLR's recipe at `size`: crop scale (0.08, 1), ratio (3/4, 4/3), flip 0.5, jitter
    /// (0.4, 0.4, 0.4, 0.1) with probability 0.8, grayscale 0.2.
    pub fn simclr(size: usize) -> Self {
        Augment {
            size,
            scale: (0.08, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            flip: 0.5,
            jitter: [0.4, 0.4, 0.4, 0.1],
            jitter_p: 0.8,
            gray_p: 0.2,
        }
    }

    fn validate(&self) -> Result<()> {
        let prob = |p: f64| (0.0..=1.0).contains(&p);
        let ok = (1..=4096).contains(&self.size)
            && 0.0 < self.scale.0
            && self.scale.0 <= self.scale.1
            && self.scale.1 <= 1.0
            && 0.0 < self.ratio.0
            && self.ratio.0 <= self.ratio.1
            && prob(self.flip)
            && prob(self.jitter_p)
            && prob(self.gray_p)
            && self.jitter[..3].iter().all(|&j| (0.0..=1.0).contains(&j))
            && (0.0..=0.5).contains(&self.jitter[3]);
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "bad augmentation parameters {self:?}"
            )))
        }
    }

    /// Writes the augmentation of `img` drawn from `seed` into `out` (`size² · 3` RGB bytes,
    /// resized as needed).
    pub fn apply(&self, img: &ImageView<'_>, seed: u64, out: &mut Vec<u8>) -> Result<()> {
        self.validate()?;
        let mut rng = SplitMix::new(seed);
        let (w, h) = (img.width() as f64, img.height() as f64);
        let (cx, cy, cw, ch) = self.crop(&mut rng, w, h);
        let flip = rng.unit() < self.flip;
        let n = self.size;
        let mut px = vec![[0f32; 3]; n * n];
        let white = [255.0; 3];
        for (i, p) in px.iter_mut().enumerate() {
            let (ox, oy) = ((i % n) as f64, (i / n) as f64);
            let ox = if flip { n as f64 - 1.0 - ox } else { ox };
            // Bilinear sample at the output pixel's centre mapped into the crop.
            let sx = (cx + (ox + 0.5) * cw / n as f64 - 0.5).clamp(0.0, w - 1.0);
            let sy = (cy + (oy + 0.5) * ch / n as f64 - 0.5).clamp(0.0, h - 1.0);
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = (
                (x0 + 1).min(img.width() - 1),
                (y0 + 1).min(img.height() - 1),
            );
            let (fx, fy) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
            let at = |x, y| img.rgb(x, y, white);
            let (a, b, c, d) = (at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1));
            *p = std::array::from_fn(|k| {
                let top = a[k] + fx * (b[k] - a[k]);
                let bottom = c[k] + fx * (d[k] - c[k]);
                top + fy * (bottom - top)
            });
        }
        if rng.unit() < self.jitter_p {
            self.jitter(&mut rng, &mut px);
        }
        if rng.unit() < self.gray_p {
            for p in &mut px {
                *p = [gray(*p); 3];
            }
        }
        out.clear();
        out.extend(
            px.iter()
                .flat_map(|p| p.map(|v| v.round().clamp(0.0, 255.0) as u8)),
        );
        Ok(())
    }

    /// The crop `(x, y, width, height)` in source pixels.
    fn crop(&self, rng: &mut SplitMix, w: f64, h: f64) -> (f64, f64, f64, f64) {
        let area = w * h;
        let (lr0, lr1) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target = area * (self.scale.0 + rng.unit() * (self.scale.1 - self.scale.0));
            let ratio = (lr0 + rng.unit() * (lr1 - lr0)).exp();
            let (cw, ch) = (
                (target * ratio).sqrt().round(),
                (target / ratio).sqrt().round(),
            );
            if cw >= 1.0 && ch >= 1.0 && cw <= w && ch <= h {
                let x = (rng.unit() * (w - cw + 1.0)).floor();
                let y = (rng.unit() * (h - ch + 1.0)).floor();
                return (x, y, cw, ch);
            }
        }
        // Centre crop at the nearest allowed aspect ratio.
        let r = w / h;
        let (cw, ch) = if r < self.ratio.0 {
            (w, (w / self.ratio.0).round())
        } else if r > self.ratio.1 {
            ((h * self.ratio.1).round(), h)
        } else {
            (w, h)
        };
        (((w - cw) / 2.0).floor(), ((h - ch) / 2.0).floor(), cw, ch)
    }

    /// Brightness, contrast, saturation and hue, in a random order.
    fn jitter(&self, rng: &mut SplitMix, px: &mut [[f32; 3]]) {
        let mut order = [0usize, 1, 2, 3];
        for i in (1..4).rev() {
            let j = (rng.unit() * (i + 1) as f64) as usize;
            order.swap(i, j.min(i));
        }
        let factor = |rng: &mut SplitMix, s: f64| (1.0 - s + rng.unit() * 2.0 * s) as f32;
        for t in order {
            let s = self.jitter[t];
            match t {
                0 => {
                    let f = factor(rng, s);
                    px.iter_mut()
                        .for_each(|p| *p = p.map(|v| (v * f).clamp(0.0, 255.0)));
                }
                1 => {
                    let f = factor(rng, s);
                    let mean = px.iter().map(|p| gray(*p)).sum::<f32>() / px.len() as f32;
                    px.iter_mut()
                        .for_each(|p| *p = p.map(|v| (mean + f * (v - mean)).clamp(0.0, 255.0)));
                }
                2 => {
                    let f = factor(rng, s);
                    for p in px.iter_mut() {
                        let g = gray(*p);
                        *p = p.map(|v| (g + f * (v - g)).clamp(0.0, 255.0));
                    }
                }
                _ => {
                    let shift = ((rng.unit() * 2.0 - 1.0) * s) as f32;
                    px.iter_mut().for_each(|p| *p = hue_shift(*p, shift));
                }
            }
        }
    }
}

/// ITU-R 601-2 luma.
fn gray(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

/// Rotates the hue of `p` by `shift` of the colour circle (through HSV).
fn hue_shift(p: [f32; 3], shift: f32) -> [f32; 3] {
    let [r, g, b] = p.map(|v| v / 255.0);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let delta = max - min;
    if delta <= 0.0 {
        return p;
    }
    let h = if max == r {
        ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        (b - r) / delta + 2.0
    } else {
        (r - g) / delta + 4.0
    } / 6.0;
    let h = (h + shift).rem_euclid(1.0) * 6.0;
    let (v, s) = (max, delta / max);
    let i = h.floor();
    let f = h - i;
    let (p0, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    let rgb = match i as u32 % 6 {
        0 => [v, t, p0],
        1 => [q, v, p0],
        2 => [p0, v, t],
        3 => [p0, q, v],
        4 => [t, p0, v],
        _ => [v, p0, q],
    };
    rgb.map(|c| (c * 255.0).clamp(0.0, 255.0))
}
