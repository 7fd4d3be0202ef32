//! The C API's operator objects on one case of (often invalid) descriptors and shapes; arrays
//! always hold what their length fields claim, as the C contract requires.

use ruvector_cnn::*;

use super::Bytes;

/// One C-API operator case: kind (conv2d, depthwise, pointwise, pool), activation, sizes,
/// padding, weight-array length, bias, input shape.
#[derive(Debug, Clone)]
pub struct CapiCase {
    /// 0 conv2d, 1 depthwise, 2 pointwise, 3 pool.
    pub kind: u8,
    /// Activation code (some invalid).
    pub act: u32,
    /// Input channels.
    pub cin: usize,
    /// Output channels (pool: window width).
    pub cout: usize,
    /// Window side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Top, left, bottom, right padding (conv2d: `pad[0]` is also the algorithm).
    pub pad: [usize; 4],
    /// Length of the weight array (sometimes off by one).
    pub weights_len: usize,
    /// Pass a bias array.
    pub bias: bool,
    /// Input N, H, W, C.
    pub shape: [usize; 4],
}

impl CapiCase {
    /// A case from fuzz bytes, drawn like the proptest strategy in `capi_fuzz.rs`.
    pub fn from_bytes(b: &mut Bytes<'_>) -> Self {
        let (kind, act) = (b.below(4) as u8, b.below(6) as u32);
        let (cin, cout) = (b.below(6), b.below(6));
        let kernel = [3, 3, 3, 5, 0, 1, 2, 4, 6][b.below(9)];
        let stride = [1, 2, 1, 2, 0, 3][b.below(6)];
        let pad = [b.below(4), b.below(4), b.below(4), b.below(4)];
        let delta = [0i64, 0, 0, -1, 1][b.below(5)];
        let bias = b.bool();
        let mut shape = [b.below(9), b.below(9), b.below(9), b.below(9)];
        let expected = match kind {
            0 => cout * cin * kernel * kernel,
            1 => cin * kernel * kernel,
            2 => cout * cin,
            _ => 0,
        };
        if !shape[3].is_multiple_of(3) {
            shape[3] = cin;
        }
        CapiCase {
            kind,
            act,
            cin,
            cout,
            kernel,
            stride,
            pad,
            weights_len: (expected as i64 + delta).max(0) as usize,
            bias,
            shape,
        }
    }
}

/// `Err(what)` unless `ok`.
fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_string()) }
}

/// Creates, sizes and runs the op a case describes: never `RVCNN_STATUS_PANIC`, the out-param
/// untouched on failure, finite outputs on success.
pub fn capi_case(c: &CapiCase) -> Result<(), String> {
    let w: Vec<f32> = (0..c.weights_len).map(|i| (i % 7) as f32 - 3.0).collect();
    let b: Vec<f32> = (0..c.cout.max(c.cin)).map(|i| i as f32 * 0.1).collect();
    let (status, op) = create(c, &w, &b);
    check(
        status != rvcnn_status::RVCNN_STATUS_PANIC,
        "create panicked",
    )?;
    if status != rvcnn_status::RVCNN_STATUS_OK {
        return check(op.is_null(), "out-param written on failure");
    }
    let [n, h, wd, ch] = c.shape;
    let shape = rvcnn_shape { n, h, w: wd, c: ch };
    let mut out_shape = rvcnn_shape {
        n: 0,
        h: 0,
        w: 0,
        c: 0,
    };
    // SAFETY: live op, readable shape, writable out-shape.
    let s = unsafe { rvcnn_op_output_shape(op, &shape, &mut out_shape) };
    check(s != rvcnn_status::RVCNN_STATUS_PANIC, "panicked")?;
    let x = vec![0.5f32; n * h * wd * ch];
    let y_len = if s == rvcnn_status::RVCNN_STATUS_OK {
        out_shape.n * out_shape.h * out_shape.w * out_shape.c
    } else {
        7
    };
    let mut y = vec![f32::NAN; y_len];
    let mut ws_len = 0usize;
    // SAFETY: live op, writable out-param.
    let s = unsafe { rvcnn_op_workspace_size(op, &mut ws_len) };
    check(s == rvcnn_status::RVCNN_STATUS_OK, "workspace_size failed")?;
    let mut ws = vec![0.0f32; ws_len];
    // SAFETY: buffers valid for the lengths passed.
    let s = unsafe {
        rvcnn_op_run(
            op,
            &shape,
            x.as_ptr(),
            x.len(),
            y.as_mut_ptr(),
            y.len(),
            std::ptr::null(),
            0,
            ws.as_mut_ptr(),
            ws.len(),
        )
    };
    check(s != rvcnn_status::RVCNN_STATUS_PANIC, "panicked")?;
    if s == rvcnn_status::RVCNN_STATUS_OK {
        check(y.iter().all(|v| v.is_finite()), "non-finite output")?;
    }
    // SAFETY: created above, destroyed once.
    unsafe { rvcnn_op_destroy(op) };
    Ok(())
}

