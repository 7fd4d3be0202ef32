//! Operator objects: every kernel op of `ruvector-cnn-kernels` behind one opaque handle.
//!
//! `rvcnn_op_create_<kind>(desc, &op)` validates the descriptor, packs the weights (copied:
//! the caller's arrays may be freed afterwards) and picks the kernels allowed by the ISA cap;
//! `rvcnn_op_output_shape`, `rvcnn_op_workspace_size`, `rvcnn_op_run` and `rvcnn_op_destroy`
//! work for every kind. Tensors are NHWC f32 (`rvcnn_shape`); a Linear op reads each image
//! (`h·w·c == in_features`) as one vector and writes `n × 1 × 1 × out_features`.
//! Thread safety: `rvcnn_op_run` may be called concurrently on one op (with distinct output
//! and workspace buffers); `rvcnn_op_destroy` must not race with other calls.

#![allow(non_camel_case_types)] // C names: the header is generated from these items.

use ruvector_cnn_kernels::ops::{
    BatchNorm, BatchNormDesc, Conv2d, Conv2dDesc, ConvAlgorithm, DepthwiseConv2d, DepthwiseDesc,
    Elementwise, GlobalAvgPool, Linear, LinearDesc, Nhwc, Padding, Pointwise, PointwiseDesc, Pool,
    PoolDesc, PoolKind, SqueezeExcite, SqueezeExciteDesc,
};
use ruvector_cnn_kernels::{Activation, KernelTable};

use crate::boundary::{Failure, at_least, guard, invalid, non_null};
use crate::isa::table;
use crate::status::rvcnn_status;

/// An NHWC tensor shape.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct rvcnn_shape {
    /// Batch.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

/// Zero padding around an image.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct rvcnn_padding {
    /// Rows above.
    pub top: usize,
    /// Columns left.
    pub left: usize,
    /// Rows below.
    pub bottom: usize,
    /// Columns right.
    pub right: usize,
}

/// Fused activations (`activation` fields hold one of these values).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rvcnn_activation {
    /// Identity.
    RVCNN_ACT_LINEAR = 0,
    /// max(x, 0).
    RVCNN_ACT_RELU = 1,
    /// min(max(x, 0), 6).
    RVCNN_ACT_RELU6 = 2,
    /// x · relu6(x + 3) / 6.
    RVCNN_ACT_HSWISH = 3,
    /// relu6(x + 3) / 6.
    RVCNN_ACT_HSIGMOID = 4,
}

// The C values are the Rust discriminants.
const _: () = {
    assert!(rvcnn_activation::RVCNN_ACT_LINEAR as u8 == Activation::Linear as u8);
    assert!(rvcnn_activation::RVCNN_ACT_RELU as u8 == Activation::Relu as u8);
    assert!(rvcnn_activation::RVCNN_ACT_RELU6 as u8 == Activation::Relu6 as u8);
    assert!(rvcnn_activation::RVCNN_ACT_HSWISH as u8 == Activation::Hswish as u8);
    assert!(rvcnn_activation::RVCNN_ACT_HSIGMOID as u8 == Activation::Hsigmoid as u8);
};

/// How a dense convolution is computed (`rvcnn_conv2d_desc.algorithm`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rvcnn_conv_algorithm {
    /// 3x3: Winograd where the documented cost rule favours it (stride 1, cin and cout ≥ 16),
    /// else direct (stride ≤ 2); other windows and strides: im2col.
    RVCNN_CONV_AUTO = 0,
    /// Direct convolution (stride 1 or 2).
    RVCNN_CONV_DIRECT = 1,
    /// Winograd F(2x2, 3x3) (stride 1 only).
    RVCNN_CONV_WINOGRAD = 2,
    /// Gathered input patches times the weights (any window and stride).
    RVCNN_CONV_IM2COL = 3,
}

