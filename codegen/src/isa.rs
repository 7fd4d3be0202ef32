//! Per-ISA vocabulary: how emitters spell vector types, loads, stores, masks and arithmetic.
//!
//! Emitters never name an intrinsic directly; they ask the [`Vocab`] of the variant's [`Isa`].
//! Adding an ISA (NEON, WASM SIMD128) means adding an [`Isa`] value and one `Vocab` impl.

/// An instruction-set level that kernels are generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Portable Rust, one `f32` per "vector".
    Scalar,
    /// x86 AVX2 + FMA3, 8 lanes.
    Avx2Fma,
    /// x86 AVX-512 Foundation, 16 lanes with mask registers.
    Avx512F,
}

impl Isa {
    /// Every ISA, lowest tier first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2Fma, Isa::Avx512F];

    /// The short name used in kernel ids, module names and `RVCNN_ISA`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2fma",
            Isa::Avx512F => "avx512f",
        }
    }

    /// The variant of `ruvector_cnn_kernels::isa::Isa` this maps to.
    pub fn rust_variant(self) -> &'static str {
        match self {
            Isa::Scalar => "Isa::Scalar",
            Isa::Avx2Fma => "Isa::Avx2Fma",
            Isa::Avx512F => "Isa::Avx512F",
        }
    }

    /// The `#[target_feature(enable = ...)]` list, if any.
    pub fn target_feature(self) -> Option<&'static str> {
        match self {
            Isa::Scalar => None,
            Isa::Avx2Fma => Some("avx2,fma"),
            Isa::Avx512F => Some("avx512f"),
        }
    }

    /// The `#[cfg(...)]` predicate under which the ISA's code compiles, if any.
    pub fn cfg(self) -> Option<&'static str> {
        match self {
            Isa::Scalar => None,
            Isa::Avx2Fma | Isa::Avx512F => {
                Some(r#"any(target_arch = "x86", target_arch = "x86_64")"#)
            }
        }
    }

    /// f32 lanes per vector register.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2Fma => 8,
            Isa::Avx512F => 16,
        }
    }

    /// Architectural vector registers (the register budget emitters plan with).
    pub fn vector_regs(self) -> usize {
        match self {
            Isa::Scalar | Isa::Avx2Fma => 16,
            Isa::Avx512F => 32,
        }
    }

    /// The spelling of this ISA's operations.
    pub fn vocab(self) -> &'static dyn Vocab {
        match self {
            Isa::Scalar => &Scalar,
            Isa::Avx2Fma => &Avx2Fma,
            Isa::Avx512F => &Avx512F,
        }
    }
}

/// Source-text spelling of one ISA's f32 vector operations. Arguments are Rust expressions;
/// results are expressions (or statements, for stores).
pub trait Vocab {
    /// `use` lines the generated module needs.
    fn imports(&self) -> &'static [&'static str];
    /// The vector type.
    fn vec_ty(&self) -> &'static str;
    /// All lanes zero.
    fn zero(&self) -> String;
    /// All lanes `x` (an `f32` expression).
    fn splat(&self, x: &str) -> String;
    /// Unaligned full-width load from `p: *const f32`.
    fn load(&self, p: &str) -> String;
    /// Unaligned full-width store of `v` to `p: *mut f32` (a statement, no `;`).
    fn store(&self, p: &str, v: &str) -> String;
    /// A lane mask selecting the first `count` lanes (`count` is a `usize` in `0..=lanes`).
    fn mask(&self, count: &str) -> String;
    /// Load of the lanes selected by mask `m`; other lanes read as zero and are not accessed.
    fn load_masked(&self, p: &str, m: &str) -> String;
    /// Store of the lanes of `v` selected by mask `m`; other lanes are not accessed.
    fn store_masked(&self, p: &str, m: &str, v: &str) -> String;
    /// `a * b + c`.
    fn fma(&self, a: &str, b: &str, c: &str) -> String;
    /// `a + b`.
    fn add(&self, a: &str, b: &str) -> String;
    /// `a * b`.
    fn mul(&self, a: &str, b: &str) -> String;
    /// `a > b ? a : b` per lane (x86 semantics: `b` when unordered, so `max(k, x)` keeps a NaN `x`).
    fn max(&self, a: &str, b: &str) -> String;
    /// `a < b ? a : b` per lane (`b` when unordered).
    fn min(&self, a: &str, b: &str) -> String;
}

/// Portable scalar code: one f32 per "vector", masks are booleans.
struct Scalar;

