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
    /// x86 AVX2 + FMA3 + AVX-VNNI (256-bit `vpdpbusd`); INT8 families only.
    AvxVnni,
    /// x86 AVX-512 Foundation, 16 lanes with mask registers.
    Avx512F,
    /// x86 AVX-512 F/BW/VL + VNNI (512-bit `vpdpbusd`); INT8 families only.
    Avx512Vnni,
    /// aarch64 Advanced SIMD (NEON), 4 lanes; tails through partial loads and stores.
    Neon,
    /// aarch64 NEON + dot product (`sdot`, via inline asm on stable); INT8 families only.
    NeonDot,
    /// WebAssembly SIMD128, 4 lanes, compiled in with `-C target-feature=+simd128`; no FMA.
    Wasm128,
}

impl Isa {
    /// Every ISA, lowest tier first.
    pub const ALL: [Isa; 8] = [
        Isa::Scalar,
        Isa::Avx2Fma,
        Isa::AvxVnni,
        Isa::Avx512F,
        Isa::Avx512Vnni,
        Isa::Neon,
        Isa::NeonDot,
        Isa::Wasm128,
    ];

    /// The short name used in kernel ids, module names and `RVCNN_ISA`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2fma",
            Isa::AvxVnni => "avxvnni",
            Isa::Avx512F => "avx512f",
            Isa::Avx512Vnni => "avx512vnni",
            Isa::Neon => "neon",
            Isa::NeonDot => "neondot",
            Isa::Wasm128 => "wasm128",
        }
    }

    /// The variant of `ruvector_cnn_kernels::isa::Isa` this maps to.
    pub fn rust_variant(self) -> &'static str {
        match self {
            Isa::Scalar => "Isa::Scalar",
            Isa::Avx2Fma => "Isa::Avx2Fma",
            Isa::AvxVnni => "Isa::AvxVnni",
            Isa::Avx512F => "Isa::Avx512F",
            Isa::Avx512Vnni => "Isa::Avx512Vnni",
            Isa::Neon => "Isa::Neon",
            Isa::NeonDot => "Isa::NeonDot",
            Isa::Wasm128 => "Isa::Wasm128",
        }
    }

    /// The `#[target_feature(enable = ...)]` list, if any.
    pub fn target_feature(self) -> Option<&'static str> {
        match self {
            // SIMD128 is a whole-module feature (`cfg(target_feature = "simd128")`).
            Isa::Scalar | Isa::Wasm128 => None,
            Isa::Avx2Fma => Some("avx2,fma"),
            Isa::AvxVnni => Some("avx2,fma,avxvnni"),
            Isa::Avx512F => Some("avx512f"),
            Isa::Avx512Vnni => Some("avx512f,avx512bw,avx512vl,avx512vnni"),
            Isa::Neon => Some("neon"),
            Isa::NeonDot => Some("neon,dotprod"),
        }
    }

    /// The `#[cfg(...)]` predicate under which the ISA's code compiles, if any. Every SIMD
    /// ISA also requires `not(rvcnn_portable_only)`: `--cfg rvcnn_portable_only` builds the
    /// kernels crate with its scalar kernels alone (every dispatch level then resolves to
    /// them), which the cargo-fuzz smoke pass uses to keep its instrumented build short.
    pub fn cfg(self) -> Option<&'static str> {
        match self {
            Isa::Scalar => None,
            Isa::Avx2Fma | Isa::AvxVnni | Isa::Avx512F | Isa::Avx512Vnni => Some(
                r#"all(any(target_arch = "x86", target_arch = "x86_64"), not(rvcnn_portable_only))"#,
            ),
            Isa::Neon | Isa::NeonDot => {
                Some(r#"all(target_arch = "aarch64", not(rvcnn_portable_only))"#)
            }
            Isa::Wasm128 => Some(
                r#"all(target_arch = "wasm32", target_feature = "simd128", not(rvcnn_portable_only))"#,
            ),
        }
    }

    /// f32 lanes per vector register.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2Fma | Isa::AvxVnni => 8,
            Isa::Avx512F | Isa::Avx512Vnni => 16,
            Isa::Neon | Isa::NeonDot | Isa::Wasm128 => 4,
        }
    }

    /// Architectural vector registers (the register budget emitters plan with).
    pub fn vector_regs(self) -> usize {
        match self {
            // SIMD128 engines map v128 onto the host's registers: plan for 16 (x86-64 SSE).
            Isa::Scalar | Isa::Avx2Fma | Isa::AvxVnni | Isa::Wasm128 => 16,
            Isa::Avx512F | Isa::Avx512Vnni | Isa::Neon | Isa::NeonDot => 32,
        }
    }

    /// Whether masked (partial-vector) loads and stores cost about what full ones do: AVX-512
    /// masks do, scalar code has one lane; AVX2's `vmaskmovps` stores are slow on AMD (many
    /// µops) and NEON/SIMD128 partials go lane by lane.
    pub fn masks_are_cheap(self) -> bool {
        matches!(self, Isa::Scalar | Isa::Avx512F | Isa::Avx512Vnni)
    }

    /// The spelling of this ISA's operations.
    pub fn vocab(self) -> &'static dyn Vocab {
        match self {
            Isa::Scalar => &Scalar,
            Isa::Avx2Fma | Isa::AvxVnni => &Avx2Fma,
            Isa::Avx512F | Isa::Avx512Vnni => &Avx512F,
            Isa::Neon | Isa::NeonDot => &Neon,
            Isa::Wasm128 => &Wasm128,
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
    /// `a - b`.
    fn sub(&self, a: &str, b: &str) -> String;
    /// `a * b`.
    fn mul(&self, a: &str, b: &str) -> String;
    /// `a > b ? a : b` per lane (x86 semantics: `b` when unordered, so `max(k, x)` keeps a NaN `x`).
    fn max(&self, a: &str, b: &str) -> String;
    /// `a < b ? a : b` per lane (`b` when unordered).
    fn min(&self, a: &str, b: &str) -> String;
    /// A statement hinting the cache line at `p: *const f32` into L1, if the ISA has a
    /// prefetch instruction (it never faults; `p` must still be in bounds for Rust).
    fn prefetch(&self, _p: &str) -> Option<String> {
        None
    }
}

