//! Elementwise activation over a flat buffer.

use super::error::Result;
use super::first;
use super::shape::check_buf;
use crate::ukernels::vact::{VactArgs, VactUkernel};
use crate::{Activation, KernelTable};

/// An elementwise activation with its chosen kernel (`Linear` is a copy).
pub struct Elementwise {
    activation: Activation,
    uk: Option<&'static VactUkernel>,
}

impl Elementwise {
    /// Picks the kernel for `activation` from `table`.
    pub fn new(activation: Activation, table: &KernelTable) -> Result<Self> {
        let uk = match activation {
            Activation::Linear => None,
            a => Some(first(table.vact(a), || format!("elementwise {a}"))?),
        };
        Ok(Elementwise { activation, uk })
    }

    /// The activation applied.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Id of the chosen kernel (`None` for the linear copy).
    pub fn kernel_id(&self) -> Option<&'static str> {
        self.uk.map(|u| u.id)
    }

    fn call(&self, n: usize, input: *const f32, output: *mut f32) {
        if let Some(uk) = self.uk {
            // SAFETY: callers pass buffers of at least `n` floats (possibly the same buffer,
            // which the kernel allows); the kernel's ISA is in the table the op was built from.
            unsafe { (uk.func)(&VactArgs { input, output, n }) };
        }
    }

    /// Writes `act(input[i])` to `output[i]` for every `i < input.len()`.
    pub fn run(&self, input: &[f32], output: &mut [f32]) -> Result<()> {
        check_buf("output", output.len(), input.len())?;
        match self.uk {
            None => output[..input.len()].copy_from_slice(input),
            Some(_) => self.call(input.len(), input.as_ptr(), output.as_mut_ptr()),
        }
        Ok(())
    }

    /// Applies the activation to `data` in place.
    pub fn run_in_place(&self, data: &mut [f32]) {
        let p = data.as_mut_ptr();
        self.call(data.len(), p, p);
    }
}
