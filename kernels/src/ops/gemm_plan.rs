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
//! per three FMAs) and keeps 6x16 where 16 divides too (48, 96, 144 columns: a tie). Where
//! the rule settles on one-vector panels although a wider group fits, the columns may be
//! split instead (`column_split`: the first `⌊n/NR⌋·NR` in the wider panels, the rest in
//! narrower ones, when that pads less by the same measure) — AVX2's 40-column layers run
//! 24 + 16 on 3x24 and 6x16 rather than on 8x8, whose one broadcast per FMA holds it near
//! 77% of peak. Kernel ids name the main group.
//! That NR group's largest-MR kernel covers full row blocks, and the last rows (fewer than
//! three blocks' worth) are split by a small dynamic program minimising the estimated cost
//! `max(MR·NV, MR + NV, 8)` per reduction step (FMAs vs loads vs the 8 FMAs in flight that
//! hide FMA latency; NV = NR / lanes) plus a little per call and per row computed in vain.
//! Planning the last blocks too lets a 7x7 layer's 49 rows run as `6·6 + 5 + 4 + 4` on AVX2
//! rather than ending in a single row, whose two FMA chains wait on latency (measured: the
//! 7x7 GEMMs 4–5% faster); the latency floor sends two or three leftover rows to one taller
//! tile instead of as many 1-row calls.

use std::ops::Range;

use super::error::{Error, Result};
use super::packed::Packed;
use super::shape::{check_buf, product};
use crate::table::Slot;
use crate::ukernels::{GemmArgs, GemmTile, GemmUkernel, QgemmUkernel};

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
    /// For `r < ROW_PLAN_BLOCKS·MR` remaining rows, the index in `tiles` of the kernel to call
    /// next.
    rem_choice: Vec<usize>,
}

/// FMAs a core must have in flight to hide their latency: 4 cycles × 2 FMA pipes on the x86
/// cores this is tuned on. A tile with fewer accumulators waits on its FMA chains.
const LATENCY_FMAS: usize = 8;

/// Estimated cost of one reduction step of `uk`: its FMAs, its loads (MR broadcasts and NV
/// weight vectors), or the latency floor, whichever binds.
fn step_cost<U: GemmTiled>(uk: &U) -> usize {
    let nv = (uk.nr() / uk.lanes()).max(1);
    (uk.mr() * nv).max(uk.mr() + nv).max(LATENCY_FMAS)
}

/// Cost of one call of `uk` covering `rows ≤ MR` rows in the row plan: four units per
/// [`step_cost`] unit, one for the call, one per row it computes in vain (a kernel given fewer
/// rows than its MR repeats its last row), so that equal estimates prefer fewer calls, then
/// less waste.
fn call_cost<U: GemmTiled>(uk: &U, rows: usize) -> usize {
    4 * step_cost(uk) + 1 + (uk.mr() - rows)
}

/// Rows planned by the dynamic program: fewer than `ROW_PLAN_BLOCKS` full blocks' worth, so
/// that `6·8 + 1` rows can end `5 + 4 + 4` (the 7x7 layers of MobileNetV3).
const ROW_PLAN_BLOCKS: usize = 3;

/// Cost of covering `cols` columns with `uk`'s panels: the padded width, one-vector-wide
/// panels counted 15% wider.
fn width_cost<U: GemmTiled>(uk: &U, cols: usize) -> usize {
    let weight = if uk.nr() / uk.lanes() == 1 { 115 } else { 100 };
    cols.div_ceil(uk.nr())
        .saturating_mul(uk.nr())
        .saturating_mul(weight)
}

/// The panel width the rule in the module docs picks for `n` columns.
fn best_nr<U: GemmTiled>(slot: Slot<U>, n: usize) -> Option<usize> {
    slot.iter()
        .min_by_key(|uk| {
            (
                width_cost(**uk, n),
                usize::MAX - uk.mr(),
                usize::MAX - uk.nr(),
            )
        })
        .map(|uk| uk.nr())
}

