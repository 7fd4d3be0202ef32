//! Arguments shared by the windowed pooling families ([`super::maxpool`], [`super::avgpool`]).

/// Arguments of a windowed pooling kernel: one NHWC image.
///
/// Contract: `channels, in_h, in_w, kernel_h, kernel_w, stride_h, stride_w ≥ 1`; every output
/// window overlaps the image in at least one pixel (guaranteed when `pad_* < kernel_*` and the
/// output size is `floor((in + pads − kernel) / stride) + 1`); `input` holds
/// `in_h·in_w·channels` readable floats and `output` `out_h·out_w·channels` writable floats,
/// not overlapping.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PoolArgs {
    /// Input image.
    pub input: *const f32,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Channels.
    pub channels: usize,
    /// Output image.
    pub output: *mut f32,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Window height.
    pub kernel_h: usize,
    /// Window width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero rows above the image.
    pub pad_top: usize,
    /// Zero columns left of the image.
    pub pad_left: usize,
    /// Average pooling: divide by the full window size (true) or by the in-image taps (false).
    pub count_include_pad: bool,
}