/// Portable scalar code: one f32 per "vector", masks are booleans.
struct Scalar;

impl Vocab for Scalar {
    fn imports(&self) -> &'static [&'static str] {
        &[
            "#[allow(unused_imports)] // not every family calls the helpers",
            "use crate::simd::scalar::*;",
        ]
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
    fn sub(&self, a: &str, b: &str) -> String {
        format!("sub({a}, {b})")
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
    fn prefetch(&self, p: &str) -> Option<String> {
        Some(format!("_mm_prefetch::<_MM_HINT_T0>({p} as *const i8)"))
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
    fn sub(&self, a: &str, b: &str) -> String {
        format!("_mm256_sub_ps({a}, {b})")
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
    fn prefetch(&self, p: &str) -> Option<String> {
        Some(format!("_mm_prefetch::<_MM_HINT_T0>({p} as *const i8)"))
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
    fn sub(&self, a: &str, b: &str) -> String {
        format!("_mm512_sub_ps({a}, {b})")
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

/// aarch64 NEON: 128-bit vectors; a mask is a lane count, tails go through
/// `crate::simd::neon::{load_partial, store_partial}` (a copy through a 4-lane buffer).
struct Neon;

impl Vocab for Neon {
    fn imports(&self) -> &'static [&'static str] {
        &[
            "use core::arch::aarch64::*;",
            "#[allow(unused_imports)] // not every family has tails",
            "use crate::simd::neon::*;",
        ]
    }
    fn vec_ty(&self) -> &'static str {
        "float32x4_t"
    }
    fn zero(&self) -> String {
        "vdupq_n_f32(0.0)".into()
    }
    fn splat(&self, x: &str) -> String {
        format!("vdupq_n_f32({x})")
    }
    fn load(&self, p: &str) -> String {
        format!("vld1q_f32({p})")
    }
    fn store(&self, p: &str, v: &str) -> String {
        format!("vst1q_f32({p}, {v})")
    }
    fn mask(&self, count: &str) -> String {
        count.to_string()
    }
    fn load_masked(&self, p: &str, m: &str) -> String {
        format!("load_partial({p}, {m})")
    }
    fn store_masked(&self, p: &str, m: &str, v: &str) -> String {
        format!("store_partial({p}, {m}, {v})")
    }
    fn fma(&self, a: &str, b: &str, c: &str) -> String {
        format!("vfmaq_f32({c}, {a}, {b})")
    }
    fn add(&self, a: &str, b: &str) -> String {
        format!("vaddq_f32({a}, {b})")
    }
    fn sub(&self, a: &str, b: &str) -> String {
        format!("vsubq_f32({a}, {b})")
    }
    fn mul(&self, a: &str, b: &str) -> String {
        format!("vmulq_f32({a}, {b})")
    }
    fn max(&self, a: &str, b: &str) -> String {
        format!("vmax_x86({a}, {b})")
    }
    fn min(&self, a: &str, b: &str) -> String {
        format!("vmin_x86({a}, {b})")
    }
}

impl Isa {
    /// The spelling of this ISA's INT8 operations, for the levels that have INT8 kernels.
    pub fn int_vocab(self) -> Option<&'static dyn IntVocab> {
        match self {
            Isa::Scalar => Some(&ScalarInt),
            Isa::Avx2Fma => Some(&Avx2Int { dot: Dot4::Split }),
            Isa::AvxVnni => Some(&Avx2Int { dot: Dot4::VexVnni }),
            Isa::Avx512F => None,
            Isa::Avx512Vnni => Some(&Avx512Int),
            Isa::Neon => Some(&Int4 {
                isa: Int4Isa::NeonWiden,
            }),
            Isa::NeonDot => Some(&Int4 {
                isa: Int4Isa::NeonSdot,
            }),
            Isa::Wasm128 => Some(&Int4 { isa: Int4Isa::Wasm }),
        }
    }

    /// The INT8 spelling with `lanes` `i32` lanes: the level's own, or (AVX-512 VNNI, 8 lanes)
    /// its 256-bit EVEX form, for kernels whose natural block is half a register.
    pub fn int_vocab_lanes(self, lanes: usize) -> Option<&'static dyn IntVocab> {
        match (self, lanes) {
            (Isa::Avx512Vnni, 8) => Some(&Avx2Int {
                dot: Dot4::EvexVnni,
            }),
            _ => self.int_vocab().filter(|x| x.lanes() == lanes),
        }
    }
}

/// How a kernel's 4-way u8 × s8 dot product wants its weights packed (mirrors
/// `ruvector_cnn_kernels::ukernels::DotForm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DotForm {
    /// The signed weight bytes as they are.
    Direct,
    /// Each weight as `2·hi + lo` (`hi` in `-64..=63`, `lo` in `0..=1`) so 16-bit pair sums
    /// cannot saturate (AVX2 `vpmaddubsw`).
    Split,
    /// The signed weight bytes, with `128·Σw` added to the bias: the kernel flips the top bit
    /// of every activation byte (`x − 128` as s8) and takes a signed × signed dot product
    /// (NEON `sdot`).
    Offset,
}

impl DotForm {
    /// Packed bytes per weight (`hi` and `lo` for [`DotForm::Split`]), as
    /// `ruvector_cnn_kernels::ukernels::DotForm::weight_bytes`.
    pub fn weight_bytes(self) -> usize {
        if self == DotForm::Split { 2 } else { 1 }
    }

    /// The matching `ruvector_cnn_kernels` value.
    pub fn rust_variant(self) -> &'static str {
        match self {
            DotForm::Direct => "DotForm::Direct",
            DotForm::Split => "DotForm::Split",
            DotForm::Offset => "DotForm::Offset",
        }
    }
}