// The C values are the Rust discriminants.
const _: () = {
    assert!(rvcnn_conv_algorithm::RVCNN_CONV_AUTO as u8 == ConvAlgorithm::Auto as u8);
    assert!(rvcnn_conv_algorithm::RVCNN_CONV_DIRECT as u8 == ConvAlgorithm::Direct as u8);
    assert!(rvcnn_conv_algorithm::RVCNN_CONV_WINOGRAD as u8 == ConvAlgorithm::Winograd as u8);
    assert!(rvcnn_conv_algorithm::RVCNN_CONV_IM2COL as u8 == ConvAlgorithm::Im2col as u8);
};

/// Pooling kinds (`rvcnn_pool_desc.kind`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rvcnn_pool_kind {
    /// Maximum over the window (padding never wins).
    RVCNN_POOL_MAX = 0,
    /// Average dividing by the whole window (PyTorch's default `count_include_pad=True`).
    RVCNN_POOL_AVG = 1,
    /// Average over the window's in-image pixels only.
    RVCNN_POOL_AVG_EXCLUDE_PAD = 2,
}

/// Dense KxK convolution (`rvcnn_op_create_conv2d`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rvcnn_conv2d_desc {
    /// `sizeof(rvcnn_conv2d_desc)`.
    pub struct_size: u32,
    /// An `rvcnn_activation`.
    pub activation: u32,
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Window size (3 for the direct and Winograd methods; any for im2col).
    pub kernel: usize,
    /// Stride (1 or 2 for the direct method, 1 for Winograd, any for im2col).
    pub stride: usize,
    /// Zero padding: each side smaller than the window for the direct method, up to 65536
    /// for Winograd and im2col.
    pub padding: rvcnn_padding,
    /// OIHW weights, `cout·cin·kernel·kernel` floats.
    pub weights: *const f32,
    /// Floats at `weights`.
    pub weights_len: usize,
    /// Bias (`cout` floats) or NULL.
    pub bias: *const f32,
    /// Floats at `bias`.
    pub bias_len: usize,
    /// An `rvcnn_conv_algorithm` (0 = `RVCNN_CONV_AUTO`).
    pub algorithm: u32,
    /// Non-zero: `rvcnn_op_run` adds an output-shaped residual tensor before the activation
    /// (then the activation must be `RVCNN_ACT_LINEAR` or `RVCNN_ACT_RELU`).
    pub residual: u32,
}

/// Depthwise KxK convolution (`rvcnn_op_create_depthwise`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rvcnn_depthwise_desc {
    /// `sizeof(rvcnn_depthwise_desc)`.
    pub struct_size: u32,
    /// An `rvcnn_activation`.
    pub activation: u32,
    /// Channels.
    pub channels: usize,
    /// Window size (3 or 5).
    pub kernel: usize,
    /// Stride (1 or 2).
    pub stride: usize,
    /// Zero padding (each side smaller than the window).
    pub padding: rvcnn_padding,
    /// `[channels][kernel][kernel]` weights.
    pub weights: *const f32,
    /// Floats at `weights`.
    pub weights_len: usize,
    /// Bias (`channels` floats) or NULL.
    pub bias: *const f32,
    /// Floats at `bias`.
    pub bias_len: usize,
}

/// Pointwise 1x1 convolution (`rvcnn_op_create_pointwise`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rvcnn_pointwise_desc {
    /// `sizeof(rvcnn_pointwise_desc)`.
    pub struct_size: u32,
    /// An `rvcnn_activation` (with `residual`, only `RVCNN_ACT_LINEAR`).
    pub activation: u32,
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Non-zero: `rvcnn_op_run` adds an output-shaped residual tensor.
    pub residual: u32,
    /// `[cout][cin]` weights.
    pub weights: *const f32,
    /// Floats at `weights`.
    pub weights_len: usize,
    /// Bias (`cout` floats) or NULL.
    pub bias: *const f32,
    /// Floats at `bias`.
    pub bias_len: usize,
}

/// Fully-connected layer (`rvcnn_op_create_linear`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rvcnn_linear_desc {
    /// `sizeof(rvcnn_linear_desc)`.
    pub struct_size: u32,
    /// An `rvcnn_activation`.
    pub activation: u32,
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// `[out][in]` weights.
    pub weights: *const f32,
    /// Floats at `weights`.
    pub weights_len: usize,
    /// Bias (`out_features` floats) or NULL.
    pub bias: *const f32,
    /// Floats at `bias`.
    pub bias_len: usize,
}

