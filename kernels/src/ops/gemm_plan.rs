//! Packed weights plus tile choice for a GEMM `C[m×n] = act(A[m×k]·W + b [+ R])`, shared by
//! [`super::Pointwise`], [`super::Linear`] and [`super::SqueezeExcite`].
//!
//! Tile choice (documented rule): among the slot's kernels, the panel width NR with the least
//! padded width `ceil(n/NR)·NR` wins, where one-vector-wide panels count 15% wider (they load
//! one weight vector per MR broadcasts and run about that much slower per column:
//! `rvcnn-kbench` puts the 112- and 200-column MobileNetV3-Large layers 5–9% faster on 12x32
//! than exactly fitting 16x16); ties go to the group with the tallest tile (more rows per
//! weight load: 12x32 over 5x80 on the 160- and 960-column layers), then the wider panel.
//! On AVX2 this gives the 24-, 72- and 120-column layers to 3x24 (exact width, one broadcast
//! per three FMAs) and keeps 6x16 where 16 divides too (48, 96, 144 columns: a tie).
//! That NR group's largest-MR kernel covers full row blocks and the remaining `m mod MR` rows
//! are split by a small dynamic program minimising the estimated cost `max(MR·NV, MR + NV)`
//! per reduction step (FMAs vs loads, NV = NR / lanes).

use super::error::{Error, Result};
use super::shape::{check_buf, product};
use crate::table::Slot;
use crate::ukernels::{GemmArgs, GemmUkernel, QgemmUkernel};

/// A GEMM kernel descriptor as the tile planner sees it.
pub(crate) trait GemmTiled: 'static {
    /// Rows per call.
    fn mr(&self) -> usize;
    /// Columns per panel.
    fn nr(&self) -> usize;
    /// Accumulator lanes per vector register.
    fn lanes(&self) -> usize;
    /// Display id.
    fn id(&self) -> &'static str;
}

/// `GemmTiled` for GEMM descriptors whose tile has `mr` and `nr`.
macro_rules! gemm_tiled {
    ($($ty:ty),*) => {$(
        impl GemmTiled for $ty {
            fn mr(&self) -> usize {
                self.tile.mr
            }
            fn nr(&self) -> usize {
                self.tile.nr
            }
            fn lanes(&self) -> usize {
                self.isa.f32_lanes()
            }
            fn id(&self) -> &'static str {
                self.id
            }
        }
    )*};
}

gemm_tiled!(GemmUkernel, QgemmUkernel);

/// The tile choice of a GEMM with `n` columns (the rule in the module docs).
pub(crate) struct TilePlan<U: 'static> {
    /// Kernels of the chosen NR, largest MR first.
    tiles: Vec<&'static U>,
    /// For `r < MR` remaining rows, the index in `tiles` of the kernel to call next.
    rem_choice: Vec<usize>,
}

fn step_cost<U: GemmTiled>(uk: &U) -> usize {
    let nv = (uk.nr() / uk.lanes()).max(1);
    (uk.mr() * nv).max(uk.mr() + nv)
}

impl<U: GemmTiled> TilePlan<U> {
    /// Chooses NR and the row plan among `slot`'s kernels.
    pub fn new(slot: Slot<U>, what: &str, n: usize) -> Result<Self> {
        let nr = slot
            .iter()
            .min_by_key(|uk| {
                let (nr, nv) = (uk.nr(), uk.nr() / uk.lanes());
                let padded = n.div_ceil(nr).saturating_mul(nr);
                let weight = if nv == 1 { 115 } else { 100 };
                (
                    padded.saturating_mul(weight),
                    usize::MAX - uk.mr(),
                    usize::MAX - nr,
                )
            })
            .map(|uk| uk.nr())
            .ok_or_else(|| Error::Unsupported(format!("no GEMM kernel for {what}")))?;
        let mut tiles: Vec<&'static U> = slot.iter().copied().filter(|uk| uk.nr() == nr).collect();
        tiles.sort_by_key(|uk| std::cmp::Reverse(uk.mr()));
        let main_mr = tiles[0].mr();
        // best[r] = cheapest way to cover r rows; choice[r] = first kernel of that way.
        let mut best = vec![0usize; main_mr];
        let mut rem_choice = vec![0usize; main_mr];
        for r in 1..main_mr {
            let (cost, idx) = tiles
                .iter()
                .enumerate()
                .map(|(i, uk)| (step_cost(*uk) + best[r - r.min(uk.mr())], i))
                .min()
                .unwrap_or((0, 0));
            best[r] = cost;
            rem_choice[r] = idx;
        }
        Ok(TilePlan { tiles, rem_choice })
    }

    /// The full-block kernel (its NR is the packing's).
    pub fn main(&self) -> &'static U {
        self.tiles[0]
    }

    /// The kernel that computes the first rows of an `m`-row product (the full-block kernel,
    /// or for `m` below its MR, the first kernel of the remainder plan).
    pub fn kernel_id_for(&self, m: usize) -> &'static str {
        if m == 0 {
            self.tiles[0].id()
        } else {
            self.next_kernel(m).id()
        }
    }

    /// The kernel to call next when `left ≥ 1` rows remain: the full-block kernel while a full
    /// block remains, else the remainder plan's choice.
    fn next_kernel(&self, left: usize) -> &'static U {
        let main = self.tiles[0];
        if left >= main.mr() {
            main
        } else {
            self.tiles[self.rem_choice[left]]
        }
    }

    /// Calls `f(kernel, first_row, rows)` for consecutive row blocks covering `0..m`.
    pub fn for_each_block(&self, m: usize, mut f: impl FnMut(&'static U, usize, usize)) {
        let mut row = 0;
        while row < m {
            let uk = self.next_kernel(m - row);
            let rows = (m - row).min(uk.mr());
            f(uk, row, rows);
            row += rows;
        }
    }
}