/// Source-text spelling of one ISA's INT8 operations (vectors of `i32` lanes, the same count
/// as its f32 lanes). Arguments are plain variables or pointer expressions.
pub trait IntVocab {
    /// `i32` lanes per vector.
    fn lanes(&self) -> usize;
    /// The f32 vocabulary of the same width (for the f32 requantization).
    fn fx(&self) -> &'static dyn Vocab;
    /// One vector of f32 from `p: *const f32`, which need not be aligned (packed headers).
    fn load_f32(&self, p: &str) -> String;
    /// The `i32` vector type.
    fn ity(&self) -> &'static str;
    /// How the 4-way dot product wants its weights packed.
    fn form(&self) -> DotForm;
    /// Constants [`IntVocab::dot4`] needs, declared once per kernel.
    fn dot4_consts(&self) -> &'static [&'static str];
    /// Unaligned load of one vector of `i32` from `p: *const i32`.
    fn load_i32(&self, p: &str) -> String;
    /// All lanes `x` (an `i32` expression).
    fn splat_i32(&self, x: &str) -> String;
    /// Four u8 activations `x` (a `u32` expression, byte `t` = reduction index `t`) in the form
    /// [`IntVocab::dot4`] takes.
    fn bcast4(&self, x: &str) -> String;
    /// `acc += Σₜ x[t]·w[lane][t]` for the lanes' 4 signed weights at `w: *const u8` (lane-major,
    /// 4 bytes per lane); for [`DotForm::Split`] ISAs `w` holds the `hi` bytes and `w_lo` the
    /// `lo` bytes. A statement, no `;`.
    fn dot4(&self, acc: &str, x: &str, w: &str, w_lo: &str) -> String;
    /// One register of bytes (`4·lanes` of them) from `p: *const u8`.
    fn load_bytes(&self, p: &str) -> String;
    /// The first `count` (`< 4·lanes`) bytes at `p`, the rest zero; bytes past them are not
    /// accessed.
    fn load_bytes_part(&self, p: &str, count: &str) -> String;
    /// Every byte `b` (a `u8` expression).
    fn splat_bytes(&self, b: &str) -> String;
    /// Statements declaring `x0..x3` from byte registers `b0..b3` (the operands of
    /// [`IntVocab::dot4`]): lane `d` of `x{a}` holds the 4 bytes `b0..b3` of channel
    /// `16·(d / 4) + 4·a + d % 4` (channel `a` for one-lane ISAs), the order
    /// `ruvector_cnn_kernels::pack::qdwconv` arranges weights in.
    fn interleave4(&self) -> &'static [&'static str];
    /// Stores `o0..o3` (lanes in `0..=255`, channels as [`IntVocab::interleave4`] spreads
    /// them) as `4·lanes` bytes in channel order at `p: *mut u8` (a statement).
    fn pack4_store(&self, p: &str) -> String;
    /// As [`IntVocab::pack4_store`] but only the first `count` (`< 4·lanes`) bytes.
    fn pack4_store_part(&self, p: &str, count: &str) -> String;
    /// `lanes` bytes at `p: *const u8` zero-extended to `i32` lanes.
    fn load_u8_i32(&self, p: &str) -> String;
    /// The first `count` (`< lanes`) bytes at `p` zero-extended, other lanes zero; bytes past
    /// them are not accessed.
    fn load_u8_i32_part(&self, p: &str, count: &str) -> String;
    /// f32 lanes to `i32`, rounding to nearest, ties to even (inputs within ±2³⁰).
    fn f32_to_i32(&self, v: &str) -> String;
    /// `i32` lanes to f32 (exact below 2²⁴ in magnitude).
    fn i32_to_f32(&self, v: &str) -> String;
    /// `a − b` (wrapping).
    fn sub_i32(&self, a: &str, b: &str) -> String;
    /// `a · b` (low 32 bits).
    fn mul_i32(&self, a: &str, b: &str) -> String;
    /// `a >> s` per lane (arithmetic; `s` a vector whose lanes all hold the same count in
    /// `0..32`: SIMD128 shifts by one scalar count).
    fn sra_i32(&self, a: &str, s: &str) -> String;
    /// `a + b` (wrapping).
    fn add_i32(&self, a: &str, b: &str) -> String;
    /// `max(a, b)`.
    fn max_i32(&self, a: &str, b: &str) -> String;
    /// `min(a, b)`.
    fn min_i32(&self, a: &str, b: &str) -> String;
    /// Stores the lanes of `v` (each in `0..=255`) as bytes at `p: *mut u8` (a statement).
    fn store_u8(&self, p: &str, v: &str) -> String;
    /// Stores the first `count` lanes of `v` (`count < lanes`) as bytes at `p` (a statement);
    /// bytes past them are not accessed.
    fn store_u8_part(&self, p: &str, v: &str, count: &str) -> String;
}