/// Batch-norm inference (`rvcnn_op_create_batchnorm`); each array holds `channels` floats.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rvcnn_batchnorm_desc {
    /// `sizeof(rvcnn_batchnorm_desc)`.
    pub struct_size: u32,
    /// An `rvcnn_activation`.
    pub activation: u32,
    /// Channels.
    pub channels: usize,
    /// γ.
    pub gamma: *const f32,
    /// β.
    pub beta: *const f32,
    /// Running mean.
    pub mean: *const f32,
    /// Running variance (≥ 0).
    pub var: *const f32,
    /// ε (> 0).
    pub eps: f32,
}

/// Max or average pooling (`rvcnn_op_create_pool`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rvcnn_pool_desc {
    /// `sizeof(rvcnn_pool_desc)`.
    pub struct_size: u32,
    /// An `rvcnn_pool_kind`.
    pub kind: u32,
    /// Channels.
    pub channels: usize,
    /// Window height.
    pub kernel_h: usize,
    /// Window width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero padding (each side smaller than the window).
    pub padding: rvcnn_padding,
}

/// Squeeze-excitation (`rvcnn_op_create_se`): gate = gate_act(fc2·inner_act(fc1·mean(x))).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rvcnn_se_desc {
    /// `sizeof(rvcnn_se_desc)`.
    pub struct_size: u32,
    /// `rvcnn_activation` after fc1 (MobileNetV3: RELU).
    pub inner: u32,
    /// `rvcnn_activation` of the gate (MobileNetV3: HSIGMOID).
    pub gate: u32,
    /// Channels.
    pub channels: usize,
    /// Bottleneck width.
    pub squeeze: usize,
    /// `[squeeze][channels]` weights.
    pub fc1_weights: *const f32,
    /// `squeeze` floats or NULL.
    pub fc1_bias: *const f32,
    /// `[channels][squeeze]` weights.
    pub fc2_weights: *const f32,
    /// `channels` floats or NULL.
    pub fc2_bias: *const f32,
}

// Layout checks mirrored by `_Static_assert`s in tests/c/ops_tests.c (64-bit ABIs; 32-bit
// targets such as wasm32 have their own offsets, which cbindgen's header follows).
const _: () = assert!(size_of::<rvcnn_shape>() == 4 * size_of::<usize>());
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::offset_of!(rvcnn_conv2d_desc, cin) == 8);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::offset_of!(rvcnn_batchnorm_desc, eps) == 48);

/// The operator behind a handle.
enum Op {
    Conv2d(Conv2d, bool),
    Depthwise(DepthwiseConv2d),
    Pointwise(Pointwise, bool),
    Linear(Linear),
    /// With its channel count.
    BatchNorm(BatchNorm, usize),
    Activation(Elementwise),
    Pool(Pool),
    /// With its channel count.
    GlobalAvgPool(GlobalAvgPool, usize),
    /// With its channel count.
    SqueezeExcite(SqueezeExcite, usize),
}

/// An operator object (opaque).
pub struct rvcnn_op {
    op: Op,
}

fn activation(v: u32, what: &str) -> Result<Activation, Failure> {
    Activation::ALL
        .into_iter()
        .find(|a| *a as u32 == v)
        .ok_or_else(|| invalid(format!("{what} {v} is not an rvcnn_activation")))
}

fn check_size(actual: u32, expected: usize, what: &str) -> Result<(), Failure> {
    if actual as usize == expected {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what}.struct_size is {actual}, expected {expected} (set it to sizeof({what}))"
        )))
    }
}

