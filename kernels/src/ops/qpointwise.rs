//! Quantized pointwise (1x1) convolution over NHWC u8 tensors: an INT8 GEMM with pixels as
//! rows, requantized to u8 (see [`crate::quant`] for the scheme).

use super::error::Result;
use super::gemm_plan::{TilePlan, check_rows};
use super::shape::{Nhwc, check_buf, check_input};
use crate::KernelTable;
use crate::pack::{self, QuantWeights};
use crate::quant::QuantOut;
use crate::ukernels::{QgemmArgs, QgemmUkernel};

/// Describes a quantized pointwise convolution (`weights.taps` input channels,
/// `weights.outputs` output channels).
#[derive(Clone, Copy, Debug)]
pub struct QuantPointwiseDesc<'a> {
    /// Weights, bias, requantization and the input zero point.
    pub weights: QuantWeights<'a>,
    /// Output zero point and clamp (a fused ReLU/ReLU6).
    pub out: QuantOut,
}

/// A quantized pointwise convolution with packed weights and its chosen kernels.
pub struct QuantPointwise {
    cin: usize,
    cout: usize,
    out: QuantOut,
    packed: Vec<u8>,
    plan: TilePlan<QgemmUkernel>,
}

impl QuantPointwise {
    /// Validates `desc`, packs the weights and picks the kernels from `table`.
    pub fn new(desc: &QuantPointwiseDesc<'_>, table: &KernelTable) -> Result<Self> {
        let q = &desc.weights;
        q.validate()?;
        desc.out.validate()?;
        let plan = TilePlan::new(table.qgemm(), "quantized pointwise", q.outputs)?;
        let packed = pack::qgemm(q, plan.main().tile)?;
        Ok(QuantPointwise {
            cin: q.taps,
            cout: q.outputs,
            out: desc.out,
            packed,
            plan,
        })
    }

    /// The output shape for `input` (same N, H, W; `cout` channels).
    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.cin)?;
        Ok(Nhwc {
            c: self.cout,
            ..input
        })
    }

    /// Id of the kernel used for full row blocks.
    pub fn kernel_id(&self) -> &'static str {
        self.plan.main().id
    }

    /// Runs on `input` (shape `input_shape`), writing `output`.
    pub fn run(&self, input_shape: Nhwc, input: &[u8], output: &mut [u8]) -> Result<Nhwc> {
        let out = self.output_shape(input_shape)?;
        check_buf("input", input.len(), input_shape.len()?)?;
        check_buf("output", output.len(), out.len()?)?;
        self.run_rows(input_shape.pixels()?, input, self.cin, output, self.cout)?;
        Ok(out)
    }

    /// Computes `m` rows: row `i` of the input at `a[i·a_stride..]` (`cin` bytes), of the
    /// output at `c[i·c_stride..]` (`cout` bytes).
    pub fn run_rows(
        &self,
        m: usize,
        a: &[u8],
        a_stride: usize,
        c: &mut [u8],
        c_stride: usize,
    ) -> Result<()> {
        if m == 0 {
            return Ok(());
        }
        check_rows("input", a.len(), m, a_stride, self.cin)?;
        check_rows("output", c.len(), m, c_stride, self.cout)?;
        self.plan.for_each_block(m, |uk, row, rows| {
            let args = QgemmArgs {
                m: rows,
                n: self.cout,
                k: self.cin,
                a: a[row * a_stride..].as_ptr(),
                a_stride,
                w: self.packed.as_ptr(),
                c: c[row * c_stride..].as_mut_ptr(),
                c_stride,
                out_zero_point: self.out.zero_point.into(),
                out_min: self.out.min.into(),
                out_max: self.out.max.into(),
                hswish: self.out.hswish,
            };
            // SAFETY: the row checks above cover rows `row..row + rows` of A and C with their
            // strides; `packed` was built by `pack::qgemm` for the plan's tile (every kernel of
            // the plan shares its NR and packing) after `validate` bounded the accumulators;
            // `rows ≤ MR`; C is a distinct `&mut` borrow; the clamp is within 0..=255; the
            // kernel's ISA is in the table the plan came from, so the CPU supports it.
            unsafe { (uk.func)(&args) };
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::HardSwish;

    #[test]
    fn matches_the_reference_at_every_level_and_rejects_bad_input() {
        let (n, k, m) = (37, 45, 23);
        let w: Vec<i8> = (0..n * k).map(|i| (i * 37 % 255) as i32 as i8).collect();
        let bias: Vec<i32> = (0..n as i32).map(|c| c * 100 - 1500).collect();
        let rq = vec![(1.0 / 3000.0) as f32; n];
        let weights = QuantWeights {
            outputs: n,
            taps: k,
            weights: &w,
            bias: &bias,
            scale: &rq,
            input_zero_point: 100,
        };
        let desc = QuantPointwiseDesc {
            weights,
            out: QuantOut::linear(120),
        };
        let x: Vec<u8> = (0..m * k).map(|i| (i * 13 % 256) as u8).collect();
        let want = crate::reference::qgemm(m, &x, k, &weights, desc.out);
        let shape = Nhwc::new(1, 1, m, k);
        for level in crate::isa::available().iter() {
            let t = KernelTable::with_isa(crate::IsaSet::up_to(level));
            let op = QuantPointwise::new(&desc, &t).unwrap();
            let mut y = vec![0u8; m * n];
            op.run(shape, &x, &mut y).unwrap();
            assert_eq!(y, want, "{}", op.kernel_id());
            assert!(op.run(shape, &x[1..], &mut y).is_err());
            assert!(op.run(shape, &x, &mut y[1..]).is_err());
            assert!(op.run(Nhwc::new(1, 1, m, k + 1), &x, &mut y).is_err());
        }
        let bad = QuantPointwiseDesc {
            weights: QuantWeights {
                taps: k + 1,
                ..weights
            },
            ..desc
        };
        assert!(QuantPointwise::new(&bad, KernelTable::best()).is_err());
        let empty = QuantPointwiseDesc {
            out: QuantOut {
                zero_point: 0,
                min: 9,
                max: 3,
                hswish: HardSwish::OFF,
            },
            ..desc
        };
        assert!(QuantPointwise::new(&empty, KernelTable::best()).is_err());
    }
}