/// Where [`best_nr`] settles on one-vector-wide panels although a wider group fits in `n`
/// (AVX2: 8x8 for 40 columns), the split of the columns that costs less by [`width_cost`]:
/// `(NR, split, tail NR)` — the first `split = ⌊n/NR⌋·NR` columns in the wider panels, the
/// rest in narrower ones (40 = 24 + 16). Ties go to the taller main tile.
fn column_split<U: GemmTiled>(slot: Slot<U>, n: usize) -> Option<(usize, usize, usize)> {
    let nr = best_nr(slot, n)?;
    let single = slot.iter().find(|uk| uk.nr() == nr)?;
    if nr / single.lanes() != 1 {
        return None;
    }
    let mut best = None;
    for main in slot
        .iter()
        .filter(|uk| uk.nr() / uk.lanes() > 1 && uk.nr() <= n)
    {
        let split = n / main.nr() * main.nr();
        for tail in slot.iter().filter(|uk| uk.nr() < main.nr()) {
            let cost = width_cost(*main, split).saturating_add(width_cost(*tail, n - split));
            let key = (cost, usize::MAX - main.mr(), usize::MAX - tail.mr());
            if best.is_none_or(|(k, _)| key < k) {
                best = Some((key, (main.nr(), split, tail.nr())));
            }
        }
    }
    best.filter(|((cost, ..), _)| *cost < width_cost(*single, n))
        .map(|(_, plan)| plan)
}

impl<U: GemmTiled> TilePlan<U> {
    /// Chooses NR and the row plan among `slot`'s kernels.
    pub fn new(slot: Slot<U>, what: &str, n: usize) -> Result<Self> {
        let nr = best_nr(slot, n)
            .ok_or_else(|| Error::Unsupported(format!("no GEMM kernel for {what}")))?;
        Ok(Self::with_nr(slot, nr))
    }