/// A required array.
///
/// # Safety
/// `p` must be NULL or readable for `len` floats.
unsafe fn floats<'a>(p: *const f32, len: usize, what: &str) -> Result<&'a [f32], Failure> {
    non_null(p, what)?;
    // SAFETY: non-NULL and readable for `len` floats per the contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// An optional array (NULL = absent).
///
/// # Safety
/// `p` must be NULL or readable for `len` floats.
unsafe fn optional<'a>(p: *const f32, len: usize) -> Option<&'a [f32]> {
    // SAFETY: readable for `len` floats when non-NULL, per the contract.
    (!p.is_null()).then(|| unsafe { std::slice::from_raw_parts(p, len) })
}

fn padding(p: rvcnn_padding) -> Padding {
    Padding {
        top: p.top,
        left: p.left,
        bottom: p.bottom,
        right: p.right,
    }
}

/// A C descriptor: its C name and `struct_size` field.
trait Desc: Copy {
    /// The C type name, for error messages.
    const NAME: &'static str;
    /// The caller's `struct_size`.
    fn struct_size(&self) -> u32;
}

macro_rules! descriptors {
    ($($t:ident),*) => {$(
        impl Desc for $t {
            const NAME: &'static str = stringify!($t);
            fn struct_size(&self) -> u32 {
                self.struct_size
            }
        }
    )*};
}

descriptors!(
    rvcnn_conv2d_desc,
    rvcnn_depthwise_desc,
    rvcnn_pointwise_desc,
    rvcnn_linear_desc,
    rvcnn_batchnorm_desc,
    rvcnn_pool_desc,
    rvcnn_se_desc
);

/// Publishes a new op in `*out`.
///
/// # Safety
/// `out` must be non-NULL (checked by callers) and writable for one pointer.
unsafe fn publish(out: *mut *mut rvcnn_op, op: Op) {
    let p = Box::into_raw(Box::new(rvcnn_op { op }));
    // SAFETY: per the contract.
    unsafe { *out = p };
}

/// The body every `rvcnn_op_create_*` taking a descriptor shares: NULL and `struct_size`
/// checks, then `build` with the table the ISA cap allows, then `*out` (only on success).
///
/// # Safety
/// `desc` must be NULL or readable, and every array `build` reads through it valid for the
/// length it is read with; `out` NULL or writable for one pointer.
unsafe fn create<D: Desc>(
    desc: *const D,
    out: *mut *mut rvcnn_op,
    build: impl FnOnce(&D, &KernelTable) -> Result<Op, Failure>,
) -> rvcnn_status {
    guard(|| {
        non_null(desc, "desc")?;
        non_null(out, "out")?;
        // SAFETY: non-NULL and readable per the contract.
        let d = unsafe { *desc };
        check_size(d.struct_size(), size_of::<D>(), D::NAME)?;
        let op = build(&d, &table())?;
        // SAFETY: non-NULL (checked) and writable per the contract.
        unsafe { publish(out, op) };
        Ok(())
    })
}

/// A descriptor's weights (required) and bias (optional).
///
/// # Safety
/// Each pointer must be NULL or readable for its length.
unsafe fn params<'a>(
    w: *const f32,
    w_len: usize,
    b: *const f32,
    b_len: usize,
) -> Result<(&'a [f32], Option<&'a [f32]>), Failure> {
    // SAFETY: per the contract.
    unsafe { Ok((floats(w, w_len, "weights")?, optional(b, b_len))) }
}

/// Creates a dense convolution.
///
/// # Safety
/// `desc` NULL or readable, its arrays readable for their lengths; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_conv2d(
    desc: *const rvcnn_conv2d_desc,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    // SAFETY: the caller's contract is `create`'s and `params`'s.
    unsafe {
        create(desc, out, |d, t| {
            let (weights, bias) = params(d.weights, d.weights_len, d.bias, d.bias_len)?;
            let residual = d.residual != 0;
            let algorithm = [
                ConvAlgorithm::Auto,
                ConvAlgorithm::Direct,
                ConvAlgorithm::Winograd,
                ConvAlgorithm::Im2col,
            ]
            .into_iter()
            .find(|a| *a as u32 == d.algorithm)
            .ok_or_else(|| {
                invalid(format!(
                    "algorithm {} is not an rvcnn_conv_algorithm",
                    d.algorithm
                ))
            })?;
            let desc = Conv2dDesc {
                cin: d.cin,
                cout: d.cout,
                kernel: d.kernel,
                stride: d.stride,
                padding: padding(d.padding),
                weights,
                bias,
                activation: activation(d.activation, "activation")?,
                residual,
                algorithm,
            };
            Ok(Op::Conv2d(Conv2d::new(&desc, t)?, residual))
        })
    }
}