/// Path of the tail helper reading a prefix into a full array (`crate::simd::prefix`).
const READ_PREFIX: &str = "crate::simd::prefix::read_prefix";
/// Path of the tail helper writing a prefix of a full array.
const WRITE_PREFIX: &str = "crate::simd::prefix::write_prefix";

/// Portable INT8: one column per "vector", helpers in `crate::simd::scalar`.
struct ScalarInt;

impl IntVocab for ScalarInt {
    fn lanes(&self) -> usize {
        1
    }
    fn fx(&self) -> &'static dyn Vocab {
        &Scalar
    }
    fn load_f32(&self, p: &str) -> String {
        format!("{p}.read_unaligned()")
    }
    fn ity(&self) -> &'static str {
        "i32"
    }
    fn form(&self) -> DotForm {
        DotForm::Direct
    }
    fn dot4_consts(&self) -> &'static [&'static str] {
        &[]
    }
    fn load_i32(&self, p: &str) -> String {
        format!("{p}.read_unaligned()")
    }
    fn splat_i32(&self, x: &str) -> String {
        x.into()
    }
    fn bcast4(&self, x: &str) -> String {
        x.into()
    }
    fn dot4(&self, acc: &str, x: &str, w: &str, _w_lo: &str) -> String {
        format!("{acc} = dot4({acc}, {x}, {w})")
    }
    fn load_bytes(&self, p: &str) -> String {
        format!("({p} as *const [u8; 4]).read_unaligned()")
    }
    fn load_bytes_part(&self, p: &str, count: &str) -> String {
        format!("{READ_PREFIX}::<u8, 4>({p}, {count})")
    }
    fn splat_bytes(&self, b: &str) -> String {
        format!("[{b}; 4]")
    }
    fn interleave4(&self) -> &'static [&'static str] {
        &[
            "let x0 = u32::from_le_bytes([b0[0], b1[0], b2[0], b3[0]]);",
            "let x1 = u32::from_le_bytes([b0[1], b1[1], b2[1], b3[1]]);",
            "let x2 = u32::from_le_bytes([b0[2], b1[2], b2[2], b3[2]]);",
            "let x3 = u32::from_le_bytes([b0[3], b1[3], b2[3], b3[3]]);",
        ]
    }
    fn pack4_store(&self, p: &str) -> String {
        format!("({p} as *mut [u8; 4]).write_unaligned([o0 as u8, o1 as u8, o2 as u8, o3 as u8]);")
    }
    fn pack4_store_part(&self, p: &str, count: &str) -> String {
        format!("{WRITE_PREFIX}([o0 as u8, o1 as u8, o2 as u8, o3 as u8], {p}, {count});")
    }
    fn load_u8_i32(&self, p: &str) -> String {
        format!("i32::from(*{p})")
    }
    fn load_u8_i32_part(&self, p: &str, count: &str) -> String {
        format!("if {count} > 0 {{ i32::from(*{p}) }} else {{ 0 }}")
    }
    fn f32_to_i32(&self, v: &str) -> String {
        format!("round_i32({v})")
    }
    fn i32_to_f32(&self, v: &str) -> String {
        format!("to_f32({v})")
    }
    fn sub_i32(&self, a: &str, b: &str) -> String {
        format!("{a}.wrapping_sub({b})")
    }
    fn mul_i32(&self, a: &str, b: &str) -> String {
        format!("{a}.wrapping_mul({b})")
    }
    fn sra_i32(&self, a: &str, s: &str) -> String {
        format!("sra({a}, {s})")
    }
    fn add_i32(&self, a: &str, b: &str) -> String {
        format!("{a}.wrapping_add({b})")
    }
    fn max_i32(&self, a: &str, b: &str) -> String {
        format!("{a}.max({b})")
    }
    fn min_i32(&self, a: &str, b: &str) -> String {
        format!("{a}.min({b})")
    }
    fn store_u8(&self, p: &str, v: &str) -> String {
        format!("*{p} = {v} as u8;")
    }
    fn store_u8_part(&self, p: &str, v: &str, count: &str) -> String {
        format!("if {count} > 0 {{ *{p} = {v} as u8; }}")
    }
}

/// How 256-bit INT8 code forms a 4-way u8 × s8 dot product.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dot4 {
    /// `vpmaddubsw` on split weights (`2·hi + lo`, so no 16-bit pair sum can saturate even at
    /// 255·−128), widened by `vpmaddwd`.
    Split,
    /// AVX-VNNI `vpdpbusd` (VEX).
    VexVnni,
    /// AVX-512 VNNI+VL `vpdpbusd` on ymm registers (EVEX).
    EvexVnni,
}

/// 256-bit INT8, 8 lanes (AVX2, AVX-VNNI, or AVX-512 VNNI on ymm).
struct Avx2Int {
    dot: Dot4,
}

impl Avx2Int {
    /// Whether AVX-512 VL/BW are there too (EVEX encoding): tails by byte masks.
    fn evex(&self) -> bool {
        self.dot == Dot4::EvexVnni
    }
}