/// Checks that `m` rows of `len` elements, `stride` apart, fit in `buf_len` elements.
pub(crate) fn check_rows(
    what: &'static str,
    buf_len: usize,
    m: usize,
    stride: usize,
    len: usize,
) -> Result<()> {
    if stride < len {
        return Err(Error::InvalidArgument(format!(
            "{what} row stride shorter than a row"
        )));
    }
    let need = product(&[m - 1, stride], "GEMM operand")?
        .checked_add(len)
        .ok_or(Error::SizeOverflow("GEMM operand"))?;
    check_buf(what, buf_len, need)
}

/// Packed weight floats a GEMM keeps in L1 while sweeping rows (32 KiB of a 48 KiB L1D).
const L1_WEIGHTS: usize = 8 << 10;

pub(crate) struct GemmPlan {
    n: usize,
    k: usize,
    packed: Vec<f32>,
    plan: TilePlan<GemmUkernel>,
}

/// Residual input of a GEMM: rows of `n` floats, `stride` apart.
pub(crate) struct Residual<'a> {
    pub data: &'a [f32],
    pub stride: usize,
}

impl GemmPlan {
    /// Packs `weights` (`[n][k]`) and `bias` for the best tiles of `slot`.
    pub fn new(
        slot: Slot<GemmUkernel>,
        what: &str,
        n: usize,
        k: usize,
        weights: &[f32],
        bias: Option<&[f32]>,
    ) -> Result<Self> {
        let plan = TilePlan::new(slot, what, n)?;
        let packed = crate::pack::gemm(weights, bias, n, k, plan.main().tile.nr)?;
        Ok(GemmPlan { n, k, packed, plan })
    }

    /// The kernel used for full row blocks.
    pub fn kernel_id(&self) -> &'static str {
        self.plan.main().id
    }

    /// The kernel that computes the first rows of an `m`-row product.
    pub fn kernel_id_for(&self, m: usize) -> &'static str {
        self.plan.kernel_id_for(m)
    }

    /// Rows per call of the full-block kernel.
    pub fn main_mr(&self) -> usize {
        self.plan.main().tile.mr
    }

    /// Weight panels per sweep over the rows of an `m`-row product: all of them (each call
    /// computes whole rows, reusing its rows of A from L1 for every panel), unless the
    /// weights outgrow L1 while a panel fits and several row blocks share it — then as many
    /// panels as fit [`L1_WEIGHTS`] go over every row block before the next ones, so their
    /// weights come from L1 instead of streaming from L2 once per row block.
    fn panel_group(&self, m: usize) -> usize {
        let (nr, panel) = self.panel_shape();
        let panels = self.n.div_ceil(nr);
        if m <= self.main_mr() || panel > L1_WEIGHTS || panels * panel <= L1_WEIGHTS {
            panels
        } else {
            L1_WEIGHTS / panel
        }
    }

    /// Columns per packed weight panel (the full-block kernel's NR) and floats per panel
    /// (`k` weight rows plus the bias row).
    fn panel_shape(&self) -> (usize, usize) {
        let nr = self.plan.main().tile.nr;
        (nr, (self.k + 1) * nr)
    }

    /// Computes `m` rows: row `i` of A at `a[i·a_stride..]`, of C at `c[i·c_stride..]`.
    pub fn run(
        &self,
        m: usize,
        a: &[f32],
        a_stride: usize,
        c: &mut [f32],
        c_stride: usize,
        r: Option<Residual<'_>>,
    ) -> Result<()> {
        if m == 0 {
            return Ok(());
        }
        check_rows("input", a.len(), m, a_stride, self.k)?;
        check_rows("output", c.len(), m, c_stride, self.n)?;
        let (r_ptr, r_stride) = match &r {
            Some(res) => {
                check_rows("residual", res.data.len(), m, res.stride, self.n)?;
                (res.data.as_ptr(), res.stride)
            }
            None => (std::ptr::null(), 0),
        };
        if self.plan.main().tile.residual != r.is_some() {
            return Err(Error::InvalidArgument(
                "residual given to a GEMM without residual epilogue, or missing".into(),
            ));
        }
        let (nr, panel) = self.panel_shape();
        let group = self.panel_group(m);
        for first in (0..self.n.div_ceil(nr)).step_by(group) {
            let col = first * nr;
            let cols = (self.n - col).min(group * nr);
            self.plan.for_each_block(m, |uk, row, rows| {
                let args = GemmArgs {
                    m: rows,
                    n: cols,
                    k: self.k,
                    a: a[row * a_stride..].as_ptr(),
                    a_stride,
                    w: self.packed[first * panel..].as_ptr(),
                    c: c[row * c_stride + col..].as_mut_ptr(),
                    c_stride,
                    r: if r_ptr.is_null() {
                        r_ptr
                    } else {
                        r_ptr.wrapping_add(row * r_stride + col)
                    },
                    r_stride,
                };
                // SAFETY: the buffer checks above cover rows `row..row + rows` of A, C and R
                // with their strides, and columns `col..col + cols` lie within their `n`;
                // `packed` was built by `pack::gemm` for this kernel's NR with `n` columns and
                // `k` taps, so from panel `first` on it holds the panels of those columns;
                // `rows ≤ MR`; C is a distinct `&mut` borrow; the kernel's ISA is in the table
                // this plan was built from, so the CPU supports it.
                unsafe { (uk.func)(&args) };
            });
        }
        Ok(())
    }
}
