//! Winograd F(2x2, 3x3) transform kernels against [`crate::reference::winograd`].
//!
//! Transforms write 16 planes `plane_stride` apart; the tests leave a canary gap between
//! planes (and, for the output transform, around the tiles not in the call's range) so a
//! stray write is caught.

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, input_values, scale_strategy};
use crate::Activation;
use crate::ops::Padding;
use crate::reference::winograd::{AT, BT, G, exact, separable};
use crate::reference::{Acc, Expected};
use crate::ukernels::WinogradTile;
use crate::ukernels::wgfilter::{WgfilterArgs, WgfilterUkernel};
use crate::ukernels::wgin::{WginArgs, WginUkernel};
use crate::ukernels::wgout::{WgoutArgs, WgoutUkernel};

/// Tiles of an `h × w` output: `(rows, cols)` of 2x2 tiles.
fn tile_grid(h: usize, w: usize) -> (usize, usize) {
    (h.div_ceil(2), w.div_ceil(2))
}

/// The `(tile0, tiles)` range picked by `lo` and `len` (fractions in `0..=1`) of `total`.
fn tile_range(total: usize, lo: f64, len: f64) -> (usize, usize) {
    let tile0 = ((total as f64 * lo) as usize).min(total - 1);
    let tiles = ((total - tile0) as f64 * len).ceil().max(1.0) as usize;
    (tile0, tiles.min(total - tile0))
}

/// Compares planes written `ps` apart (holding `dense` values each) with `want` (dense,
/// plane-major), after checking the canaries in the gaps.
fn check_planes(got: &Guarded, ps: usize, dense: usize, want: &Expected) -> Result<(), String> {
    got.check(|i| i % ps >= dense)?;
    let planes: Vec<f32> = (0..16)
        .flat_map(|p| got.region()[p * ps..p * ps + dense].iter().copied())
        .collect();
    want.check_grid(&planes, 1, dense)
}

/// One input-transform call.
#[derive(Clone, Debug)]
pub struct InputProblem {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels.
    pub cin: usize,
    /// Zero padding (stride 1, so the output is `h + top + bottom − 2` rows).
    pub pad: Padding,
    /// Start of the tile range, as a fraction of the tiles.
    pub lo: f64,
    /// Length of the tile range, as a fraction of the tiles left.
    pub len: f64,
    /// Canary floats between planes.
    pub gap: usize,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Input magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
    /// Put a NaN in the first input value.
    pub poison: bool,
}

impl InputProblem {
    /// Runs `uk` and compares with the reference.
    pub fn check(&self, uk: &WginUkernel) -> Result<(), String> {
        let (h, w, c) = (self.h, self.w, self.cin);
        let out_h = (h + self.pad.top + self.pad.bottom)
            .saturating_sub(2)
            .max(1);
        let out_w = (w + self.pad.left + self.pad.right)
            .saturating_sub(2)
            .max(1);
        let (th, tw) = tile_grid(out_h, out_w);
        let (tile0, tiles) = tile_range(th * tw, self.lo, self.len);
        let mut rng = Rng::new(self.seed);
        let xs = input_values(&mut rng, h * w * c, self.scale, self.poison);
        let x = Buf::new(&xs, self.offset);
        let ps = tiles * c + self.gap;
        let mut v = Guarded::new(15 * ps + tiles * c, self.offset);
        let args = WginArgs {
            input: x.ptr(),
            in_h: h,
            in_w: w,
            cin: c,
            pad_top: self.pad.top,
            pad_left: self.pad.left,
            tiles_w: tw,
            tile0,
            tiles,
            v: v.ptr(),
            plane_stride: ps,
        };
        // SAFETY: buffers sized per the `WginArgs` contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        let mut want = Expected::new(16 * tiles * c, 4, Activation::Linear);
        for t in 0..tiles {
            let (ty, tx) = ((tile0 + t) / tw, (tile0 + t) % tw);
            for ch in 0..c {
                let d: [[f32; 4]; 4] = std::array::from_fn(|i| {
                    std::array::from_fn(|j| {
                        let iy = (2 * ty + i).checked_sub(self.pad.top);
                        let ix = (2 * tx + j).checked_sub(self.pad.left);
                        match (iy, ix) {
                            (Some(iy), Some(ix)) if iy < h && ix < w => xs[(iy * w + ix) * c + ch],
                            _ => 0.0,
                        }
                    })
                });
                let vt = separable(&BT, &exact(d));
                for (pos, acc) in vt.iter().flatten().enumerate() {
                    want.set((pos * tiles + t) * c + ch, *acc, Activation::Linear);
                }
            }
        }
        check_planes(&v, ps, tiles * c, &want)
    }
}