/// Creates a depthwise convolution.
///
/// # Safety
/// `desc` NULL or readable, its arrays readable for their lengths; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_depthwise(
    desc: *const rvcnn_depthwise_desc,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    // SAFETY: the caller's contract is `create`'s and `params`'s.
    unsafe {
        create(desc, out, |d, t| {
            let (weights, bias) = params(d.weights, d.weights_len, d.bias, d.bias_len)?;
            let desc = DepthwiseDesc {
                channels: d.channels,
                kernel: d.kernel,
                stride: d.stride,
                padding: padding(d.padding),
                weights,
                bias,
                activation: activation(d.activation, "activation")?,
            };
            Ok(Op::Depthwise(DepthwiseConv2d::new(&desc, t)?))
        })
    }
}

/// Creates a pointwise (1x1) convolution.
///
/// # Safety
/// `desc` NULL or readable, its arrays readable for their lengths; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_pointwise(
    desc: *const rvcnn_pointwise_desc,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    // SAFETY: the caller's contract is `create`'s and `params`'s.
    unsafe {
        create(desc, out, |d, t| {
            let (weights, bias) = params(d.weights, d.weights_len, d.bias, d.bias_len)?;
            let residual = d.residual != 0;
            let desc = PointwiseDesc {
                cin: d.cin,
                cout: d.cout,
                weights,
                bias,
                activation: activation(d.activation, "activation")?,
                residual,
            };
            Ok(Op::Pointwise(Pointwise::new(&desc, t)?, residual))
        })
    }
}

/// Creates a fully-connected layer.
///
/// # Safety
/// `desc` NULL or readable, its arrays readable for their lengths; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_linear(
    desc: *const rvcnn_linear_desc,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    // SAFETY: the caller's contract is `create`'s and `params`'s.
    unsafe {
        create(desc, out, |d, t| {
            let (weights, bias) = params(d.weights, d.weights_len, d.bias, d.bias_len)?;
            let desc = LinearDesc {
                in_features: d.in_features,
                out_features: d.out_features,
                weights,
                bias,
                activation: activation(d.activation, "activation")?,
            };
            Ok(Op::Linear(Linear::new(&desc, t)?))
        })
    }
}

/// Creates a batch-norm (scale/shift) operator.
///
/// # Safety
/// `desc` NULL or readable, its four arrays readable for `channels` floats; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_batchnorm(
    desc: *const rvcnn_batchnorm_desc,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    // SAFETY: the caller's contract is `create`'s and `floats`'s.
    unsafe {
        create(desc, out, |d, t| {
            let c = d.channels;
            let desc = BatchNormDesc {
                channels: c,
                gamma: floats(d.gamma, c, "gamma")?,
                beta: floats(d.beta, c, "beta")?,
                mean: floats(d.mean, c, "mean")?,
                var: floats(d.var, c, "var")?,
                eps: d.eps,
                activation: activation(d.activation, "activation")?,
            };
            Ok(Op::BatchNorm(BatchNorm::new(&desc, t)?, c))
        })
    }
}

/// Creates an elementwise activation (an `rvcnn_activation` value).
///
/// # Safety
/// `out` must be NULL or writable for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_activation(
    act: u32,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    guard(|| {
        non_null(out, "out")?;
        let op = Elementwise::new(activation(act, "act")?, &table())?;
        // SAFETY: non-NULL (checked) and writable per the contract.
        unsafe { publish(out, Op::Activation(op)) };
        Ok(())
    })
}

