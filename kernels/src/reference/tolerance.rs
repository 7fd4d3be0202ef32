//! The single tolerance rule every f32 kernel is checked with.
//!
//! An f32 evaluation (any order, with or without FMA) of a sum of `T` terms differs from the
//! exact sum by at most `γ_T·Σ|tᵢ|` with `γ_T ≈ T·u` (u = 2⁻²⁴). An activation can grow that
//! error by its Lipschitz constant `L` (1.5 for hard-swish) and adds a few roundings of its
//! own. The rule, with a 2x safety factor and ε = 2u = `f32::EPSILON`:
//!
//! ```text
//! |got − exact| ≤ 2·L·(T + 2)·ε·Σ|tᵢ| + 4·ε·|exact| + f32::MIN_POSITIVE
//! ```
//!
//! NaN must match NaN; infinities must match exactly.

use std::fmt::Write;

use super::Acc;
use crate::Activation;

/// Exact outputs with their error bounds.
#[derive(Clone, Debug)]
pub struct Expected {
    /// Exact value of each output.
    pub value: Vec<f64>,
    /// Σ|terms| of each output (before the activation).
    pub mag: Vec<f64>,
    /// Most terms summed into one output.
    pub terms: usize,
    /// Lipschitz constant of the activation (≥ 1).
    pub lip: f64,
}

impl Expected {
    /// `len` outputs of at most `terms` terms each, through `act`.
    pub fn new(len: usize, terms: usize, act: Activation) -> Self {
        Expected {
            value: vec![0.0; len],
            mag: vec![0.0; len],
            terms,
            lip: act.lipschitz().max(1.0),
        }
    }

    /// Records output `i` as `act(acc.sum)`.
    pub fn set(&mut self, i: usize, acc: Acc, act: Activation) {
        self.value[i] = act.apply_f64(acc.sum);
        self.mag[i] = acc.mag;
    }

    /// The allowed |error| of output `i`.
    pub fn tolerance(&self, i: usize) -> f64 {
        let eps = f64::from(f32::EPSILON);
        2.0 * self.lip * (self.terms as f64 + 2.0) * eps * self.mag[i]
            + 4.0 * eps * self.value[i].abs()
            + f64::from(f32::MIN_POSITIVE)
    }

    /// Whether `got` is acceptable for output `i`.
    pub fn accepts(&self, i: usize, got: f32) -> bool {
        let want = self.value[i];
        let got = f64::from(got);
        if want.is_nan() || got.is_nan() {
            return want.is_nan() && got.is_nan();
        }
        if want.is_infinite() || got.is_infinite() {
            return want == got;
        }
        (got - want).abs() <= self.tolerance(i)
    }

    /// Checks every output of a flat `rows × cols` result (GEMM rows, pixels × channels).
    pub fn check(&self, got: &[f32], cols: usize) -> Result<(), String> {
        self.check_grid(got, 1, cols)
    }

    /// Checks every output; on failure returns a readable report: the first mismatches as
    /// `(row, col, item)` and a `.`/`X` grid with `width` cells per row, each cell holding
    /// `per_cell` consecutive outputs (e.g. `width = out_w`, `per_cell = channels` draws the
    /// output image and marks every pixel with a wrong channel).
    pub fn check_grid(&self, got: &[f32], width: usize, per_cell: usize) -> Result<(), String> {
        if got.len() != self.value.len() {
            return Err(format!(
                "output has {} values, expected {}",
                got.len(),
                self.value.len()
            ));
        }
        let bad: Vec<usize> = (0..got.len())
            .filter(|&i| !self.accepts(i, got[i]))
            .collect();
        if bad.is_empty() {
            return Ok(());
        }
        let (width, per) = (width.max(1), per_cell.max(1));
        let mut r = format!(
            "{} of {} outputs differ from the reference:\n",
            bad.len(),
            got.len()
        );
        for &i in bad.iter().take(8) {
            let cell = i / per;
            let _ = writeln!(
                r,
                "  [row {}, col {}, item {}] got {:e}, want {:e} (|Δ| {:.3e} > tol {:.3e})",
                cell / width,
                cell % width,
                i % per,
                got[i],
                self.value[i],
                (f64::from(got[i]) - self.value[i]).abs(),
                self.tolerance(i)
            );
        }
        let cells = got.len().div_ceil(per);
        let rows = cells.div_ceil(width);
        if rows <= 48 && width <= 96 {
            r.push_str("  grid (X = a wrong output in that cell):\n");
            for row in 0..rows {
                r.push_str("  ");
                for col in 0..width.min(cells - row * width) {
                    let cell = row * width + col;
                    let wrong = bad.iter().any(|&i| i / per == cell);
                    r.push(if wrong { 'X' } else { '.' });
                }
                r.push('\n');
            }
        }
        Err(r)
    }
}