    /// The row plan among `slot`'s kernels of panel width `nr` (at least one exists).
    fn with_nr(slot: Slot<U>, nr: usize) -> Self {
        let mut tiles: Vec<&'static U> = slot.iter().copied().filter(|uk| uk.nr() == nr).collect();
        tiles.sort_by_key(|uk| std::cmp::Reverse(uk.mr()));
        let planned = ROW_PLAN_BLOCKS * tiles[0].mr();
        // best[r] = cheapest way to cover r rows; choice[r] = first kernel of that way.
        let mut best = vec![0usize; planned];
        let mut rem_choice = vec![0usize; planned];
        for r in 1..planned {
            let (cost, idx) = tiles
                .iter()
                .enumerate()
                .map(|(i, uk)| {
                    let rows = r.min(uk.mr());
                    (call_cost(*uk, rows) + best[r - rows], i)
                })
                .min()
                .unwrap_or((0, 0));
            best[r] = cost;
            rem_choice[r] = idx;
        }
        TilePlan { tiles, rem_choice }
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

    /// The kernel to call next when `left ≥ 1` rows remain: the full-block kernel while more
    /// rows remain than the row plan covers, then the plan's choice.
    fn next_kernel(&self, left: usize) -> &'static U {
        match self.rem_choice.get(left) {
            Some(&i) => self.tiles[i],
            None => self.tiles[0],
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

/// Packed weight floats a GEMM keeps in L2 while sweeping rows when a panel outgrows L1
/// (128 KiB: a quarter of the smallest L2 we tune for, leaving room for A, C and the next
/// group's prefetch). On the Zen 3 host 64–256 KiB measured alike; 128 KiB was best.
const L2_WEIGHTS: usize = 32 << 10;

pub(crate) struct GemmPlan {
    n: usize,
    k: usize,
    packed: Packed,
    plan: TilePlan<GemmUkernel>,
    /// Columns `split..n` in narrower panels after the main ones (see `column_split`).
    tail: Option<Tail>,
}

/// The narrower panels of a GEMM whose columns are split between two panel widths.
struct Tail {
    /// First column of the tail.
    split: usize,
    /// Offset of the tail's panels in `packed`.
    at: usize,
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
        let (plan, packed, tail) = match column_split(slot, n) {
            Some((nr, split, tail_nr)) => {
                let packed = crate::pack::gemm_split(weights, bias, n, k, (nr, split, tail_nr))?;
                let tail = Tail {
                    split,
                    at: crate::pack::packed_len(split, nr, k)?,
                    plan: TilePlan::with_nr(slot, tail_nr),
                };
                (TilePlan::with_nr(slot, nr), packed, Some(tail))
            }
            None => {
                let plan = TilePlan::new(slot, what, n)?;
                let packed = crate::pack::gemm(weights, bias, n, k, plan.main().tile.nr)?;
                (plan, packed, None)
            }
        };
        Ok(GemmPlan {
            n,
            k,
            packed: Packed::new(packed),
            plan,
            tail,
        })
    }

    /// The packed weights (for [`super::share_packed`]).
    pub fn packed_mut(&mut self) -> &mut Packed {
        &mut self.packed
    }

    /// The kernel used for full row blocks (of the main columns, when they are split).
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
        let op = Operands {
            m,
            a,
            a_stride,
            c: c.as_mut_ptr(),
            c_stride,
            r: r_ptr,
            r_stride,
        };
        match &self.tail {
            None => self.sweep(&self.plan, &self.packed, 0..self.n, &op),
            Some(t) => {
                self.sweep(&self.plan, &self.packed, 0..t.split, &op);
                self.sweep(&t.plan, &self.packed[t.at..], t.split..self.n, &op);
            }
        }
        Ok(())
    }

    /// Weight panels per sweep over the rows of an `m`-row product, for `cols` columns in
    /// `tile`'s panels of `panel` floats: all of them (each call computes whole rows, reusing
    /// its rows of A from L1 for every panel), unless several row blocks share the weights
    /// and these outgrow the cache level a panel fits in — [`L1_WEIGHTS`] for panels that
    /// fit L1, else [`L2_WEIGHTS`]. Then as many panels as fit that budget go over every row
    /// block before the next ones, so their weights come from L1 (L2) for all row blocks
    /// but the first, instead of streaming from L2 (L3 or memory) once per row block: a 7x7
    /// layer's 960→160 projection has 614 KB of weights, more than Zen 3's 512 KiB L2.
    fn panel_group(tile: GemmTile, panel: usize, cols: usize, m: usize) -> usize {
        let panels = cols.div_ceil(tile.nr);
        let budget = if panel <= L1_WEIGHTS {
            L1_WEIGHTS
        } else {
            L2_WEIGHTS
        };
        if m <= tile.mr || panel > budget || panels * panel <= budget {
            panels
        } else {
            budget / panel
        }
    }

    /// Computes columns `cols` of every row with `plan`'s kernels, whose panels (of those
    /// columns) start at `packed[0]`.
    fn sweep(
        &self,
        plan: &TilePlan<GemmUkernel>,
        packed: &[f32],
        cols: Range<usize>,
        op: &Operands<'_>,
    ) {
        let tile = plan.main().tile;
        let (nr, panel) = (tile.nr, (self.k + 1) * tile.nr);
        let group = Self::panel_group(tile, panel, cols.len(), op.m);
        let panels = cols.len().div_ceil(nr);
        for first in (0..panels).step_by(group) {
            let col = cols.start + first * nr;
            let n = (cols.end - col).min(group * nr);
            // While the row blocks reuse this group's weights from L1, the next group (if it
            // is L1-sized) is requested into L2 a slice per row block, so that its first
            // row block does not wait on L3 or memory. (Prefetching L2-sized groups as well
            // measured slower: two of them and A crowd a 512 KiB L2.)
            let next = if panel <= L1_WEIGHTS && group < panels {
                // Panels `first + group ..` of this sweep's `panels` (all within `packed`,
                // which may hold a column split's narrower panels after them).
                let (lo, hi) = ((first + group).min(panels), (first + 2 * group).min(panels));
                &packed[lo * panel..hi * panel]
            } else {
                &[]
            };
            let blocks = op.m.div_ceil(tile.mr).max(1);
            let mut ahead = next.chunks(next.len().div_ceil(blocks).max(1));
            plan.for_each_block(op.m, |uk, row, rows| {
                if let Some(slice) = ahead.next() {
                    prefetch_l2(slice);
                }
                let args = GemmArgs {
                    m: rows,
                    n,
                    k: self.k,
                    a: op.a[row * op.a_stride..].as_ptr(),
                    a_stride: op.a_stride,
                    w: packed[first * panel..].as_ptr(),
                    c: op.c.wrapping_add(row * op.c_stride + col),
                    c_stride: op.c_stride,
                    r: if op.r.is_null() {
                        op.r
                    } else {
                        op.r.wrapping_add(row * op.r_stride + col)
                    },
                    r_stride: op.r_stride,
                };
                // SAFETY: `run` checked that A, C and R hold `m` rows with their strides, and
                // columns `col..col + n` lie within their `n`; `packed` was built by `pack::gemm`
                // (or `pack::gemm_split`, whose parts are laid out the same) for this kernel's
                // NR from the first column of `cols`, so from panel `first` on it holds the
                // panels of those columns with `k` taps; `rows ≤ MR`; C comes from the distinct
                // `&mut` borrow `run` was given and is written only through this pointer;
                // the kernel's ISA is in the table this plan was built from, so the CPU
                // supports it.
                unsafe { (uk.func)(&args) };
            });
        }
    }
}

/// Asks the CPU to bring `floats` into L2, one request per 64-byte line (x86-64; a no-op
/// elsewhere).
fn prefetch_l2(floats: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in floats.chunks(16) {
        // SAFETY: a prefetch never faults and changes no program state; the pointer lies
        // within `floats`.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = floats;
}

/// The checked operands of one [`GemmPlan::run`].
struct Operands<'a> {
    m: usize,
    a: &'a [f32],
    a_stride: usize,
    /// C, from the `&mut` borrow `run` was given (written only through this pointer).
    c: *mut f32,
    c_stride: usize,
    r: *const f32,
    r_stride: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::{self, Isa, IsaSet};
    use crate::{Activation, KernelTable};

    /// Weights `[n][k]` and `m` rows of A for the GEMM tests.
    fn operands(n: usize, k: usize, m: usize) -> (Vec<f32>, Vec<f32>) {
        let w = (0..n * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0)
            .collect();
        let a = (0..m * k)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 9.0)
            .collect();
        (w, a)
    }

