//! Shapes, padding and the checked size arithmetic shared by the operators.

use super::error::{Error, Result, invalid};

/// Shape of an NHWC (channels-last) tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Nhwc {
    /// Batch size.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl Nhwc {
    /// A shape from its four dimensions.
    pub const fn new(n: usize, h: usize, w: usize, c: usize) -> Self {
        Nhwc { n, h, w, c }
    }

    /// `n·h·w`, or an error on overflow.
    pub fn pixels(&self) -> Result<usize> {
        product(&[self.n, self.h, self.w], "tensor")
    }

    /// `n·h·w·c`, or an error on overflow.
    pub fn len(&self) -> Result<usize> {
        product(&[self.n, self.h, self.w, self.c], "tensor")
    }

    /// Floats in one image (`h·w·c`).
    pub fn image_len(&self) -> Result<usize> {
        product(&[self.h, self.w, self.c], "image")
    }

    /// Whether any dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.n == 0 || self.h == 0 || self.w == 0 || self.c == 0
    }
}

/// Zero padding around an image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding {
    /// Rows above.
    pub top: usize,
    /// Columns to the left.
    pub left: usize,
    /// Rows below.
    pub bottom: usize,
    /// Columns to the right.
    pub right: usize,
}

impl Padding {
    /// No padding.
    pub const ZERO: Padding = Padding {
        top: 0,
        left: 0,
        bottom: 0,
        right: 0,
    };

    /// The same padding on all four sides (PyTorch's `padding=p`).
    pub const fn same(p: usize) -> Self {
        Padding {
            top: p,
            left: p,
            bottom: p,
            right: p,
        }
    }
}

/// Product of `dims`, or [`Error::SizeOverflow`] naming `what`.
pub(crate) fn product(dims: &[usize], what: &'static str) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(Error::SizeOverflow(what))
}

/// Output length of a windowed axis: `floor((input + pad_a + pad_b − k) / s) + 1`.
pub(crate) fn out_dim(
    axis: &str,
    input: usize,
    pad_a: usize,
    pad_b: usize,
    k: usize,
    s: usize,
) -> Result<usize> {
    let padded = input
        .checked_add(pad_a)
        .and_then(|v| v.checked_add(pad_b))
        .ok_or(Error::SizeOverflow("padded input"))?;
    if padded < k {
        return invalid!("{axis}: padded input {padded} is smaller than the window {k}");
    }
    Ok((padded - k) / s + 1)
}

/// Checks that a data buffer holds at least `needed` floats.
pub(crate) fn check_buf(what: &'static str, actual: usize, needed: usize) -> Result<()> {
    if actual < needed {
        Err(Error::BufferTooSmall {
            what,
            needed,
            actual,
        })
    } else {
        Ok(())
    }
}

/// Checks that a parameter slice has exactly `expected` values.
pub(crate) fn check_len(what: &'static str, actual: usize, expected: usize) -> Result<()> {
    if actual != expected {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    } else {
        Ok(())
    }
}

/// Checks that a dimension is at least 1.
pub(crate) fn check_nonzero(what: &str, v: usize) -> Result<()> {
    if v == 0 {
        invalid!("{what} must be at least 1")
    } else {
        Ok(())
    }
}

/// Checks that a residual is given exactly when `expected`, holding at least `len` floats.
pub(crate) fn check_residual(given: Option<&[f32]>, expected: bool, len: usize) -> Result<()> {
    match (given, expected) {
        (Some(r), true) => check_buf("residual", r.len(), len),
        (None, false) => Ok(()),
        (Some(_), false) => invalid!("residual given to an operator created without one"),
        (None, true) => invalid!("operator created with residual needs a residual tensor"),
    }
}