/// Creates a max or average pooling.
///
/// # Safety
/// `desc` NULL or readable; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_pool(
    desc: *const rvcnn_pool_desc,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    const MAX: u32 = rvcnn_pool_kind::RVCNN_POOL_MAX as u32;
    const AVG: u32 = rvcnn_pool_kind::RVCNN_POOL_AVG as u32;
    const AVG_EXCLUDE_PAD: u32 = rvcnn_pool_kind::RVCNN_POOL_AVG_EXCLUDE_PAD as u32;
    // SAFETY: the caller's contract is `create`'s (no arrays are read).
    unsafe {
        create(desc, out, |d, t| {
            let kind = match d.kind {
                MAX => PoolKind::Max,
                AVG => PoolKind::Average {
                    count_include_pad: true,
                },
                AVG_EXCLUDE_PAD => PoolKind::Average {
                    count_include_pad: false,
                },
                v => return Err(invalid(format!("kind {v} is not an rvcnn_pool_kind"))),
            };
            let desc = PoolDesc {
                kind,
                channels: d.channels,
                kernel: (d.kernel_h, d.kernel_w),
                stride: (d.stride_h, d.stride_w),
                padding: padding(d.padding),
            };
            Ok(Op::Pool(Pool::new(&desc, t)?))
        })
    }
}

/// Creates a global average pooling over `channels` channels (`n×h×w×c → n×1×1×c`).
///
/// # Safety
/// `out` must be NULL or writable for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_global_avgpool(
    channels: usize,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    guard(|| {
        non_null(out, "out")?;
        let op = GlobalAvgPool::new(channels, &table())?;
        // SAFETY: non-NULL (checked) and writable per the contract.
        unsafe { publish(out, Op::GlobalAvgPool(op, channels)) };
        Ok(())
    })
}

/// Creates a squeeze-excitation block.
///
/// # Safety
/// `desc` NULL or readable; its weight arrays readable for `squeeze·channels` floats and its
/// biases (if non-NULL) for `squeeze` / `channels` floats; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_create_se(
    desc: *const rvcnn_se_desc,
    out: *mut *mut rvcnn_op,
) -> rvcnn_status {
    // SAFETY: the caller's contract is `create`'s, `floats`'s and `optional`'s.
    unsafe {
        create(desc, out, |d, t| {
            let (c, q) = (d.channels, d.squeeze);
            let w_len = c.checked_mul(q).ok_or_else(|| {
                Failure(
                    rvcnn_status::RVCNN_STATUS_OUT_OF_MEMORY,
                    "channels x squeeze overflows".into(),
                )
            })?;
            let desc = SqueezeExciteDesc {
                channels: c,
                squeeze: q,
                fc1_weights: floats(d.fc1_weights, w_len, "fc1_weights")?,
                fc1_bias: optional(d.fc1_bias, q),
                fc2_weights: floats(d.fc2_weights, w_len, "fc2_weights")?,
                fc2_bias: optional(d.fc2_bias, c),
                inner: activation(d.inner, "inner")?,
                gate: activation(d.gate, "gate")?,
            };
            Ok(Op::SqueezeExcite(SqueezeExcite::new(&desc, t)?, c))
        })
    }
}

fn nhwc(s: rvcnn_shape) -> Nhwc {
    Nhwc::new(s.n, s.h, s.w, s.c)
}

fn shape_of(s: Nhwc) -> rvcnn_shape {
    rvcnn_shape {
        n: s.n,
        h: s.h,
        w: s.w,
        c: s.c,
    }
}

fn same_channels(input: Nhwc, c: usize) -> Result<Nhwc, Failure> {
    if input.c != c || input.is_empty() {
        return Err(invalid(format!(
            "input shape {input:?}: the operator expects {c} channels and no zero dimension"
        )));
    }
    Ok(input)
}

impl Op {
    fn output_shape(&self, input: Nhwc) -> Result<Nhwc, Failure> {
        Ok(match self {
            Op::Conv2d(o, _) => o.output_shape(input)?,
            Op::Depthwise(o) => o.output_shape(input)?,
            Op::Pointwise(o, _) => o.output_shape(input)?,
            Op::Pool(o) => o.output_shape(input)?,
            Op::Linear(o) => {
                let per = input.image_len()?;
                if per != o.in_features() || input.n == 0 {
                    return Err(invalid(format!(
                        "input shape {input:?} holds {per} values per image, the layer takes {}",
                        o.in_features()
                    )));
                }
                Nhwc::new(input.n, 1, 1, o.out_features())
            }
            Op::BatchNorm(_, c) | Op::SqueezeExcite(_, c) => same_channels(input, *c)?,
            Op::GlobalAvgPool(_, c) => Nhwc::new(same_channels(input, *c)?.n, 1, 1, *c),
            Op::Activation(_) => {
                input.len()?;
                input
            }
        })
    }