impl IntVocab for Avx2Int {
    fn lanes(&self) -> usize {
        8
    }
    fn fx(&self) -> &'static dyn Vocab {
        &Avx2Fma
    }
    fn load_f32(&self, p: &str) -> String {
        format!("_mm256_loadu_ps({p})")
    }
    fn ity(&self) -> &'static str {
        "__m256i"
    }
    fn form(&self) -> DotForm {
        if self.dot == Dot4::Split {
            DotForm::Split
        } else {
            DotForm::Direct
        }
    }
    fn dot4_consts(&self) -> &'static [&'static str] {
        if self.form() == DotForm::Split {
            &[
                "let v_one16 = _mm256_set1_epi16(1);",
                "let v_two16 = _mm256_set1_epi16(2);",
            ]
        } else {
            &[]
        }
    }
    fn load_i32(&self, p: &str) -> String {
        format!("_mm256_loadu_si256({p} as *const __m256i)")
    }
    fn splat_i32(&self, x: &str) -> String {
        format!("_mm256_set1_epi32({x})")
    }
    fn bcast4(&self, x: &str) -> String {
        format!("_mm256_set1_epi32({x} as i32)")
    }
    fn dot4(&self, acc: &str, x: &str, w: &str, w_lo: &str) -> String {
        let ld = |p: &str| format!("_mm256_loadu_si256({p} as *const __m256i)");
        if self.dot == Dot4::VexVnni {
            format!("{acc} = _mm256_dpbusd_avx_epi32({acc}, {x}, {})", ld(w))
        } else if self.dot == Dot4::EvexVnni {
            format!("{acc} = _mm256_dpbusd_epi32({acc}, {x}, {})", ld(w))
        } else {
            format!(
                "{acc} = _mm256_add_epi32(_mm256_add_epi32({acc}, _mm256_madd_epi16(_mm256_maddubs_epi16({x}, {}), v_two16)), _mm256_madd_epi16(_mm256_maddubs_epi16({x}, {}), v_one16))",
                ld(w),
                ld(w_lo)
            )
        }
    }
    fn load_bytes(&self, p: &str) -> String {
        format!("_mm256_loadu_si256({p} as *const __m256i)")
    }
    fn load_bytes_part(&self, p: &str, count: &str) -> String {
        if self.evex() {
            return format!(
                "_mm256_maskz_loadu_epi8(((1u32 << {count}) - 1) as __mmask32, {p} as *const i8)"
            );
        }
        format!(
            "_mm256_loadu_si256({READ_PREFIX}::<u8, 32>({p}, {count}).as_ptr() as *const __m256i)"
        )
    }
    fn splat_bytes(&self, b: &str) -> String {
        format!("_mm256_set1_epi8({b} as i8)")
    }
    fn interleave4(&self) -> &'static [&'static str] {
        &[
            "let (l01, h01) = (_mm256_unpacklo_epi8(b0, b1), _mm256_unpackhi_epi8(b0, b1));",
            "let (l23, h23) = (_mm256_unpacklo_epi8(b2, b3), _mm256_unpackhi_epi8(b2, b3));",
            "let (x0, x1) = (_mm256_unpacklo_epi16(l01, l23), _mm256_unpackhi_epi16(l01, l23));",
            "let (x2, x3) = (_mm256_unpacklo_epi16(h01, h23), _mm256_unpackhi_epi16(h01, h23));",
        ]
    }
    fn pack4_store(&self, p: &str) -> String {
        format!(
            "_mm256_storeu_si256({p} as *mut __m256i, _mm256_packus_epi16(_mm256_packus_epi32(o0, o1), _mm256_packus_epi32(o2, o3)));"
        )
    }
    fn pack4_store_part(&self, p: &str, count: &str) -> String {
        if self.evex() {
            return format!(
                "_mm256_mask_storeu_epi8({p} as *mut i8, ((1u32 << {count}) - 1) as __mmask32, \
                 _mm256_packus_epi16(_mm256_packus_epi32(o0, o1), _mm256_packus_epi32(o2, o3)));"
            );
        }
        format!(
            "{{ let mut t = [0u8; 32]; \
             _mm256_storeu_si256(t.as_mut_ptr() as *mut __m256i, _mm256_packus_epi16(_mm256_packus_epi32(o0, o1), _mm256_packus_epi32(o2, o3))); \
             {WRITE_PREFIX}(t, {p}, {count}); }}"
        )
    }
    fn load_u8_i32(&self, p: &str) -> String {
        format!("_mm256_cvtepu8_epi32(_mm_loadl_epi64({p} as *const __m128i))")
    }
    fn load_u8_i32_part(&self, p: &str, count: &str) -> String {
        if self.evex() {
            return format!(
                "_mm256_cvtepu8_epi32(_mm_maskz_loadu_epi8(((1u32 << {count}) - 1) as __mmask16, {p} as *const i8))"
            );
        }
        format!(
            "_mm256_cvtepu8_epi32(_mm_loadl_epi64({READ_PREFIX}::<u8, 8>({p}, {count}).as_ptr() as *const __m128i))"
        )
    }
    fn f32_to_i32(&self, v: &str) -> String {
        format!("_mm256_cvtps_epi32({v})")
    }
    fn i32_to_f32(&self, v: &str) -> String {
        format!("_mm256_cvtepi32_ps({v})")
    }
    fn sub_i32(&self, a: &str, b: &str) -> String {
        format!("_mm256_sub_epi32({a}, {b})")
    }
    fn mul_i32(&self, a: &str, b: &str) -> String {
        format!("_mm256_mullo_epi32({a}, {b})")
    }
    fn sra_i32(&self, a: &str, s: &str) -> String {
        format!("_mm256_srav_epi32({a}, {s})")
    }
    fn add_i32(&self, a: &str, b: &str) -> String {
        format!("_mm256_add_epi32({a}, {b})")
    }
    fn max_i32(&self, a: &str, b: &str) -> String {
        format!("_mm256_max_epi32({a}, {b})")
    }
    fn min_i32(&self, a: &str, b: &str) -> String {
        format!("_mm256_min_epi32({a}, {b})")
    }
    fn store_u8(&self, p: &str, v: &str) -> String {
        format!(
            "{{ let t = _mm_packus_epi32(_mm256_castsi256_si128({v}), _mm256_extracti128_si256::<1>({v})); \
             _mm_storel_epi64({p} as *mut __m128i, _mm_packus_epi16(t, t)); }}"
        )
    }
    fn store_u8_part(&self, p: &str, v: &str, count: &str) -> String {
        if self.evex() {
            return format!(
                "_mm256_mask_cvtepi32_storeu_epi8({p} as *mut i8, ((1u32 << {count}) - 1) as __mmask8, {v});"
            );
        }
        format!(
            "{{ let t = _mm_packus_epi32(_mm256_castsi256_si128({v}), _mm256_extracti128_si256::<1>({v})); \
             let b = (_mm_cvtsi128_si64(_mm_packus_epi16(t, t)) as u64).to_le_bytes(); \
             {WRITE_PREFIX}(b, {p}, {count}); }}"
        )
    }
}