/// Validates a `run_rows` request of an op with output shape `out` that finds its own input
/// rows (one image, a non-empty range of rows within it, the input holding the image and the
/// output those rows; [`check_rows`] without the window); returns the floats of the
/// requested rows.
pub(crate) fn check_row_request(
    input_shape: Nhwc,
    input_len: usize,
    out: Nhwc,
    rows: &std::ops::Range<usize>,
    output_len: usize,
) -> Result<usize> {
    check_rows(input_shape, out, rows, 1, 0, Some(input_len), output_len)?;
    Ok(rows.len() * out.w * out.c)
}

/// Checks the buffers of a batch (`residual` output-shaped when given), then calls
/// `rows(image_shape, image_input, image_output, image_residual)` for every image.
pub(crate) fn per_image_rows(
    input_shape: Nhwc,
    out: Nhwc,
    input: &[f32],
    output: &mut [f32],
    residual: Option<&[f32]>,
    mut rows: impl FnMut(Nhwc, &[f32], &mut [f32], Option<&[f32]>) -> Result<()>,
) -> Result<()> {
    check_buf("input", input.len(), input_shape.len()?)?;
    check_buf("output", output.len(), out.len()?)?;
    if let Some(r) = residual {
        check_buf("residual", r.len(), out.len()?)?;
    }
    let (in_img, out_img) = (input_shape.image_len()?, out.image_len()?);
    let one = Nhwc {
        n: 1,
        ..input_shape
    };
    for b in 0..input_shape.n {
        let res = residual.map(|r| &r[b * out_img..(b + 1) * out_img]);
        rows(
            one,
            &input[b * in_img..(b + 1) * in_img],
            &mut output[b * out_img..(b + 1) * out_img],
            res,
        )?;
    }
    Ok(())
}

/// Most zero padding on one side of a convolution whose method allows padding as wide as the
/// window or wider (Winograd, im2col).
pub const MAX_PADDING: usize = 1 << 16;

/// Checks that no side of `pad` exceeds [`MAX_PADDING`].
pub(crate) fn check_padding(pad: Padding) -> Result<()> {
    if [pad.top, pad.left, pad.bottom, pad.right]
        .iter()
        .any(|&p| p > MAX_PADDING)
    {
        return invalid!("padding {pad:?} exceeds {MAX_PADDING} on a side");
    }
    Ok(())
}

/// Checks a windowed op's spatial parameters: non-zero stride, padding smaller than the window
/// on every side (so every output window overlaps the image).
pub(crate) fn check_window(kh: usize, kw: usize, sh: usize, sw: usize, pad: Padding) -> Result<()> {
    check_nonzero("kernel height", kh)?;
    check_nonzero("kernel width", kw)?;
    check_nonzero("stride", sh.min(sw))?;
    if pad.top >= kh || pad.bottom >= kh || pad.left >= kw || pad.right >= kw {
        return invalid!("padding {pad:?} must be smaller than the {kh}x{kw} window on every side");
    }
    Ok(())
}

/// Output shape of a windowed op applied to `input`.
pub(crate) fn window_output(
    input: Nhwc,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    pad: Padding,
    c: usize,
) -> Result<Nhwc> {
    let h = out_dim("height", input.h, pad.top, pad.bottom, kh, sh)?;
    let w = out_dim("width", input.w, pad.left, pad.right, kw, sw)?;
    Ok(Nhwc::new(input.n, h, w, c))
}

/// Checks that `input` has `c` channels and no zero dimension.
pub(crate) fn check_input(input: Nhwc, c: usize) -> Result<()> {
    if input.c != c {
        return invalid!("input has {} channels, the operator expects {c}", input.c);
    }
    if input.is_empty() {
        return invalid!("input shape {input:?} has a zero dimension");
    }
    Ok(())
}

/// Checks `input` and `output` against `input_shape` and `out`, then calls `kernel` with the
/// first float of each image of the input and of the output.
pub(crate) fn per_image<T>(
    input_shape: Nhwc,
    out: Nhwc,
    input: &[T],
    output: &mut [T],
    mut kernel: impl FnMut(*const T, *mut T),
) -> Result<Nhwc> {
    check_buf("input", input.len(), input_shape.len()?)?;
    check_buf("output", output.len(), out.len()?)?;
    let (in_img, out_img) = (input_shape.image_len()?, out.image_len()?);
    for b in 0..input_shape.n {
        kernel(
            input[b * in_img..].as_ptr(),
            output[b * out_img..].as_mut_ptr(),
        );
    }
    Ok(out)
}