    fn workspace_len(&self) -> usize {
        match self {
            Op::SqueezeExcite(o, _) => o.workspace_len(),
            Op::Conv2d(o, _) => o.workspace_len(),
            _ => 0,
        }
    }

    fn run(
        &self,
        s: Nhwc,
        x: &[f32],
        y: &mut [f32],
        residual: Option<&[f32]>,
        ws: &mut [f32],
    ) -> Result<(), Failure> {
        if residual.is_some() && !matches!(self, Op::Pointwise(_, true) | Op::Conv2d(_, true)) {
            return Err(invalid(
                "residual given to an operator created without one".into(),
            ));
        }
        let out = self.output_shape(s)?;
        at_least("input", x.len(), s.len()?)?;
        at_least("output", y.len(), out.len()?)?;
        match self {
            Op::Conv2d(o, _) => drop(o.run(s, x, y, residual, ws)?),
            Op::Depthwise(o) => drop(o.run(s, x, y)?),
            Op::Pointwise(o, _) => drop(o.run(s, x, y, residual)?),
            Op::Pool(o) => drop(o.run(s, x, y)?),
            Op::Linear(o) => o.run(s.n, x, y)?,
            Op::BatchNorm(o, _) => o.run(s, x, y)?,
            Op::GlobalAvgPool(o, _) => o.run(s, x, y)?,
            Op::SqueezeExcite(o, _) => o.run(s, x, y, ws)?,
            Op::Activation(o) => {
                let n = s.len()?;
                o.run(&x[..n], &mut y[..n])?
            }
        }
        Ok(())
    }
}

/// The op behind a handle.
///
/// # Safety
/// `op` must be non-NULL (checked by callers) and live.
unsafe fn get<'a>(op: *const rvcnn_op) -> &'a Op {
    // SAFETY: per the contract.
    unsafe { &(*op).op }
}

/// Writes the output shape for input shape `input`.
///
/// # Safety
/// `op` NULL or live; `input` NULL or readable; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_output_shape(
    op: *const rvcnn_op,
    input: *const rvcnn_shape,
    out: *mut rvcnn_shape,
) -> rvcnn_status {
    guard(|| {
        non_null(op, "op")?;
        non_null(input, "input")?;
        non_null(out, "out")?;
        // SAFETY: all three non-NULL and valid per the contract.
        let s = unsafe { get(op).output_shape(nhwc(*input)) }?;
        // SAFETY: as above.
        unsafe { *out = shape_of(s) };
        Ok(())
    })
}

/// Writes the algorithm a conv2d op uses (`RVCNN_CONV_DIRECT`, `RVCNN_CONV_WINOGRAD` or
/// `RVCNN_CONV_IM2COL`, never `RVCNN_CONV_AUTO`); `RVCNN_INVALID_ARGUMENT` for other kinds.
///
/// # Safety
/// `op` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_conv2d_algorithm(
    op: *const rvcnn_op,
    out: *mut u32,
) -> rvcnn_status {
    guard(|| {
        non_null(op, "op")?;
        non_null(out, "out")?;
        // SAFETY: non-NULL and live per the contract.
        let Op::Conv2d(conv, _) = (unsafe { get(op) }) else {
            return Err(invalid("op is not a conv2d op".into()));
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = conv.algorithm() as u32 };
        Ok(())
    })
}

/// Writes the floats of workspace `rvcnn_op_run` needs (0 for every kind but SE and
/// Winograd conv2d).
///
/// # Safety
/// `op` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_workspace_size(
    op: *const rvcnn_op,
    out: *mut usize,
) -> rvcnn_status {
    guard(|| {
        non_null(op, "op")?;
        non_null(out, "out")?;
        // SAFETY: both non-NULL and valid per the contract.
        unsafe { *out = get(op).workspace_len() };
        Ok(())
    })
}

