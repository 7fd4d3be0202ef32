//! The C API's operator objects never panic (`RVCNN_STATUS_PANIC`) or misbehave on arbitrary
//! descriptors and shapes: random (often invalid) kernel sizes, strides, paddings, channel
//! counts, array lengths and input shapes, run through create + output_shape + run. Arrays
//! always hold what their length fields claim, as the C contract requires.

use proptest::prelude::*;
use ruvector_cnn::*;

/// Four times the per-variant case count (`RVCNN_PROPTEST_CASES`): each case is cheap.
fn config() -> ProptestConfig {
    let base = ruvector_cnn_kernels::testing::config();
    ProptestConfig {
        cases: base.cases * 4,
        ..base
    }
}

#[derive(Debug, Clone)]
struct Case {
    kind: u8,
    act: u32,
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    pad: [usize; 4],
    weights_len: usize,
    bias: bool,
    shape: [usize; 4],
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            0u8..4,
            0u32..6,
            0usize..6,
            0usize..6,
            prop_oneof![3 => Just(3usize), 1 => Just(5usize), 1 => 0usize..7],
            prop_oneof![2 => 1usize..=2, 1 => 0usize..4],
        ),
        (
            proptest::array::uniform4(0usize..4),
            prop_oneof![3 => Just(0i64), 1 => -1i64..=1],
            any::<bool>(),
        ),
        proptest::array::uniform4(0usize..9),
    )
        .prop_map(
            |((kind, act, cin, cout, kernel, stride), (pad, delta, bias), mut shape)| {
                // Mostly the weight count and input channels the op expects; sometimes off by one.
                let expected = match kind {
                    0 => cout * cin * kernel * kernel,
                    1 => cin * kernel * kernel,
                    2 => cout * cin,
                    _ => 0,
                };
                let weights_len = (expected as i64 + delta).max(0) as usize;
                if shape[3] % 3 != 0 {
                    shape[3] = cin;
                }
                Case {
                    kind,
                    act,
                    cin,
                    cout,
                    kernel,
                    stride,
                    pad,
                    weights_len,
                    bias,
                    shape,
                }
            },
        )
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
fn create(c: &Case, w: &[f32], b: &[f32]) -> (rvcnn_status, *mut rvcnn_op) {
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

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ops_never_panic(c in case()) {
        let w: Vec<f32> = (0..c.weights_len).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..c.cout.max(c.cin)).map(|i| i as f32 * 0.1).collect();
        let (status, op) = create(&c, &w, &b);
        prop_assert_ne!(status, rvcnn_status::RVCNN_STATUS_PANIC);
        if status != rvcnn_status::RVCNN_STATUS_OK {
            prop_assert!(op.is_null(), "out-param written on failure");
            return Ok(());
        }
        let [n, h, wd, ch] = c.shape;
        let shape = rvcnn_shape { n, h, w: wd, c: ch };
        let mut out_shape = rvcnn_shape { n: 0, h: 0, w: 0, c: 0 };
        // SAFETY: live op, readable shape, writable out-shape.
        let s = unsafe { rvcnn_op_output_shape(op, &shape, &mut out_shape) };
        prop_assert_ne!(s, rvcnn_status::RVCNN_STATUS_PANIC);
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
        prop_assert_eq!(s, rvcnn_status::RVCNN_STATUS_OK);
        let mut ws = vec![0.0f32; ws_len];
        // SAFETY: buffers valid for the lengths passed.
        let s = unsafe {
            rvcnn_op_run(op, &shape, x.as_ptr(), x.len(), y.as_mut_ptr(), y.len(),
                std::ptr::null(), 0, ws.as_mut_ptr(), ws.len())
        };
        prop_assert_ne!(s, rvcnn_status::RVCNN_STATUS_PANIC);
        if s == rvcnn_status::RVCNN_STATUS_OK {
            prop_assert!(y.iter().all(|v| v.is_finite()), "non-finite output");
        }
        // SAFETY: created above, destroyed once.
        unsafe { rvcnn_op_destroy(op) };
    }
}
