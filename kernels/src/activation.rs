//! The activations that kernels fuse into their epilogue.

use std::fmt;

/// A fused activation. Semantics follow PyTorch (`torch.nn.ReLU6`, `Hardswish`, `Hardsigmoid`).
///
/// NaN inputs propagate through every activation (a NaN pre-activation gives a NaN output).
/// Infinities follow the formulas, as in PyTorch: `relu6(+∞) = 6`, `hardswish(+∞) = +∞`,
/// and `hardswish(−∞) = −∞·0 = NaN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Activation {
    /// Identity.
    #[default]
    Linear = 0,
    /// `max(x, 0)`.
    Relu = 1,
    /// `min(max(x, 0), 6)`.
    Relu6 = 2,
    /// `x · relu6(x + 3) / 6`.
    Hswish = 3,
    /// `relu6(x + 3) / 6`.
    Hsigmoid = 4,
}

impl Activation {
    /// Number of activations (size of per-activation tables).
    pub const COUNT: usize = 5;
    /// Every activation, in discriminant order.
    pub const ALL: [Activation; 5] = [
        Activation::Linear,
        Activation::Relu,
        Activation::Relu6,
        Activation::Hswish,
        Activation::Hsigmoid,
    ];

    /// Lower-case name as used in kernel ids (`"hswish"`).
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Hswish => "hswish",
            Activation::Hsigmoid => "hsigmoid",
        }
    }

    /// Parses a name produced by [`Activation::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Exact value in f64 (the reference semantics).
    pub fn apply_f64(self, x: f64) -> f64 {
        let relu6 = |v: f64| if v.is_nan() { v } else { v.clamp(0.0, 6.0) };
        match self {
            Activation::Linear => x,
            Activation::Relu => {
                if x.is_nan() {
                    x
                } else {
                    x.max(0.0)
                }
            }
            Activation::Relu6 => relu6(x),
            Activation::Hswish => x * relu6(x + 3.0) / 6.0,
            Activation::Hsigmoid => relu6(x + 3.0) / 6.0,
        }
    }

    /// Largest |d act / dx| (how much an input error can grow through the activation).
    pub const fn lipschitz(self) -> f64 {
        match self {
            Activation::Hswish => 1.5,
            Activation::Hsigmoid => 1.0 / 6.0,
            _ => 1.0,
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