/// AVX-512 VNNI INT8, 16 lanes: `vpdpbusd`, masked byte stores through `vpmovdb`.
struct Avx512Int;

impl IntVocab for Avx512Int {
    fn lanes(&self) -> usize {
        16
    }
    fn fx(&self) -> &'static dyn Vocab {
        &Avx512F
    }
    fn load_f32(&self, p: &str) -> String {
        format!("_mm512_loadu_ps({p})")
    }
    fn ity(&self) -> &'static str {
        "__m512i"
    }
    fn form(&self) -> DotForm {
        DotForm::Direct
    }
    fn dot4_consts(&self) -> &'static [&'static str] {
        &[]
    }
    fn load_i32(&self, p: &str) -> String {
        format!("_mm512_loadu_si512({p} as *const _)")
    }
    fn splat_i32(&self, x: &str) -> String {
        format!("_mm512_set1_epi32({x})")
    }
    fn bcast4(&self, x: &str) -> String {
        format!("_mm512_set1_epi32({x} as i32)")
    }
    fn dot4(&self, acc: &str, x: &str, w: &str, _w_lo: &str) -> String {
        format!("{acc} = _mm512_dpbusd_epi32({acc}, {x}, _mm512_loadu_si512({w} as *const _))")
    }
    fn load_bytes(&self, p: &str) -> String {
        format!("_mm512_loadu_si512({p} as *const _)")
    }
    fn load_bytes_part(&self, p: &str, count: &str) -> String {
        format!("_mm512_maskz_loadu_epi8(((1u64 << {count}) - 1) as __mmask64, {p} as *const i8)")
    }
    fn splat_bytes(&self, b: &str) -> String {
        format!("_mm512_set1_epi8({b} as i8)")
    }
    fn interleave4(&self) -> &'static [&'static str] {
        &[
            "let (l01, h01) = (_mm512_unpacklo_epi8(b0, b1), _mm512_unpackhi_epi8(b0, b1));",
            "let (l23, h23) = (_mm512_unpacklo_epi8(b2, b3), _mm512_unpackhi_epi8(b2, b3));",
            "let (x0, x1) = (_mm512_unpacklo_epi16(l01, l23), _mm512_unpackhi_epi16(l01, l23));",
            "let (x2, x3) = (_mm512_unpacklo_epi16(h01, h23), _mm512_unpackhi_epi16(h01, h23));",
        ]
    }
    fn pack4_store(&self, p: &str) -> String {
        format!(
            "_mm512_storeu_si512({p} as *mut _, _mm512_packus_epi16(_mm512_packus_epi32(o0, o1), _mm512_packus_epi32(o2, o3)));"
        )
    }
    fn pack4_store_part(&self, p: &str, count: &str) -> String {
        format!(
            "_mm512_mask_storeu_epi8({p} as *mut i8, ((1u64 << {count}) - 1) as __mmask64, \
             _mm512_packus_epi16(_mm512_packus_epi32(o0, o1), _mm512_packus_epi32(o2, o3)));"
        )
    }
    fn load_u8_i32(&self, p: &str) -> String {
        format!("_mm512_cvtepu8_epi32(_mm_loadu_si128({p} as *const __m128i))")
    }
    fn load_u8_i32_part(&self, p: &str, count: &str) -> String {
        format!(
            "_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(((1u32 << {count}) - 1) as __mmask16, {p} as *const i8))"
        )
    }
    fn f32_to_i32(&self, v: &str) -> String {
        format!("_mm512_cvtps_epi32({v})")
    }
    fn i32_to_f32(&self, v: &str) -> String {
        format!("_mm512_cvtepi32_ps({v})")
    }
    fn sub_i32(&self, a: &str, b: &str) -> String {
        format!("_mm512_sub_epi32({a}, {b})")
    }
    fn mul_i32(&self, a: &str, b: &str) -> String {
        format!("_mm512_mullo_epi32({a}, {b})")
    }
    fn sra_i32(&self, a: &str, s: &str) -> String {
        format!("_mm512_srav_epi32({a}, {s})")
    }
    fn add_i32(&self, a: &str, b: &str) -> String {
        format!("_mm512_add_epi32({a}, {b})")
    }
    fn max_i32(&self, a: &str, b: &str) -> String {
        format!("_mm512_max_epi32({a}, {b})")
    }
    fn min_i32(&self, a: &str, b: &str) -> String {
        format!("_mm512_min_epi32({a}, {b})")
    }
    fn store_u8(&self, p: &str, v: &str) -> String {
        format!("_mm_storeu_si128({p} as *mut __m128i, _mm512_cvtepi32_epi8({v}));")
    }
    fn store_u8_part(&self, p: &str, v: &str, count: &str) -> String {
        format!(
            "_mm512_mask_cvtepi32_storeu_epi8({p} as *mut i8, ((1u32 << {count}) - 1) as __mmask16, {v});"
        )
    }
}