fn input_edges(t: WinogradTile) -> Vec<InputProblem> {
    let base = InputProblem {
        h: 1,
        w: 1,
        cin: 1,
        pad: Padding::same(1),
        lo: 0.0,
        len: 1.0,
        gap: 3,
        offset: 1,
        scale: 1.0,
        seed: 7,
        poison: false,
    };
    let mut out = Vec::new();
    for cin in [1, t.cb - 1, t.cb, t.cb + 1, 2 * t.cb + 3] {
        for (h, w) in [(1, 1), (2, 3), (5, 7), (8, 8)] {
            out.push(InputProblem {
                h,
                w,
                cin: cin.max(1),
                ..base.clone()
            });
        }
    }
    let far = Padding {
        top: 0,
        left: 2,
        bottom: 3,
        right: 0,
    };
    out.push(InputProblem {
        h: 6,
        w: 9,
        cin: t.cb + 2,
        pad: far,
        lo: 0.3,
        len: 0.5,
        ..base.clone()
    });
    out.push(InputProblem {
        h: 5,
        w: 5,
        cin: t.cb,
        poison: true,
        ..base
    });
    out
}

fn padding() -> impl Strategy<Value = Padding> {
    [0usize..4, 0..4, 0..4, 0..4].prop_map(|[top, left, bottom, right]| Padding {
        top,
        left,
        bottom,
        right,
    })
}

fn input_strategy(t: WinogradTile) -> impl Strategy<Value = InputProblem> {
    (
        (1usize..12, 1usize..12, 1..=3 * t.cb + 2, padding()),
        (0.0f64..1.0, 0.0f64..=1.0, 0usize..3, 0usize..4),
        (scale_strategy(), any::<u64>(), prop::bool::weighted(0.05)),
    )
        .prop_map(
            |((h, w, cin, pad), (lo, len, gap, offset), (scale, seed, poison))| InputProblem {
                h,
                w,
                cin,
                pad,
                lo,
                len,
                gap,
                offset,
                scale,
                seed,
                poison,
            },
        )
}

/// The generated test of one input-transform variant.
pub fn check_input(uk: &'static WginUkernel) {
    let t = uk.tile;
    check_all(uk.id, uk.isa, input_edges(t), input_strategy(t), |p| {
        p.check(uk)
    });
}

/// One filter-transform call.
#[derive(Clone, Debug)]
pub struct FilterProblem {
    /// Filters.
    pub n: usize,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Weight magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
    /// Put a NaN in the first tap.
    pub poison: bool,
}

impl FilterProblem {
    /// Runs `uk` and compares with the reference.
    pub fn check(&self, uk: &WgfilterUkernel) -> Result<(), String> {
        let n = self.n;
        let mut rng = Rng::new(self.seed);
        let gs = input_values(&mut rng, 9 * n, self.scale, self.poison);
        let g = Buf::new(&gs, self.offset);
        let mut u = Guarded::new(16 * n, self.offset);
        let args = WgfilterArgs {
            g: g.ptr(),
            u: u.ptr(),
            n,
        };
        // SAFETY: buffers sized per the `WgfilterArgs` contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        let mut want = Expected::new(16 * n, 9, Activation::Linear);
        for i in 0..n {
            let taps =
                std::array::from_fn(|ky| std::array::from_fn(|kx| gs[(3 * ky + kx) * n + i]));
            let ut = separable(&G, &exact(taps));
            for (pos, acc) in ut.iter().flatten().enumerate() {
                want.set(pos * n + i, *acc, Activation::Linear);
            }
        }
        check_planes(&u, n, n, &want)
    }
}

fn filter_strategy(t: WinogradTile) -> impl Strategy<Value = FilterProblem> {
    (
        1..=4 * t.cb + 3,
        0usize..4,
        scale_strategy(),
        any::<u64>(),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(n, offset, scale, seed, poison)| FilterProblem {
            n,
            offset,
            scale,
            seed,
            poison,
        })
}

/// The generated test of one filter-transform variant.
pub fn check_filter(uk: &'static WgfilterUkernel) {
    let cb = uk.tile.cb;
    let edges = [1, cb - 1, cb, cb + 1, 3 * cb + 1]
        .into_iter()
        .map(|n| FilterProblem {
            n: n.max(1),
            offset: 3,
            scale: 1.0,
            seed: 11,
            poison: n == cb,
        })
        .collect();
    check_all(uk.id, uk.isa, edges, filter_strategy(uk.tile), |p| {
        p.check(uk)
    });
}

/// One output-transform call.
#[derive(Clone, Debug)]
pub struct OutputProblem {
    /// Output height.
    pub h: usize,
    /// Output width.
    pub w: usize,
    /// Channels.
    pub cout: usize,
    /// First stored row, as a fraction of `h`.
    pub row_lo: f64,
    /// Stored rows, as a fraction of the rows left.
    pub rows: f64,
    /// Start of the tile range, as a fraction of the tiles.
    pub lo: f64,
    /// Length of the tile range, as a fraction of the tiles left.
    pub len: f64,
    /// Canary floats between planes.
    pub gap: usize,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Value magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
    /// Put a NaN in the first product value.
    pub poison: bool,
}