impl Vocab for Scalar {
    fn imports(&self) -> &'static [&'static str] {
        &["use crate::simd::scalar::*;"]
    }
    fn vec_ty(&self) -> &'static str {
        "f32"
    }
    fn zero(&self) -> String {
        "0.0f32".into()
    }
    fn splat(&self, x: &str) -> String {
        x.into()
    }
    fn load(&self, p: &str) -> String {
        format!("*{p}")
    }
    fn store(&self, p: &str, v: &str) -> String {
        format!("*{p} = {v}")
    }
    fn mask(&self, count: &str) -> String {
        format!("{count} > 0")
    }
    fn load_masked(&self, p: &str, m: &str) -> String {
        format!("if {m} {{ *{p} }} else {{ 0.0 }}")
    }
    fn store_masked(&self, p: &str, m: &str, v: &str) -> String {
        format!("if {m} {{ *{p} = {v}; }}")
    }
    fn fma(&self, a: &str, b: &str, c: &str) -> String {
        format!("fma({a}, {b}, {c})")
    }
    fn add(&self, a: &str, b: &str) -> String {
        format!("add({a}, {b})")
    }
    fn mul(&self, a: &str, b: &str) -> String {
        format!("mul({a}, {b})")
    }
    fn max(&self, a: &str, b: &str) -> String {
        format!("max({a}, {b})")
    }
    fn min(&self, a: &str, b: &str) -> String {
        format!("min({a}, {b})")
    }
}

const X86_IMPORTS: &[&str] = &[
    "#[cfg(target_arch = \"x86\")]",
    "use core::arch::x86::*;",
    "#[cfg(target_arch = \"x86_64\")]",
    "use core::arch::x86_64::*;",
];

/// AVX2 + FMA3: 256-bit vectors; tails through `vmaskmovps` with an integer lane mask.
struct Avx2Fma;

impl Vocab for Avx2Fma {
    fn imports(&self) -> &'static [&'static str] {
        X86_IMPORTS
    }
    fn vec_ty(&self) -> &'static str {
        "__m256"
    }
    fn zero(&self) -> String {
        "_mm256_setzero_ps()".into()
    }
    fn splat(&self, x: &str) -> String {
        format!("_mm256_set1_ps({x})")
    }
    fn load(&self, p: &str) -> String {
        format!("_mm256_loadu_ps({p})")
    }
    fn store(&self, p: &str, v: &str) -> String {
        format!("_mm256_storeu_ps({p}, {v})")
    }
    fn mask(&self, count: &str) -> String {
        format!(
            "_mm256_cmpgt_epi32(_mm256_set1_epi32(({count}) as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))"
        )
    }
    fn load_masked(&self, p: &str, m: &str) -> String {
        format!("_mm256_maskload_ps({p}, {m})")
    }
    fn store_masked(&self, p: &str, m: &str, v: &str) -> String {
        format!("_mm256_maskstore_ps({p}, {m}, {v})")
    }
    fn fma(&self, a: &str, b: &str, c: &str) -> String {
        format!("_mm256_fmadd_ps({a}, {b}, {c})")
    }
    fn add(&self, a: &str, b: &str) -> String {
        format!("_mm256_add_ps({a}, {b})")
    }
    fn mul(&self, a: &str, b: &str) -> String {
        format!("_mm256_mul_ps({a}, {b})")
    }
    fn max(&self, a: &str, b: &str) -> String {
        format!("_mm256_max_ps({a}, {b})")
    }
    fn min(&self, a: &str, b: &str) -> String {
        format!("_mm256_min_ps({a}, {b})")
    }
}

/// AVX-512F: 512-bit vectors; tails through `k` mask registers.
struct Avx512F;

impl Vocab for Avx512F {
    fn imports(&self) -> &'static [&'static str] {
        X86_IMPORTS
    }
    fn vec_ty(&self) -> &'static str {
        "__m512"
    }
    fn zero(&self) -> String {
        "_mm512_setzero_ps()".into()
    }
    fn splat(&self, x: &str) -> String {
        format!("_mm512_set1_ps({x})")
    }
    fn load(&self, p: &str) -> String {
        format!("_mm512_loadu_ps({p})")
    }
    fn store(&self, p: &str, v: &str) -> String {
        format!("_mm512_storeu_ps({p}, {v})")
    }
    fn mask(&self, count: &str) -> String {
        format!("((1u32 << ({count})) - 1) as __mmask16")
    }
    fn load_masked(&self, p: &str, m: &str) -> String {
        format!("_mm512_maskz_loadu_ps({m}, {p})")
    }
    fn store_masked(&self, p: &str, m: &str, v: &str) -> String {
        format!("_mm512_mask_storeu_ps({p}, {m}, {v})")
    }
    fn fma(&self, a: &str, b: &str, c: &str) -> String {
        format!("_mm512_fmadd_ps({a}, {b}, {c})")
    }
    fn add(&self, a: &str, b: &str) -> String {
        format!("_mm512_add_ps({a}, {b})")
    }
    fn mul(&self, a: &str, b: &str) -> String {
        format!("_mm512_mul_ps({a}, {b})")
    }
    fn max(&self, a: &str, b: &str) -> String {
        format!("_mm512_max_ps({a}, {b})")
    }
    fn min(&self, a: &str, b: &str) -> String {
        format!("_mm512_min_ps({a}, {b})")
    }
}