/// An embedder created from `bytes` as a weight file, used once if it loads: statuses, never
/// a panic.
pub fn embedder_from_memory(bytes: &[u8]) {
    let mut e = std::ptr::null_mut();
    // SAFETY: `bytes` is valid for its length; NULL options mean the defaults; `e` is writable.
    let s = unsafe {
        rvcnn_embedder_create_from_memory(bytes.as_ptr(), bytes.len(), std::ptr::null(), &mut e)
    };
    assert_ne!(
        s,
        rvcnn_status::RVCNN_STATUS_PANIC,
        "embedder creation panicked"
    );
    if s != rvcnn_status::RVCNN_STATUS_OK {
        assert!(e.is_null(), "out-param written on failure");
        return;
    }
    let px = [128u8; 3 * 7 * 5];
    let img = rvcnn_image {
        data: px.as_ptr(),
        data_len: px.len(),
        width: 7,
        height: 5,
        stride: 21,
        format: rvcnn_pixel_format::RVCNN_PIXEL_RGB8 as u32,
    };
    let mut out = [0f32; 4096];
    // SAFETY: live embedder, readable image of the stated size, writable output.
    let s = unsafe { rvcnn_embedder_embed(e, &img, out.as_mut_ptr(), out.len()) };
    assert_ne!(s, rvcnn_status::RVCNN_STATUS_PANIC, "embed panicked");
    // SAFETY: created above, destroyed once.
    unsafe { rvcnn_embedder_destroy(e) };
}

fn padding(p: [usize; 4]) -> rvcnn_padding {
    rvcnn_padding {
        top: p[0],
        left: p[1],
        bottom: p[2],
        right: p[3],
    }
}

/// Creates the op a case describes (or returns the failing status).
fn create(c: &CapiCase, w: &[f32], b: &[f32]) -> (rvcnn_status, *mut rvcnn_op) {
    let mut op = std::ptr::null_mut();
    let bias = if c.bias { b.as_ptr() } else { std::ptr::null() };
    // SAFETY: every array pointer is valid for the length passed with it; `op` is writable.
    let status = unsafe {
        match c.kind {
            0 => rvcnn_op_create_conv2d(
                &rvcnn_conv2d_desc {
                    struct_size: size_of::<rvcnn_conv2d_desc>() as u32,
                    activation: c.act,
                    cin: c.cin,
                    cout: c.cout,
                    kernel: c.kernel,
                    stride: c.stride,
                    padding: padding(c.pad),
                    weights: w.as_ptr(),
                    weights_len: w.len(),
                    bias,
                    bias_len: b.len(),
                    // 0..=2 are the algorithms, 3 is invalid.
                    algorithm: c.pad[0] as u32,
                    residual: 0,
                },
                &mut op,
            ),
            1 => rvcnn_op_create_depthwise(
                &rvcnn_depthwise_desc {
                    struct_size: size_of::<rvcnn_depthwise_desc>() as u32,
                    activation: c.act,
                    channels: c.cin,
                    kernel: c.kernel,
                    stride: c.stride,
                    padding: padding(c.pad),
                    weights: w.as_ptr(),
                    weights_len: w.len(),
                    bias,
                    bias_len: b.len(),
                },
                &mut op,
            ),
            2 => rvcnn_op_create_pointwise(
                &rvcnn_pointwise_desc {
                    struct_size: size_of::<rvcnn_pointwise_desc>() as u32,
                    activation: c.act,
                    cin: c.cin,
                    cout: c.cout,
                    residual: 0,
                    weights: w.as_ptr(),
                    weights_len: w.len(),
                    bias,
                    bias_len: b.len(),
                },
                &mut op,
            ),
            _ => rvcnn_op_create_pool(
                &rvcnn_pool_desc {
                    struct_size: size_of::<rvcnn_pool_desc>() as u32,
                    kind: c.act % 4,
                    channels: c.cin,
                    kernel_h: c.kernel,
                    kernel_w: c.cout,
                    stride_h: c.stride,
                    stride_w: c.stride + 1,
                    padding: padding(c.pad),
                },
                &mut op,
            ),
        }
    };
    (status, op)
}