/// The input a run of output rows of a windowed op reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowWindow {
    /// Input rows to skip (where the kernel's input pointer starts).
    pub skip: usize,
    /// Zero rows left above the skipped-to input.
    pub pad_top: usize,
    /// Input rows from there to the bottom of the image.
    pub in_h: usize,
    /// Output rows computed.
    pub out_h: usize,
}

/// Where output rows `rows` of a windowed op (stride `s`, `pad_top`) read their input.
/// Errors unless `rows` is a non-empty range within `out_h`.
pub(crate) fn row_window(
    rows: &std::ops::Range<usize>,
    out_h: usize,
    s: usize,
    pad_top: usize,
    in_h: usize,
) -> Result<RowWindow> {
    if rows.start >= rows.end || rows.end > out_h {
        return invalid!("output rows {rows:?} are not a non-empty range within 0..{out_h}");
    }
    let first = rows.start * s;
    let skip = first.saturating_sub(pad_top).min(in_h);
    Ok(RowWindow {
        skip,
        pad_top: pad_top.saturating_sub(first),
        in_h: in_h - skip,
        out_h: rows.len(),
    })
}

/// Validates a `run_rows` call of a windowed op with output shape `out`: one image, a
/// non-empty range of output rows, an input of `input_len` holding the image (`None`: the
/// caller checks its own input, a band of rows) and an output holding those rows; returns
/// the rows' input window.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_rows(
    input_shape: Nhwc,
    out: Nhwc,
    rows: &std::ops::Range<usize>,
    stride: usize,
    pad_top: usize,
    input_len: Option<usize>,
    output_len: usize,
) -> Result<RowWindow> {
    if input_shape.n != 1 {
        return invalid!("run_rows takes one image, got a batch of {}", input_shape.n);
    }
    let window = row_window(rows, out.h, stride, pad_top, input_shape.h)?;
    if let Some(len) = input_len {
        check_buf("input", len, input_shape.len()?)?;
    }
    check_buf("output", output_len, rows.len() * out.w * out.c)?;
    Ok(window)
}

/// An operator that computes output rows of one NHWC image from a window of its input rows
/// (dense, depthwise and quantized depthwise convolutions): [`RowOp::run_all`] and
/// [`RowOp::run_some_rows`] validate, then hand each image's rows to [`RowOp::call`].
pub(crate) trait RowOp {
    /// Element type of the activations.
    type T;
    /// The output shape for `input`.
    fn output_shape(&self, input: Nhwc) -> Result<Nhwc>;
    /// Vertical stride and top padding.
    fn stride_pad(&self) -> (usize, usize);
    /// The kernel call for the output rows of `window` of one image; the callers have
    /// checked that `x` holds the image and `y` those rows.
    fn call(
        &self,
        input_shape: Nhwc,
        x: *const Self::T,
        y: *mut Self::T,
        window: RowWindow,
        out: Nhwc,
    );

    /// Runs on every image of `input` (shape `input_shape`), writing `output`.
    fn run_all(
        &self,
        input_shape: Nhwc,
        input: &[Self::T],
        output: &mut [Self::T],
    ) -> Result<Nhwc> {
        let out = self.output_shape(input_shape)?;
        let (s, pad) = self.stride_pad();
        let window = row_window(&(0..out.h), out.h, s, pad, input_shape.h)?;
        per_image(input_shape, out, input, output, |x, y| {
            self.call(input_shape, x, y, window, out);
        })
    }