impl OutputProblem {
    /// Runs `uk` and compares with the reference.
    pub fn check(&self, uk: &WgoutUkernel) -> Result<(), String> {
        let (h, w, c) = (self.h, self.w, self.cout);
        let (th, tw) = tile_grid(h, w);
        let (tile0, tiles) = tile_range(th * tw, self.lo, self.len);
        let row_lo = ((h as f64 * self.row_lo) as usize).min(h - 1);
        let row_hi = row_lo + (((h - row_lo) as f64 * self.rows).ceil() as usize).max(1);
        let row_hi = row_hi.min(h);
        let mut rng = Rng::new(self.seed);
        let ps = tiles * c + self.gap;
        let ms = input_values(&mut rng, 15 * ps + tiles * c, self.scale, self.poison);
        let m = Buf::new(&ms, self.offset);
        let bias = Buf::new(&rng.vec(c, self.scale), self.offset);
        let len = (row_hi - row_lo) * w * c;
        let res = Buf::new(&rng.vec(len, self.scale), self.offset);
        let mut y = Guarded::new(len, self.offset);
        let residual = uk.tile.residual;
        let args = WgoutArgs {
            m: m.ptr(),
            plane_stride: ps,
            bias: bias.ptr(),
            residual: if residual {
                res.ptr()
            } else {
                std::ptr::null()
            },
            output: y.ptr(),
            out_w: w,
            cout: c,
            row_lo,
            row_hi,
            tiles_w: tw,
            tile0,
            tiles,
        };
        // SAFETY: buffers sized per the `WgoutArgs` contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        // Which stored pixels belong to the call's tiles (the others must stay canaries).
        let mine = |pix: usize| {
            let (oy, ox) = (row_lo + pix / w, pix % w);
            let tile = (oy / 2) * tw + ox / 2;
            (tile0..tile0 + tiles).contains(&tile)
        };
        y.check(|i| !mine(i / c))?;
        let mut want = Expected::new(len, 11, uk.act);
        let mut got = y.region().to_vec();
        for (i, g) in got.iter_mut().enumerate() {
            if !mine(i / c) {
                *g = 0.0; // Expected value 0 with zero tolerance: only canaries were checked.
            }
        }
        for t in 0..tiles {
            let (ty, tx) = ((tile0 + t) / tw, (tile0 + t) % tw);
            for ch in 0..c {
                let mt = std::array::from_fn(|a| {
                    std::array::from_fn(|b| ms[(4 * a + b) * ps + t * c + ch])
                });
                let yt = separable(&AT, &exact(mt));
                for (i, row) in yt.iter().enumerate() {
                    for (j, acc) in row.iter().enumerate() {
                        let (oy, ox) = (2 * ty + i, 2 * tx + j);
                        if oy < row_lo || oy >= row_hi || ox >= w {
                            continue;
                        }
                        let at = ((oy - row_lo) * w + ox) * c + ch;
                        let mut acc: Acc = *acc;
                        acc.add(f64::from(bias.as_slice()[ch]));
                        if residual {
                            acc.add(f64::from(res.as_slice()[at]));
                        }
                        want.set(at, acc, uk.act);
                    }
                }
            }
        }
        want.check_grid(&got, w, c)
    }
}

fn output_edges(t: WinogradTile) -> Vec<OutputProblem> {
    let base = OutputProblem {
        h: 1,
        w: 1,
        cout: 1,
        row_lo: 0.0,
        rows: 1.0,
        lo: 0.0,
        len: 1.0,
        gap: 2,
        offset: 2,
        scale: 1.0,
        seed: 13,
        poison: false,
    };
    let mut out = Vec::new();
    for cout in [1, t.cb - 1, t.cb, t.cb + 1, 2 * t.cb + 3] {
        for (h, w) in [(1, 1), (2, 3), (5, 7), (8, 8)] {
            out.push(OutputProblem {
                h,
                w,
                cout: cout.max(1),
                ..base.clone()
            });
        }
    }
    out.push(OutputProblem {
        h: 7,
        w: 5,
        cout: t.cb + 1,
        row_lo: 0.2,
        rows: 0.5,
        lo: 0.1,
        len: 0.7,
        scale: 8.0,
        ..base.clone()
    });
    out.push(OutputProblem {
        h: 4,
        w: 4,
        cout: t.cb,
        poison: true,
        ..base
    });
    out
}

fn output_strategy(t: WinogradTile) -> impl Strategy<Value = OutputProblem> {
    (
        (1usize..12, 1usize..12, 1..=3 * t.cb + 2),
        (0.0f64..1.0, 0.0f64..=1.0, 0.0f64..1.0, 0.0f64..=1.0),
        (0usize..3, 0usize..4),
        (scale_strategy(), any::<u64>(), prop::bool::weighted(0.05)),
    )
        .prop_map(
            |((h, w, cout), (row_lo, rows, lo, len), (gap, offset), (scale, seed, poison))| {
                OutputProblem {
                    h,
                    w,
                    cout,
                    row_lo,
                    rows,
                    lo,
                    len,
                    gap,
                    offset,
                    scale,
                    seed,
                    poison,
                }
            },
        )
}

/// The generated test of one output-transform variant.
pub fn check_output(uk: &'static WgoutUkernel) {
    let t = uk.tile;
    check_all(uk.id, uk.isa, output_edges(t), output_strategy(t), |p| {
        p.check(uk)
    });
}