    /// AVX2 splits the 40-column layers (3x24 + 6x16 instead of 8x8), nothing else of
    /// MobileNet's widths; AVX-512 splits none of them.
    #[test]
    fn column_splits() {
        let widths = [
            8, 16, 24, 32, 40, 48, 72, 88, 96, 120, 144, 184, 200, 240, 960,
        ];
        for level in [Isa::Avx2Fma, Isa::Avx512F] {
            if !isa::detected().contains(level) {
                continue;
            }
            let t = KernelTable::with_isa(IsaSet::up_to(level));
            let slot = t.gemm(Activation::Linear, false);
            for n in widths {
                let want = (level == Isa::Avx2Fma && n == 40).then_some((24, 24, 16));
                assert_eq!(column_split(slot, n), want, "{level} n = {n}");
            }
        }
    }

    /// The row plan covers every row once, in order; on AVX2 a 7x7 layer's 49 rows end
    /// `5 + 4 + 4` instead of a latency-bound single row, and two rows take one 4-row call.
    #[test]
    fn row_plans() {
        for level in isa::available().iter() {
            let t = KernelTable::with_isa(IsaSet::up_to(level));
            let plan = TilePlan::new(t.gemm(Activation::Linear, false), "test", 960).unwrap();
            for m in 1..80 {
                let mut next = 0;
                plan.for_each_block(m, |uk, row, rows| {
                    assert_eq!(row, next, "{level} m = {m}");
                    assert!(rows >= 1 && rows <= uk.tile.mr, "{level} m = {m}");
                    next += rows;
                });
                assert_eq!(next, m, "{level} m = {m}");
            }
            if level == Isa::Avx2Fma {
                let mut rows = Vec::new();
                plan.for_each_block(49, |_, _, r| rows.push(r));
                assert_eq!(rows, [6, 6, 6, 6, 6, 6, 5, 4, 4]);
                assert!(plan.kernel_id_for(1).ends_with("_1x16"));
                // Two rows: one 4-row call (latency-bound either way), not two 1-row calls.
                assert!(plan.kernel_id_for(2).ends_with("_4x16"));
            }
        }
    }

