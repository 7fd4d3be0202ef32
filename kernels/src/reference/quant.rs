//! References of the INT8 operations, straight from the scheme in [`crate::quant`]: exact
//! integer arithmetic in `i64`, the requantization rule of `QuantOut::finish`, and single f32 roundings where
//! the kernels round.

use crate::ops::Padding;
use crate::pack::QuantWeights;
use crate::quant::QuantOut;

/// Reference quantized GEMM, straight from the scheme in [`crate::quant`]: for each row of `a`
/// (`m` rows of `k` bytes, `a_stride` apart) and column `c`,
/// `clamp(z_y + requant_c(bias_c + Σ (a − z_x)·w_c), out_min, out_max)`. Dense `m×n` output.
pub fn qgemm(m: usize, a: &[u8], a_stride: usize, q: &QuantWeights, out: QuantOut) -> Vec<u8> {
    let (n, k) = (q.outputs, q.taps);
    let mut y = vec![0u8; m * n];
    for i in 0..m {
        for c in 0..n {
            let mut acc = i64::from(q.bias[c]);
            for kk in 0..k {
                let x = i64::from(a[i * a_stride + kk]) - i64::from(q.input_zero_point);
                acc += x * i64::from(q.weights[c * k + kk]);
            }
            let acc = i32::try_from(acc).expect("validated: accumulators fit i32");
            y[i * n + c] = out.finish(acc, q.scale[c]);
        }
    }
    y
}

/// Reference quantized depthwise `k`x`k` convolution of one NHWC image (`h×w×channels` bytes),
/// straight from the scheme in [`crate::quant`]: taps outside the image are real zeros, i.e.
/// contribute `(z_x − z_x)·w = 0`. Returns the output and its shape.
pub fn qdwconv(
    x: &[u8],
    h: usize,
    w: usize,
    (k, stride): (usize, usize),
    pad: Padding,
    q: &QuantWeights,
    out: QuantOut,
) -> (Vec<u8>, usize, usize) {
    assert_eq!(q.taps, k * k, "a {k}x{k} window has k·k taps");
    let c = q.outputs;
    let oh = (h + pad.top + pad.bottom - k) / stride + 1;
    let ow = (w + pad.left + pad.right - k) / stride + 1;
    let mut y = vec![0u8; oh * ow * c];
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..c {
                let mut acc = i64::from(q.bias[ch]);
                for ky in 0..k {
                    for kx in 0..k {
                        let iy = (oy * stride + ky) as isize - pad.top as isize;
                        let ix = (ox * stride + kx) as isize - pad.left as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        let v = x[(iy as usize * w + ix as usize) * c + ch];
                        let d = i64::from(v) - i64::from(q.input_zero_point);
                        acc += d * i64::from(q.weights[(ch * k + ky) * k + kx]);
                    }
                }
                let acc = i32::try_from(acc).expect("validated: accumulators fit i32");
                y[(oy * ow + ox) * c + ch] = out.finish(acc, q.scale[ch]);
            }
        }
    }
    (y, oh, ow)
}

/// `clamp(round_even(x·inv_scale) + zero_point, 0, 255)`, NaN → 0.
pub fn quantize(x: &[f32], inv_scale: f32, zero_point: u8) -> Vec<u8> {
    x.iter()
        .map(|&v| quantize_one(v, inv_scale, zero_point))
        .collect()
}

fn quantize_one(v: f32, inv_scale: f32, zero_point: u8) -> u8 {
    let y = v * inv_scale;
    if y.is_nan() {
        return 0;
    }
    let r = y.clamp(-1_073_741_824.0, 1_073_741_824.0).round_ties_even() as i64;
    (r + i64::from(zero_point)).clamp(0, 255) as u8
}

/// Per pixel and channel `clamp(round_even((q − z_in)·scale[c]) + z_out, 0, 255)` (NaN → 0):
/// quantization of the exact difference times the channel's multiplier.
pub fn qchscale(q: &[u8], channels: usize, z_in: u8, scale: &[f32], z_out: u8) -> Vec<u8> {
    q.iter()
        .enumerate()
        .map(|(i, &v)| {
            let d = (i32::from(v) - i32::from(z_in)) as f32;
            quantize_one(d, scale[i % channels], z_out)
        })
        .collect()
}

/// `(q − zero_point)·scale`.
pub fn dequantize(q: &[u8], scale: f32, zero_point: u8) -> Vec<f32> {
    q.iter()
        .map(|&v| (i32::from(v) - i32::from(zero_point)) as f32 * scale)
        .collect()
}

/// Per channel `(Σ_px q[px][c] − pixels·zero_point)·scale`, with `scale` the caller's
/// `input_scale / pixels`.
pub fn qgavgpool(q: &[u8], pixels: usize, channels: usize, zero_point: u8, scale: f32) -> Vec<f32> {
    (0..channels)
        .map(|c| {
            let sum: i64 = (0..pixels).map(|px| i64::from(q[px * channels + c])).sum();
            (sum - pixels as i64 * i64::from(zero_point)) as f32 * scale
        })
        .collect()
}

/// `clamp(z_y + requant(a − z_a, b − z_b))` elementwise.
pub fn qadd(
    a: &[u8],
    b: &[u8],
    za: u8,
    zb: u8,
    rq: crate::quant::AddRequant,
    out: QuantOut,
) -> Vec<u8> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            out.offset(rq.apply(i32::from(x) - i32::from(za), i32::from(y) - i32::from(zb)))
        })
        .collect()
}