/// Runs the op on `input` (shape `*shape`, `input_len` floats) into `output` (`output_len`
/// floats, at least the output shape's). `residual` (output-shaped) is required exactly for
/// pointwise ops created with `residual`, else NULL; `workspace` may be NULL when the
/// workspace size is 0. `output` must not overlap `input` or `residual`.
///
/// # Safety
/// `op` NULL or live; `shape` NULL or readable; each buffer NULL or valid for its length
/// (`output` and `workspace` writable, not overlapping any other buffer).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_run(
    op: *const rvcnn_op,
    shape: *const rvcnn_shape,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
    residual: *const f32,
    residual_len: usize,
    workspace: *mut f32,
    workspace_len: usize,
) -> rvcnn_status {
    guard(|| {
        non_null(op, "op")?;
        non_null(shape, "shape")?;
        non_null(input, "input")?;
        non_null(output, "output")?;
        // SAFETY: non-NULL and live per the contract.
        let o = unsafe { get(op) };
        if o.workspace_len() > 0 {
            non_null(workspace, "workspace")?;
        }
        // SAFETY: readable per the contract.
        let s = nhwc(unsafe { *shape });
        // SAFETY: each buffer is valid for its length and `output` overlaps nothing, per the
        // contract.
        let (x, y) = unsafe {
            (
                std::slice::from_raw_parts(input, input_len),
                std::slice::from_raw_parts_mut(output, output_len),
            )
        };
        // SAFETY: as above.
        let r = unsafe { optional(residual, residual_len) };
        let ws: &mut [f32] = if workspace.is_null() {
            &mut []
        } else {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts_mut(workspace, workspace_len) }
        };
        o.run(s, x, y, r, ws)
    })
}

/// Writes the id of the kernel the op uses (a static NUL-terminated string such as
/// `"avx512f/f32_dwconv_hswish_3x3s1_c32w4"`; for SE, the channel-scale kernel; an identity
/// activation reports `"copy"`).
///
/// # Safety
/// `op` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_kernel_id(
    op: *const rvcnn_op,
    out: *mut *const std::ffi::c_char,
) -> rvcnn_status {
    guard(|| {
        non_null(op, "op")?;
        non_null(out, "out")?;
        // SAFETY: non-NULL and live per the contract.
        let id = match unsafe { get(op) } {
            Op::Conv2d(o, _) => o.kernel_id(),
            Op::Depthwise(o) => o.kernel_id(),
            Op::Pointwise(o, _) => o.kernel_id(),
            Op::Linear(o) => o.kernel_id(),
            Op::BatchNorm(o, _) => o.kernel_id(),
            Op::Activation(o) => o.kernel_id().unwrap_or("copy"),
            Op::Pool(o) => o.kernel_id(),
            Op::GlobalAvgPool(o, _) => o.kernel_id(),
            Op::SqueezeExcite(o, _) => o.kernel_ids()[3],
        };
        let c = kernel_cstr(id);
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = c };
        Ok(())
    })
}

/// A NUL-terminated copy of a kernel id, interned for the life of the process (ids are a
/// fixed, small set).
fn kernel_cstr(id: &'static str) -> *const std::ffi::c_char {
    use std::collections::HashMap;
    use std::ffi::CString;
    use std::sync::{Mutex, OnceLock};
    static IDS: OnceLock<Mutex<HashMap<&'static str, &'static CString>>> = OnceLock::new();
    let mut map = IDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(id)
        .or_insert_with(|| Box::leak(Box::new(CString::new(id).unwrap_or_default())))
        .as_ptr()
}

/// Destroys an op (NULL is a no-op).
///
/// # Safety
/// `op` must be NULL or a live handle from `rvcnn_op_create_*`, not used afterwards nor
/// concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvcnn_op_destroy(op: *mut rvcnn_op) {
    if !op.is_null() {
        // SAFETY: created by `Box::into_raw` in `publish`, destroyed once per the contract.
        drop(unsafe { Box::from_raw(op) });
    }
}