/// WebAssembly SIMD128: `v128` holding 4 f32; no fused multiply-add (`mul` then `add`, within
/// the crate's tolerance rule like the scalar code); a mask is a lane count and tails go
/// through `crate::simd::wasm::{load_partial, store_partial}`; `max`/`min` are the
/// pseudo-min/max with swapped operands, which give the x86 NaN rule exactly.
struct Wasm128;

impl Vocab for Wasm128 {
    fn imports(&self) -> &'static [&'static str] {
        &[
            "use core::arch::wasm32::*;",
            "#[allow(unused_imports)] // not every family has tails",
            "use crate::simd::wasm::*;",
        ]
    }
    fn vec_ty(&self) -> &'static str {
        "v128"
    }
    fn zero(&self) -> String {
        "f32x4_splat(0.0)".into()
    }
    fn splat(&self, x: &str) -> String {
        format!("f32x4_splat({x})")
    }
    fn load(&self, p: &str) -> String {
        format!("v128_load({p} as *const v128)")
    }
    fn store(&self, p: &str, v: &str) -> String {
        format!("v128_store({p} as *mut v128, {v})")
    }
    fn mask(&self, count: &str) -> String {
        count.to_string()
    }
    fn load_masked(&self, p: &str, m: &str) -> String {
        format!("load_partial({p}, {m})")
    }
    fn store_masked(&self, p: &str, m: &str, v: &str) -> String {
        format!("store_partial({p}, {m}, {v})")
    }
    fn fma(&self, a: &str, b: &str, c: &str) -> String {
        format!("f32x4_add(f32x4_mul({a}, {b}), {c})")
    }
    fn add(&self, a: &str, b: &str) -> String {
        format!("f32x4_add({a}, {b})")
    }
    fn sub(&self, a: &str, b: &str) -> String {
        format!("f32x4_sub({a}, {b})")
    }
    fn mul(&self, a: &str, b: &str) -> String {
        format!("f32x4_mul({a}, {b})")
    }
    fn max(&self, a: &str, b: &str) -> String {
        // pmax(b, a) = b < a ? a : b: `a` when a > b, else (and when unordered) `b`.
        format!("f32x4_pmax({b}, {a})")
    }
    fn min(&self, a: &str, b: &str) -> String {
        // pmin(b, a) = a < b ? a : b.
        format!("f32x4_pmin({b}, {a})")
    }
}

/// Which 4-lane INT8 spelling an [`Int4`] uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Int4Isa {
    /// Baseline NEON: activations and weights widened to 16 bits (every u8 × s8 product fits
    /// `i16`: −32640..=32385), multiplied, and pairwise-added into the `i32` lanes.
    NeonWiden,
    /// ARMv8.2 dot product: `sdot` on activations with the top bit flipped (`x − 128`), the
    /// `128·Σw` it takes away folded into the packed bias ([`DotForm::Offset`]).
    NeonSdot,
    /// WebAssembly SIMD128: widened to 16 bits, `i32x4.dot_i16x8_s` on pairs, the pair sums
    /// added lane by lane.
    Wasm,
}

/// 4-lane INT8 (aarch64 NEON, WebAssembly SIMD128): the same structure, tails and narrowing
/// stores through same-named helpers of `crate::simd::neon` / `crate::simd::wasm`
/// (`load_bytes_partial`, `pack4_u8`, `load_u8x4`, `store_u8x4`, `zip*`, `dot4_widen`).
struct Int4 {
    isa: Int4Isa,
}

impl Int4 {
    /// The NEON or the SIMD128 spelling of an operation.
    fn pick(&self, neon: &'static str, wasm: &'static str) -> &'static str {
        if self.isa == Int4Isa::Wasm {
            wasm
        } else {
            neon
        }
    }

    /// `name(a, b)` with the NEON or SIMD128 intrinsic name.
    fn call2(&self, neon: &'static str, wasm: &'static str, a: &str, b: &str) -> String {
        format!("{}({a}, {b})", self.pick(neon, wasm))
    }

    /// A vector load from `p` with the NEON intrinsic `neon` (SIMD128: `v128_load`).
    fn load(&self, neon: &'static str, p: &str) -> String {
        match self.isa {
            Int4Isa::Wasm => format!("v128_load({p} as *const v128)"),
            _ => format!("{neon}({p})"),
        }
    }
}