    /// Computes output rows `rows` of one image into `output`, which holds just those rows.
    fn run_some_rows(
        &self,
        input_shape: Nhwc,
        input: &[Self::T],
        output: &mut [Self::T],
        rows: std::ops::Range<usize>,
    ) -> Result<()> {
        let out = self.output_shape(input_shape)?;
        let (s, pad) = self.stride_pad();
        let window = check_rows(
            input_shape,
            out,
            &rows,
            s,
            pad,
            Some(input.len()),
            output.len(),
        )?;
        self.call(
            input_shape,
            input.as_ptr(),
            output.as_mut_ptr(),
            window,
            out,
        );
        Ok(())
    }

    /// Like [`RowOp::run_some_rows`] with only a band of the input: `band` holds input rows
    /// `first..` of the image (whole rows; a partial last row is ignored), which must include
    /// every row the windows (height `k`) of output rows `rows` read.
    fn run_band(
        &self,
        k: usize,
        input_shape: Nhwc,
        band: &[Self::T],
        first: usize,
        output: &mut [Self::T],
        rows: std::ops::Range<usize>,
    ) -> Result<()> {
        let out = self.output_shape(input_shape)?;
        let (s, pad) = self.stride_pad();
        let window = check_rows(input_shape, out, &rows, s, pad, None, output.len())?;
        let row = input_shape.image_len()? / input_shape.h;
        // Rows the windows read: from `skip` down to the last window's bottom edge (the
        // bottom padding aside).
        let reach = ((window.out_h - 1) * s + k).saturating_sub(window.pad_top);
        let needed = window.in_h.min(reach);
        let held = band.len() / row;
        if window.skip < first || window.skip + needed > first + held {
            return invalid!(
                "output rows {rows:?} read input rows {}..{}, the band holds {first}..{}",
                window.skip,
                window.skip + needed,
                first + held
            );
        }
        // The band as an image of `needed` rows starting at `skip`: the kernel reads no
        // further, and where `needed` stops short of the image's bottom no window reaches it.
        let band_shape = Nhwc::new(1, held, input_shape.w, input_shape.c);
        let shifted = RowWindow {
            skip: window.skip - first,
            in_h: needed,
            ..window
        };
        self.call(band_shape, band.as_ptr(), output.as_mut_ptr(), shifted, out);
        Ok(())
    }
}

/// Gives a row-windowed operator (`$ty` with `stride`, `padding`, `output_shape` and a
/// `call_kernel` with [`RowOp::call`]'s signature over `$elem` activations) its [`RowOp`]
/// implementation and the public `run` / `run_rows`.
macro_rules! row_op {
    ($ty:ty, $elem:ty) => {
        impl $crate::ops::shape::RowOp for $ty {
            type T = $elem;

            fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
                <$ty>::output_shape(self, input)
            }

            fn stride_pad(&self) -> (usize, usize) {
                (self.stride, self.padding.top)
            }

            fn call(
                &self,
                input_shape: Nhwc,
                x: *const $elem,
                y: *mut $elem,
                window: $crate::ops::shape::RowWindow,
                out: Nhwc,
            ) {
                self.call_kernel(input_shape, x, y, window, out)
            }
        }

        impl $ty {
            /// Runs on `input` (shape `input_shape`), writing `output`; returns the output
            /// shape.
            pub fn run(
                &self,
                input_shape: Nhwc,
                input: &[$elem],
                output: &mut [$elem],
            ) -> Result<Nhwc> {
                $crate::ops::shape::RowOp::run_all(self, input_shape, input, output)
            }

            /// Computes output rows `rows` of one image (`input_shape.n == 1`) into `output`,
            /// which holds just those rows (`rows.len() · out_w · channels` values): lets
            /// callers split an image's rows over threads.
            pub fn run_rows(
                &self,
                input_shape: Nhwc,
                input: &[$elem],
                output: &mut [$elem],
                rows: std::ops::Range<usize>,
            ) -> Result<()> {
                $crate::ops::shape::RowOp::run_some_rows(self, input_shape, input, output, rows)
            }
        }
    };
}
pub(crate) use row_op;