    /// A row's values do not depend on which tile computed it: a 49-row product equals its
    /// rows computed one at a time, bit for bit (banded blocks and thread splits rely on it).
    #[test]
    fn rows_do_not_depend_on_their_tile() {
        for level in isa::available().iter() {
            let t = KernelTable::with_isa(IsaSet::up_to(level));
            let slot = t.gemm(Activation::Hswish, false);
            // One panel group; L1-sized groups (prefetching the next); L2-sized groups.
            for (n, k, m) in [(40, 23, 49), (200, 300, 20), (100, 700, 20)] {
                let (w, a) = operands(n, k, m);
                let plan = GemmPlan::new(slot, "test", n, k, &w, None).unwrap();
                let mut all = vec![f32::NAN; m * n];
                plan.run(m, &a, k, &mut all, n, None).unwrap();
                for row in 0..m {
                    let mut one = vec![f32::NAN; n];
                    plan.run(1, &a[row * k..], k, &mut one, n, None).unwrap();
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&all[row * n..(row + 1) * n]),
                        bits(&one),
                        "{level} {n}x{k} row {row}"
                    );
                }
            }
        }
    }

    #[test]
    fn panel_groups() {
        let tile = GemmTile {
            mr: 6,
            nr: 16,
            residual: false,
        };
        let panel = |k: usize| (k + 1) * 16;
        // 7x7 960→160: 614 KB of weights, two 61 KB panels per L2-sized group.
        assert_eq!(GemmPlan::panel_group(tile, panel(960), 160, 49), 2);
        // 7x7 160→960: three 10 KB panels per L1-sized group.
        assert_eq!(GemmPlan::panel_group(tile, panel(160), 960, 49), 3);
        // 14x14 80→80: all weights fit L1.
        assert_eq!(GemmPlan::panel_group(tile, panel(80), 80, 196), 5);
        // One row block, or a panel larger than the L2 budget: one group.
        assert_eq!(GemmPlan::panel_group(tile, panel(960), 160, 6), 10);
        assert_eq!(GemmPlan::panel_group(tile, panel(4000), 160, 49), 10);
    }

    /// A split GEMM computes the same columns as its two parts run alone.
    #[test]
    fn split_matches_parts() {
        let t = KernelTable::best();
        let slot = t.gemm(Activation::Relu6, false);
        let (n, k, m) = (40, 37, 11);
        let (w, a) = operands(n, k, m);
        let b: Vec<f32> = (0..n).map(|i| i as f32 / 7.0 - 2.0).collect();
        let whole = GemmPlan::new(slot, "test", n, k, &w, Some(&b)).unwrap();
        let mut c = vec![f32::NAN; m * n];
        whole.run(m, &a, k, &mut c, n, None).unwrap();
        let split = column_split(slot, n).map_or(n, |(_, s, _)| s);
        for (cols, w, b) in [
            (0..split, &w[..split * k], &b[..split]),
            (split..n, &w[split * k..], &b[split..]),
        ] {
            if cols.is_empty() {
                continue;
            }
            let part = GemmPlan::new(slot, "part", cols.len(), k, w, Some(b)).unwrap();
            let mut p = vec![0.0; m * cols.len()];
            part.run(m, &a, k, &mut p, cols.len(), None).unwrap();
            for row in 0..m {
                let got = &c[row * n + cols.start..row * n + cols.end];
                let want = &p[row * cols.len()..(row + 1) * cols.len()];
                assert_eq!(got, want, "row {row}, columns {cols:?}");
            }
        }
    }
}
