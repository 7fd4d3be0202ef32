//! A small PNG line chart (the training loss per epoch): axes, grid, the curve with markers,
//! and the y range and epoch count in a built-in 3x5 digit font.

use std::path::Path;

use crate::CliResult;

const W: u32 = 640;
const H: u32 = 400;
const LEFT: u32 = 70;
const RIGHT: u32 = 20;
const TOP: u32 = 20;
const BOTTOM: u32 = 40;

/// 3x5 glyphs of `0-9`, `.`, `-`, `e` (rows top to bottom, 3 bits each, MSB left).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        '-' => [0, 0, 7, 0, 0],
        'e' => [0, 7, 7, 4, 7],
        _ => return None,
    })
}

struct Canvas {
    img: image::RgbImage,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if (0..i64::from(W)).contains(&x) && (0..i64::from(H)).contains(&y) {
            self.img.put_pixel(x as u32, y as u32, image::Rgb(c));
        }
    }

    /// A line from `(x0, y0)` to `(x1, y1)`, `thick` pixels wide.
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), thick: i64, c: [u8; 3]) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
            for dx in 0..thick {
                for dy in 0..thick {
                    self.set(x as i64 + dx - thick / 2, y as i64 + dy - thick / 2, c);
                }
            }
        }
    }

    /// `text` at `(x, y)` (top-left), glyphs scaled ×2.
    fn text(&mut self, x: i64, y: i64, text: &str) {
        for (i, ch) in text.chars().enumerate() {
            let Some(g) = glyph(ch) else { continue };
            for (row, bits) in g.iter().enumerate() {
                for col in 0..3 {
                    if bits & (4 >> col) != 0 {
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                            let px = x + 8 * i as i64 + 2 * col + dx;
                            self.set(px, y + 2 * row as i64 + dy, [0, 0, 0]);
                        }
                    }
                }
            }
        }
    }
}

/// Writes the chart of `values` (one per epoch) to `path` as PNG.
pub fn loss_curve(path: &Path, values: &[f64]) -> CliResult {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return Err("nothing finite to plot".into());
    }
    let mut c = Canvas {
        img: image::RgbImage::from_pixel(W, H, image::Rgb([255, 255, 255])),
    };
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi - lo < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let (pw, ph) = (f64::from(W - LEFT - RIGHT), f64::from(H - TOP - BOTTOM));
    let n = values.len();
    let px = |i: usize| {
        f64::from(LEFT)
            + if n > 1 {
                pw * i as f64 / (n - 1) as f64
            } else {
                pw / 2.0
            }
    };
    let py = |v: f64| f64::from(TOP) + ph * (hi - v) / (hi - lo);
    for k in 0..=4 {
        let y = f64::from(TOP) + ph * f64::from(k) / 4.0;
        c.line(
            (f64::from(LEFT), y),
            (f64::from(W - RIGHT), y),
            1,
            [225, 225, 225],
        );
    }
    let (x0, y1) = (f64::from(LEFT), f64::from(H - BOTTOM));
    c.line((x0, f64::from(TOP)), (x0, y1), 2, [0, 0, 0]);
    c.line((x0, y1), (f64::from(W - RIGHT), y1), 2, [0, 0, 0]);
    for i in 1..n {
        c.line(
            (px(i - 1), py(values[i - 1])),
            (px(i), py(values[i])),
            3,
            [31, 119, 180],
        );
    }
    for (i, &v) in values.iter().enumerate() {
        for d in -3..=3 {
            c.line(
                (px(i) - 3.0, py(v) + f64::from(d)),
                (px(i) + 3.0, py(v) + f64::from(d)),
                1,
                [214, 39, 40],
            );
        }
    }
    c.text(4, i64::from(TOP), &format!("{hi:.4}"));
    c.text(4, i64::from(H - BOTTOM) - 10, &format!("{lo:.4}"));
    c.text(i64::from(LEFT) - 4, i64::from(H - BOTTOM) + 10, "1");
    c.text(
        i64::from(W - RIGHT) - 8 * n.to_string().len() as i64,
        i64::from(H - BOTTOM) + 10,
        &n.to_string(),
    );
    c.img
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_with_the_curve() {
        let path = std::env::temp_dir().join(format!("rvcnn-plot-{}.png", std::process::id()));
        loss_curve(&path, &[1.0, 0.6, 0.45, 0.4]).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        std::fs::remove_file(&path).ok();
        assert_eq!(img.dimensions(), (W, H));
        let blue = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
        assert!(blue > 100, "curve drawn ({blue} pixels)");
        assert!(loss_curve(&path, &[f64::NAN]).is_err());
        assert!(loss_curve(&path, &[]).is_err());
    }
}