impl IntVocab for Int4 {
    fn lanes(&self) -> usize {
        4
    }
    fn fx(&self) -> &'static dyn Vocab {
        if self.isa == Int4Isa::Wasm {
            &Wasm128
        } else {
            &Neon
        }
    }
    fn load_f32(&self, p: &str) -> String {
        self.load("vld1q_f32", p)
    }
    fn ity(&self) -> &'static str {
        self.pick("int32x4_t", "v128")
    }
    fn form(&self) -> DotForm {
        if self.isa == Int4Isa::NeonSdot {
            DotForm::Offset
        } else {
            DotForm::Direct
        }
    }
    fn dot4_consts(&self) -> &'static [&'static str] {
        &[]
    }
    fn load_i32(&self, p: &str) -> String {
        self.load("vld1q_s32", p)
    }
    fn splat_i32(&self, x: &str) -> String {
        format!("{}({x})", self.pick("vdupq_n_s32", "i32x4_splat"))
    }
    fn bcast4(&self, x: &str) -> String {
        match self.isa {
            Int4Isa::NeonWiden => format!("vreinterpretq_u8_u32(vdupq_n_u32({x}))"),
            Int4Isa::NeonSdot => format!("vreinterpretq_u8_u32(vdupq_n_u32({x} ^ 0x8080_8080))"),
            Int4Isa::Wasm => format!("u32x4_splat({x})"),
        }
    }
    fn dot4(&self, acc: &str, x: &str, w: &str, _w_lo: &str) -> String {
        match self.isa {
            Int4Isa::NeonWiden => {
                format!("{acc} = dot4_widen({acc}, {x}, vld1q_s8({w} as *const i8))")
            }
            Int4Isa::NeonSdot => format!(
                "{{ let wv = vld1q_u8({w}); core::arch::asm!(\"sdot {{0:v}}.4s, {{1:v}}.16b, {{2:v}}.16b\", \
                 inout(vreg) {acc}, in(vreg) {x}, in(vreg) wv, options(pure, nomem, nostack)); }}"
            ),
            Int4Isa::Wasm => format!("{acc} = dot4_widen({acc}, {x}, {})", self.load_bytes(w)),
        }
    }
    fn load_bytes(&self, p: &str) -> String {
        self.load("vld1q_u8", p)
    }
    fn load_bytes_part(&self, p: &str, count: &str) -> String {
        format!("load_bytes_partial({p}, {count})")
    }
    fn splat_bytes(&self, b: &str) -> String {
        format!("{}({b})", self.pick("vdupq_n_u8", "u8x16_splat"))
    }
    fn interleave4(&self) -> &'static [&'static str] {
        const ZIP: [&str; 4] = [
            "let (l01, h01) = (zip1_u8(b0, b1), zip2_u8(b0, b1));",
            "let (l23, h23) = (zip1_u8(b2, b3), zip2_u8(b2, b3));",
            "let (x0, x1) = (zip1_u16(l01, l23), zip2_u16(l01, l23));",
            "let (x2, x3) = (zip1_u16(h01, h23), zip2_u16(h01, h23));",
        ];
        const FLIP_ZIP: [&str; 6] = [
            "let f = vdupq_n_u8(0x80);",
            "let (b0, b1, b2, b3) = (veorq_u8(b0, f), veorq_u8(b1, f), veorq_u8(b2, f), veorq_u8(b3, f));",
            ZIP[0],
            ZIP[1],
            ZIP[2],
            ZIP[3],
        ];
        if self.isa == Int4Isa::NeonSdot {
            &FLIP_ZIP
        } else {
            &ZIP
        }
    }
    fn pack4_store(&self, p: &str) -> String {
        match self.isa {
            Int4Isa::Wasm => format!("v128_store({p} as *mut v128, pack4_u8(o0, o1, o2, o3));"),
            _ => format!("vst1q_u8({p}, pack4_u8(o0, o1, o2, o3));"),
        }
    }
    fn pack4_store_part(&self, p: &str, count: &str) -> String {
        format!("store_bytes_partial({p}, {count}, pack4_u8(o0, o1, o2, o3));")
    }
    fn load_u8_i32(&self, p: &str) -> String {
        format!("load_u8x4({p}, 4)")
    }
    fn load_u8_i32_part(&self, p: &str, count: &str) -> String {
        format!("load_u8x4({p}, {count})")
    }
    fn f32_to_i32(&self, v: &str) -> String {
        match self.isa {
            Int4Isa::Wasm => format!("i32x4_trunc_sat_f32x4(f32x4_nearest({v}))"),
            _ => format!("vcvtnq_s32_f32({v})"),
        }
    }
    fn i32_to_f32(&self, v: &str) -> String {
        format!("{}({v})", self.pick("vcvtq_f32_s32", "f32x4_convert_i32x4"))
    }
    fn sub_i32(&self, a: &str, b: &str) -> String {
        self.call2("vsubq_s32", "i32x4_sub", a, b)
    }
    fn mul_i32(&self, a: &str, b: &str) -> String {
        self.call2("vmulq_s32", "i32x4_mul", a, b)
    }
    fn sra_i32(&self, a: &str, s: &str) -> String {
        match self.isa {
            Int4Isa::Wasm => format!("i32x4_shr({a}, i32x4_extract_lane::<0>({s}) as u32)"),
            _ => format!("vshlq_s32({a}, vnegq_s32({s}))"),
        }
    }
    fn add_i32(&self, a: &str, b: &str) -> String {
        self.call2("vaddq_s32", "i32x4_add", a, b)
    }
    fn max_i32(&self, a: &str, b: &str) -> String {
        self.call2("vmaxq_s32", "i32x4_max", a, b)
    }
    fn min_i32(&self, a: &str, b: &str) -> String {
        self.call2("vminq_s32", "i32x4_min", a, b)
    }
    fn store_u8(&self, p: &str, v: &str) -> String {
        format!("store_u8x4({p}, 4, {v});")
    }
    fn store_u8_part(&self, p: &str, v: &str, count: &str) -> String {
        format!("store_u8x4({p}, {count}, {v});")
    }
}
